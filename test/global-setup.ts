import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Compiles src/ to dist/ once, so the CLI tests run what `npm start` and the bin entry run. Points
 * XDG_CACHE_HOME at a temporary folder, so servers started by the tests remember versions there
 * rather than in the user's ~/.cache.
 */
export default function setup(): () => void {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(join(repo, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: repo, stdio: 'inherit' });
  // The bin entry, as `npm run build` leaves it: `npx tilestamp` runs it directly.
  chmodSync(join(repo, 'dist/cli.js'), 0o755);
  const cache = mkdtempSync(join(tmpdir(), 'tilestamp-cache-'));
  process.env.XDG_CACHE_HOME = cache;
  return () => rmSync(cache, { recursive: true, force: true });
}
