import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestPool } from '../../src/source/digest-pool.ts';
import { loadMbtilesSource } from '../../src/source/mbtiles-source.ts';
import { type DigestProgress, progressReporter } from '../../src/source/progress.ts';
import { betterSqliteDriver } from '../../src/storage/sqlite-better.ts';
import { REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { memoryLogger, startTestServer } from '../helpers/server.ts';
import { type RawTile, writeTilesFile } from '../helpers/tiles-file.ts';

let dir: string;
let big: string;
const pool = new DigestPool({ threads: 2 });

beforeAll(() => {
  dir = tempDir();
  // 40 MB in 1,280 tiles over four zoom levels: long enough for a 1 ms report interval to fire.
  const tiles: RawTile[] = [];
  for (let z = 5; z < 9; z++) for (let i = 0; i < 320; i++) tiles.push({ z, x: i % 32, y: i >> 5, data: randomBytes(32 * 1024) });
  for (const t of tiles) {
    (t.data as Buffer)[0] = 0x1f;
    (t.data as Buffer)[1] = 0x8b;
  }
  big = writeTilesFile(join(dir, 'big.mbtiles'), tiles);
});

afterAll(async () => {
  await pool.close();
  removeDir(dir);
});

describe('progress of a long digest', () => {
  it('reports percent, MB/s and ETA against the file size while it runs, on the given interval', async () => {
    const reports: (DigestProgress & { id: string; path: string })[] = [];
    const source = await loadMbtilesSource(betterSqliteDriver, 'big', big, undefined, {
      pool,
      onProgress: (p) => reports.push(p),
      progressEveryMs: 1,
    });
    source.close();
    expect(reports.length).toBeGreaterThan(0);
    for (const report of reports) {
      expect(report).toMatchObject({ id: 'big', path: big, total: statSync(big).size });
      expect(report.percent).toBeGreaterThanOrEqual(0);
      expect(report.percent).toBeLessThanOrEqual(99);
    }
    const bytes = reports.map((r) => r.bytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
  });

  it('says nothing when the digest ends before the first interval', async () => {
    const reports: unknown[] = [];
    const source = await loadMbtilesSource(betterSqliteDriver, 'big', big, undefined, {
      pool,
      onProgress: (p) => reports.push(p),
      progressEveryMs: 600_000,
    });
    source.close();
    expect(reports).toEqual([]);
  });

  it('shows on /health for a tileset still loading, and logs a line at info', async () => {
    const server = await startTestServer(dir);
    try {
      server.registry.set({ state: 'loading', id: 'planet', path: join(dir, 'planet.mbtiles') });
      const logger = memoryLogger();
      const report = progressReporter(server.registry, logger);
      report({ id: 'planet', path: 'planet.mbtiles', bytes: 4e9, total: 8e10, percent: 5, mbPerSecond: 650.5, etaSeconds: 117 });
      const health = (await (await server.get('/health')).json()) as { tilesets: Record<string, unknown> };
      expect(health.tilesets.planet).toEqual({ state: 'loading', progress: { percent: 5, mbPerSecond: 650.5, etaSeconds: 117 } });
      expect(logger.lines.find((l) => l.message === 'digesting' && l.level === 'info')?.fields).toMatchObject({
        tileset: 'planet',
        percent: 5,
        etaSeconds: 117,
      });
    } finally {
      await server.close();
    }
  });

  it('`tilestamp version` writes nothing to stderr when it is not a terminal', () => {
    const run = spawnSync('node', [join(REPO, 'dist/cli.js'), 'version', big], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^[0-9a-f]{16} {2}big {2}/);
    expect(run.stderr).toBe('');
  });
});
