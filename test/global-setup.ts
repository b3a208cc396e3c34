import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Compiles src/ to dist/ once, so the CLI tests run what `npm start` and the bin entry run. */
export default function setup(): void {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(join(repo, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: repo, stdio: 'inherit' });
}
