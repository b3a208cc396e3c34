// Module hooks for a worker thread that runs tilestamp's TypeScript sources on a Node that cannot
// strip types by itself (Node 20; the tests run src/ as it is): each .ts module is transpiled by
// oxc through rolldown, which vitest brings along. Registered by src/source/digest-pool.ts only
// when it runs from src/; the built package (dist/) and Deno never use it.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'rolldown/experimental';

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const result = transformSync(path, await readFile(path, 'utf8'), { lang: 'ts' });
  if (result.errors.length > 0) throw new Error(`cannot transpile ${path}: ${result.errors.map((e) => e.message).join('; ')}`);
  return { format: 'module', source: result.code, shortCircuit: true };
}
