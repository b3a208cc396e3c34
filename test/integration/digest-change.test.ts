import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { betterSqliteDriver } from '../../src/storage/sqlite-better.ts';
import { HookedPool, lockDuringNextDigest, SETTLE_MS, seamReloader, tearInPlace } from '../helpers/digest-seam.ts';
import { copyFixture, removeDir, tempDir } from '../helpers/fixtures.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup() {
  const dir = tempDir();
  const path = copyFixture('world_cities.mbtiles', dir);
  const good = readFileSync(path);
  const pool = new HookedPool({ threads: 1 });
  const { registry, clock, outcomes, changes, reloader, loadsEnded } = seamReloader(dir, betterSqliteDriver, pool);
  cleanups.push(() => removeDir(dir));
  cleanups.push(() => pool.close());
  cleanups.push(() => registry.closeAll());
  cleanups.push(() => reloader.stop());
  /** Moves the clock on until `condition` holds (each retry waits a settle time on it). */
  const advanceUntil = (condition: () => boolean, what: string) =>
    waitFor(() => {
      clock.advance(SETTLE_MS);
      return condition();
    }, what);
  /** Resolves once `count` loads of the file have ended, whichever way. */
  const decided = (count: number) => waitFor(() => loadsEnded() >= count, 'the load to end');
  return { dir, path, good, pool, registry, reloader, outcomes, changes, advanceUntil, decided };
}

describe('a file written in place while it is digested', () => {
  it('on a first load: stays loading (not failed, /ready not 200), then is taken once it holds still', async () => {
    const { path, good, pool, registry, reloader, outcomes, advanceUntil, decided } = setup();
    pool.before = () => tearInPlace(path);
    pool.after = () => writeFileSync(path, good); // the writer finishes: the same tiles again, in place
    const started = reloader.start();
    await decided(1);
    expect(registry.get('world_cities')?.state).toBe('loading');
    expect(registry.ready).toBe(false);
    expect(outcomes).toEqual([]);
    await advanceUntil(() => registry.ready, 'the file to be taken once it holds still');
    await started;
    expect(registry.get('world_cities')?.state).toBe('ok');
    expect(outcomes).toEqual(['added']);
  });

  it('while a version is served: the served version keeps its place (no failure, no removal announced)', async () => {
    const { path, good, pool, registry, reloader, outcomes, changes, advanceUntil, decided } = setup();
    await reloader.start();
    const served = registry.source('world_cities')?.version;
    expect(served).toBeDefined();
    pool.before = () => tearInPlace(path);
    pool.after = () => writeFileSync(path, good);
    const later = new Date(Date.now() + 5_000);
    utimesSync(path, later, later); // a change for the pass to look at
    const pass = reloader.rescan('test', { settle: false });
    await decided(1);
    await pass;
    const entry = registry.get('world_cities');
    expect(entry?.state).toBe('ok');
    expect(entry?.state === 'ok' && entry.source.version).toBe(served);
    expect(outcomes).toEqual(['added']);
    await advanceUntil(() => outcomes.length > 1, 'the file to be looked at again');
    expect(outcomes).toEqual(['added', 'unchanged']);
    expect(changes.map((c) => c.version)).toEqual([served]); // added once, never removed
  });

  it('a lock met by the digest (SQLITE_BUSY, told across the thread by its code) is a retry, never a failure', async () => {
    const { path, pool, registry, reloader, outcomes, advanceUntil, decided } = setup();
    lockDuringNextDigest(pool, betterSqliteDriver, path);
    const started = reloader.start();
    await decided(1);
    const entry = registry.get('world_cities');
    expect(entry?.state).toBe('waiting');
    expect(entry?.state === 'waiting' && entry.reason).toBe('cannot be opened for now (locked by another process)');
    expect(outcomes).toEqual([]);
    await advanceUntil(() => registry.get('world_cities')?.state === 'ok', 'the retry once the lock is gone');
    await started;
    expect(outcomes).toEqual(['added']);
  });
});

describe('digest failures across the thread boundary', () => {
  it('carry the SQLite code of what went wrong, not only a message', async () => {
    const { path, pool } = setup();
    tearInPlace(path);
    const error = await pool.digestContent(path, statSync(path).ino).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DigestError', kind: 'sqlite', code: expect.stringMatching(/^SQLITE_(CORRUPT|NOTADB)/) });
    const replaced = await pool.digestContent(path, statSync(path).ino + 1).catch((e: unknown) => e);
    expect(replaced).toMatchObject({ name: 'DigestError', kind: 'replaced' });
  });
});
