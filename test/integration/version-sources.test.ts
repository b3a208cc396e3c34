import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionOptions } from '../../src/source/version.ts';
import { copyFixture, execSql, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { json, rawRequest } from '../helpers/http.ts';
import { spawnServer } from '../helpers/process.ts';
import { startTestServer } from '../helpers/server.ts';

let dir: string;

beforeAll(() => {
  dir = tempDir();
});

afterAll(() => removeDir(dir));

interface Health {
  tilesets: Record<string, { state: string; version?: string; reason?: string }>;
}

async function healthWith(dataDir: string, versioning: VersionOptions): Promise<Health> {
  const server = await startTestServer(dataDir, { versioning });
  try {
    return json<Health>(await rawRequest(`${server.url}/health`));
  } finally {
    await server.close();
  }
}

const sha256Prefix = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);

describe('--version-from file', () => {
  it('is the first 16 hex digits of the SHA-256 of the raw file', async () => {
    const folder = join(dir, 'file');
    const a = copyFixture('countries.mbtiles', folder);
    const b = copyFixture('countries-rebuilt.mbtiles', folder);
    const health = await healthWith(folder, { from: 'file', key: undefined });
    expect(health.tilesets.countries?.version).toBe(sha256Prefix(a));
    // Which is why it is not the default: the rebuilt file has the same tiles but other bytes.
    expect(health.tilesets['countries-rebuilt']?.version).toBe(sha256Prefix(b));
    expect(sha256Prefix(a)).not.toBe(sha256Prefix(b));
  });
});

describe('--version-from metadata', () => {
  const folder = () => join(dir, 'metadata');

  beforeAll(() => {
    execSql(
      copyFixture('world_cities.mbtiles', folder(), 'hashed.mbtiles'),
      "INSERT INTO metadata VALUES ('agg_tiles_hash', 'A1B2C3D4E5F60718293A4B5C6D7E8F90')",
    );
    execSql(
      copyFixture('world_cities.mbtiles', folder(), 'keyed.mbtiles'),
      "INSERT INTO metadata VALUES ('build', '2026-11-25.3')",
    );
    execSql(copyFixture('world_cities.mbtiles', folder(), 'unsafe.mbtiles'), "INSERT INTO metadata VALUES ('build', 'a b/c?')");
    copyFixture('world_cities.mbtiles', folder(), 'bare.mbtiles');
  });

  it('takes agg_tiles_hash as it is, else the --version-key value; a file with neither fails with the reason', async () => {
    const health = await healthWith(folder(), { from: 'metadata', key: 'build' });
    expect(health.tilesets.hashed).toMatchObject({ state: 'ok', version: 'A1B2C3D4E5F60718293A4B5C6D7E8F90' });
    expect(health.tilesets.keyed).toMatchObject({ state: 'ok', version: '2026-11-25.3' });
    expect(health.tilesets.bare).toMatchObject({ state: 'failed' });
    expect(health.tilesets.bare?.reason).toMatch(/no agg_tiles_hash or build in metadata/);
    expect(health.tilesets.unsafe?.reason).toMatch(/not 1-128 of/);
  });

  it('puts that version into tile URLs', async () => {
    const server = await startTestServer(folder(), { versioning: { from: 'metadata', key: 'build' } });
    try {
      const tj = json<{ tiles: string[] }>(await rawRequest(`${server.url}/tiles/keyed.json`));
      expect(tj.tiles[0]).toMatch(/\?v=2026-11-25\.3$/);
      const tile = await rawRequest(`${server.url}/tiles/keyed/0/0/0.pbf?v=2026-11-25.3`);
      expect(tile.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    } finally {
      await server.close();
    }
  });

  it('without --version-key, needs agg_tiles_hash', async () => {
    const health = await healthWith(folder(), { from: 'metadata', key: undefined });
    expect(health.tilesets.hashed?.state).toBe('ok');
    expect(health.tilesets.keyed?.reason).toMatch(/no agg_tiles_hash in metadata \(and no --version-key\)/);
  });
});

describe('tilestamp version', () => {
  it.each([
    ['content', []],
    ['file', ['--version-from', 'file']],
  ])('prints what the server publishes with --version-from %s', async (from, flags) => {
    const folder = join(dir, `cli-${from}`);
    const file = copyFixture('countries.mbtiles', folder);
    const health = await healthWith(folder, { from: from as VersionOptions['from'], key: undefined });
    const out = execFileSync('node', [join(REPO, 'dist/cli.js'), 'version', ...flags, file], { encoding: 'utf8' });
    expect(out).toBe(`${health.tilesets.countries?.version}  countries  ${file}\n`);
  });
});

describe('determinism across processes', () => {
  it('two server processes over two copies (other paths, other mtimes) publish identical versions', async () => {
    const one = join(dir, 'replica-one');
    const two = join(dir, 'replica-two/elsewhere');
    for (const name of ['countries.mbtiles', 'world_cities.mbtiles', 'countries-v2.mbtiles']) {
      copyFixture(name, one);
      utimesSync(copyFixture(name, two), new Date('2010-06-01'), new Date('2010-06-01'));
    }
    // The second replica gets the rebuilt file under the first one's name: same tiles, other bytes.
    copyFixture('countries-rebuilt.mbtiles', two, 'countries.mbtiles');
    const cli = join(REPO, 'dist/cli.js');
    const env = { TILESTAMP_HOST: '127.0.0.1', TILESTAMP_PORT: '0' };
    const [a, b] = await Promise.all([
      spawnServer('node', [cli, 'serve', '--data', one], env),
      spawnServer('node', [cli, 'serve', '--data', two], env),
    ]);
    try {
      const va = json<{ version: string; tilesets: Record<string, string> }>(await rawRequest(`${a.url}/api/tile-version`));
      const vb = json<{ version: string; tilesets: Record<string, string> }>(await rawRequest(`${b.url}/api/tile-version`));
      expect(Object.keys(va.tilesets)).toEqual(['countries', 'countries-v2', 'world_cities']);
      expect(vb).toEqual(va);
      const tileA = await rawRequest(`${a.url}/tiles/countries/2/1/1.pbf?v=${va.tilesets.countries}`);
      const tileB = await rawRequest(`${b.url}/tiles/countries/2/1/1.pbf?v=${va.tilesets.countries}`);
      expect(tileB.headers.etag).toBe(tileA.headers.etag);
      expect(tileB.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
