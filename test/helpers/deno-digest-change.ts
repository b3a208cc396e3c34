// Run by Deno from test/integration/deno.test.ts: the digest-change scenarios (a write in place
// or a lock met during a digest) on Deno's worker threads and its node:sqlite driver. Usage:
//   deno run -A test/helpers/deno-digest-change.ts DIR_WITH_world_cities.mbtiles SCENARIO
// Prints one JSON line: what the registry said right after the digest failed, and in the end.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { DatabaseSync } from 'node:sqlite';
import { DigestPool, type OnBytes } from '../../src/source/digest-pool.ts';
import { Registry } from '../../src/source/registry.ts';
import { Reloader, type ReloadOutcome } from '../../src/source/reloader.ts';
import { nodeSqliteDriver } from '../../src/storage/sqlite-node-builtin.ts';
import { ManualClock } from './clock.ts';
import { memoryLogger } from './server.ts';

class HookedPool extends DigestPool {
  before: (() => void) | undefined;
  after: (() => void) | undefined;

  override async digestContent(path: string, ino: number, onBytes?: OnBytes) {
    const before = this.before;
    this.before = undefined;
    before?.();
    try {
      return await super.digestContent(path, ino, onBytes);
    } finally {
      const after = this.after;
      this.after = undefined;
      after?.();
    }
  }
}

const [dir, scenario] = process.argv.slice(2) as [string, 'torn' | 'locked'];
const path = join(dir, 'world_cities.mbtiles');
const good = readFileSync(path);
const pool = new HookedPool({ threads: 1 });
const registry = new Registry();
const logger = memoryLogger();
const clock = new ManualClock();
const outcomes: ReloadOutcome[] = [];
const reloader = new Reloader({
  dataDir: dir,
  driver: nodeSqliteDriver,
  registry,
  logger,
  versioning: { from: 'content', key: undefined },
  settleMs: 100,
  clock,
  onOutcome: (outcome) => outcomes.push(outcome),
  load: { pool },
});

if (scenario === 'torn') {
  pool.before = () => {
    const bytes = Buffer.from(good);
    bytes.writeUInt32BE(bytes.readUInt32BE(24) + 1, 24);
    bytes.fill(0xa5, bytes.readUInt16BE(16));
    writeFileSync(path, bytes);
  };
  pool.after = () => writeFileSync(path, good);
} else {
  let holder: DatabaseSync | undefined;
  pool.before = () => {
    holder = new DatabaseSync(path);
    holder.exec('BEGIN EXCLUSIVE');
  };
  pool.after = () => {
    holder?.exec('COMMIT');
    holder?.close();
  };
}

const ended = ['file not complete yet', 'tileset failed to load', 'file cannot be read for now; retrying'];
const describe = () => {
  const entry = registry.get('world_cities');
  return { state: entry?.state, reason: entry?.state === 'waiting' ? entry.reason : undefined, ready: registry.ready };
};
const started = reloader.start();
while (!logger.lines.some((l) => ended.includes(l.message))) await new Promise((r) => setTimeout(r, 20));
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
