import { readFileSync, writeFileSync } from 'node:fs';
import { DigestPool, type OnBytes } from '../../src/source/digest-pool.ts';
import { Registry, type VersionChange } from '../../src/source/registry.ts';
import { Reloader, type ReloadOutcome } from '../../src/source/reloader.ts';
import type { Database, SqliteDriver } from '../../src/storage/sqlite.ts';
import { ManualClock } from './clock.ts';
import { memoryLogger } from './server.ts';

/**
 * A digest pool with a seam: `before` runs just ahead of the next content digest and `after`
 * once it is over (each once, then cleared), where a test puts a writer or a lock holder.
 */
export class HookedPool extends DigestPool {
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

/**
 * What a writer in the middle of rewriting the file in place leaves for a reader: pages after
 * the first overwritten (and the change counter bumped, so no cache hides it). The size is kept.
 */
export function tearInPlace(path: string, bytes: Buffer = readFileSync(path)): void {
  const torn = Buffer.from(bytes);
  torn.writeUInt32BE(torn.readUInt32BE(24) + 1, 24);
  torn.fill(0xa5, torn.readUInt16BE(16));
  writeFileSync(path, torn);
}

/** Holds an EXCLUSIVE lock on `path` (through `driver`) during the pool's next content digest. */
export function lockDuringNextDigest(pool: HookedPool, driver: SqliteDriver, path: string): void {
  let holder: Database | undefined;
  pool.before = () => {
    holder = driver.openReadWrite(path);
    holder.exec('BEGIN EXCLUSIVE');
  };
  pool.after = () => {
    holder?.exec('COMMIT');
    holder?.close();
  };
}

/** The log lines that end one attempt to load a file, whichever way it went. */
const LOAD_ENDED = [
  'file not complete yet',
  'tileset failed to load',
  'newer file rejected',
  'file cannot be read for now; retrying',
];

/**
 * A reloader over `dir` that digests on `pool`, with a ManualClock (settle time SETTLE_MS) and
 * everything a test looks at: the registry, the log, the outcomes and the version changes.
 */
export function seamReloader(dir: string, driver: SqliteDriver, pool: HookedPool) {
  const registry = new Registry();
  const logger = memoryLogger();
  const clock = new ManualClock();
  const outcomes: ReloadOutcome[] = [];
  const changes: VersionChange[] = [];
  registry.onChange((change) => changes.push(change));
  const reloader = new Reloader({
    dataDir: dir,
    driver,
    registry,
    logger,
    versioning: { from: 'content', key: undefined },
    settleMs: SETTLE_MS,
    clock,
    onOutcome: (outcome) => outcomes.push(outcome),
    load: { pool },
  });
  /** How many loads have ended so far. */
  const loadsEnded = () => logger.lines.filter((l) => LOAD_ENDED.includes(l.message)).length;
  return { registry, logger, clock, outcomes, changes, reloader, loadsEnded };
}

/** The settle time of seamReloader: how far the clock must move for a retry. */
export const SETTLE_MS = 100;
