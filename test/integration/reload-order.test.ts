import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { betterSqliteDriver } from '../../src/storage/sqlite-better.ts';
import { HookedPool, seamReloader } from '../helpers/digest-seam.ts';
import { copyFixture, removeDir, tempDir } from '../helpers/fixtures.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the order a pass applies its changes in', () => {
  it('a rename (one id out, another in) serves the new id before the old one goes: never neither', async () => {
    const dir = tempDir();
    copyFixture('world_cities.mbtiles', dir);
    const pool = new HookedPool({ threads: 1 });
    const { registry, reloader, changes, outcomes } = seamReloader(dir, betterSqliteDriver, pool);
    cleanups.push(() => removeDir(dir));
    cleanups.push(() => pool.close());
    cleanups.push(() => registry.closeAll());
    cleanups.push(() => reloader.stop());
    await reloader.start();
    const version = registry.source('world_cities')?.version;
    expect(version).toBeDefined();

    // What serves after every change of the registry, as /health and the event stream see it.
    const seen: string[][] = [];
    registry.onUpdate(() => seen.push(Object.keys(registry.versions())));
    renameSync(join(dir, 'world_cities.mbtiles'), join(dir, 'cities.mbtiles'));
    await reloader.rescan('test', { settle: false });

    expect(registry.list().map((e) => [e.id, e.state])).toEqual([['cities', 'ok']]);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.filter((ids) => ids.length === 0)).toEqual([]);
    // The version events, in order: the new id announced, then the old one gone.
    expect(changes.slice(-2)).toEqual([
      { id: 'cities', version, previous: undefined },
      { id: 'world_cities', version: undefined, previous: version },
    ]);
    expect(outcomes.slice(-2)).toEqual(['added', 'removed']);
  });
});
