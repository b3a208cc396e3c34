// Run by Deno from test/integration/deno.test.ts: the digest-change scenarios (a write in place
// or a lock met during a digest) on Deno's worker threads and its node:sqlite driver. Usage:
//   deno run -A test/helpers/deno-digest-change.ts DIR_WITH_world_cities.mbtiles SCENARIO
// Prints one JSON line: what the registry said right after the digest failed, and in the end.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { nodeSqliteDriver } from '../../src/storage/sqlite-node-builtin.ts';
import { HookedPool, lockDuringNextDigest, seamReloader, tearInPlace } from './digest-seam.ts';

const [dir, scenario] = process.argv.slice(2) as [string, 'torn' | 'locked'];
const path = join(dir, 'world_cities.mbtiles');
const good = readFileSync(path);
// Deno's ctimes are whole seconds: a file is taken only once the second of its last change is over.
while (Date.now() < statSync(path).ctimeMs + 1000) await new Promise((r) => setTimeout(r, 20));
const pool = new HookedPool({ threads: 1 });
const { registry, clock, outcomes, reloader, loadsEnded } = seamReloader(dir, nodeSqliteDriver, pool);

if (scenario === 'torn') {
  pool.before = () => tearInPlace(path, good);
  pool.after = () => writeFileSync(path, good);
} else {
  lockDuringNextDigest(pool, nodeSqliteDriver, path);
}

const describe = () => {
  const entry = registry.get('world_cities');
  return { state: entry?.state, reason: entry?.state === 'waiting' ? entry.reason : undefined, ready: registry.ready };
};
const started = reloader.start();
while (loadsEnded() === 0) await new Promise((r) => setTimeout(r, 20));
const during = describe();
// Each retry waits a settle time (or a backoff) on the clock: move it on, for a bounded while.
for (let i = 0; i < 200 && (!registry.ready || registry.get('world_cities')?.state !== 'ok'); i++) {
  clock.advance(100);
  await new Promise((r) => setTimeout(r, 20));
}
const after = describe();
if (after.ready) await started;
await reloader.stop();
registry.closeAll();
await pool.close();
process.stdout.write(`${JSON.stringify({ during, after, outcomes })}\n`);
