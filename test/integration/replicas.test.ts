import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, FIXTURES, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, json, type RawResponse, rawRequest } from '../helpers/http.ts';
import { type CachingProxy, freePort, startCachingProxy } from '../helpers/nginx.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

// Two replicas over one shared data folder (a Kubernetes Deployment's read-only volume), behind
// deploy/nginx/tilestamp.conf. A data update reaches the replicas one after the other: replica
// `a` watches the folder, replica `b` only looks when told (a replica whose poll has not come
// round yet). The replicas never talk to each other; content versions alone must keep every
// immutable URL to one set of bytes.

const GZIP = { 'Accept-Encoding': 'gzip' };
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Stored bytes by XYZ tile, of a fixture. */
function tilesOf(fixture: string): Map<string, Buffer> {
  return new Map(readStoredTiles(join(FIXTURES, fixture)).map((t) => [`${t.z}/${t.x}/${2 ** t.z - 1 - t.y}`, t.data]));
}
const BYTES = { v1: tilesOf('countries.mbtiles'), v2: tilesOf('countries-v2.mbtiles') };
/** Tiles of zooms 0-2 whose bytes differ between the two versions: where a mix-up would show. */
const CHANGED = [...BYTES.v1.keys()].filter(
  (k) => Number(k.split('/')[0]) <= 2 && !BYTES.v1.get(k)?.equals(BYTES.v2.get(k) as Buffer),
);

let dir: string;
let a: TestServer;
let b: TestServer;
let proxy: CachingProxy;
/** Every answer the proxy gave for a versioned tile URL. */
const seen: { path: string; res: RawResponse }[] = [];

beforeAll(async () => {
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  a = await startTestServer(dir, { port: await freePort(), watch: true, pollMs: 0, settleMs: 100 });
  b = await startTestServer(dir, { port: await freePort(), watch: false });
  proxy = await startCachingProxy([a.port, b.port]);
});

afterAll(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
  removeDir(dir);
});

const versionOn = async (replica: TestServer) =>
  json<{ tilesets: Record<string, string> }>(await rawRequest(`${replica.url}/api/tile-version`)).tilesets.countries;

/** TileJSON through the proxy until it names `version` (each request may reach either replica). */
async function templateFor(version: string): Promise<string> {
  for (let i = 0; i < 20; i++) {
    const template = json<{ tiles: string[] }>(await rawRequest(`${proxy.url}/tiles/countries.json`)).tiles[0] as string;
    if (template.endsWith(`?v=${version}`)) return template;
  }
  throw new Error(`no TileJSON through the proxy named ${version}`);
}

/**
 * Asks the proxy for each changed tile under the template's URL, `times` each, and records it.
 * `midUpdate`: a replica whose file was renamed over but not yet swapped may answer 503
 * (no-store, Retry-After) for a tile not in its hot-tile cache.
 */
async function askAll(template: string, times: number, midUpdate = false): Promise<void> {
  for (let i = 0; i < times; i++) {
    for (const zxy of CHANGED) {
      const [z, x, y] = zxy.split('/');
      const url = new URL(
        template
          .replace('{z}', z as string)
          .replace('{x}', x as string)
          .replace('{y}', y as string),
      );
      const path = `${url.pathname}${url.search}`;
      const res = await rawRequest(`${proxy.url}${path}`, { headers: GZIP });
      if (midUpdate && res.status === 503) {
        expect([header(res, 'cache-control'), header(res, 'retry-after')], path).toEqual(['no-store', '1']);
      } else {
        expect(res.status, path).toBe(200);
      }
      seen.push({ path, res });
    }
  }
}

describe('two replicas behind the nginx config of deploy/', () => {
  it('a rolling data update never puts different bytes under one immutable URL', async () => {
    expect(CHANGED.length).toBeGreaterThan(3);
    const v1 = (await versionOn(a)) as string;
    expect(await versionOn(b)).toBe(v1);
    const oldTemplate = await templateFor(v1);
    await askAll(oldTemplate, 2);

    // The update lands in the shared folder (written beside, renamed over): `a` takes it, `b` not yet.
    copyFileSync(join(FIXTURES, 'countries-v2.mbtiles'), join(dir, '.countries.staged'));
    renameSync(join(dir, '.countries.staged'), join(dir, 'countries.mbtiles'));
    await waitFor(async () => (await versionOn(a)) !== v1, 'replica a to take the new file');
    const v2 = (await versionOn(a)) as string;
    expect(await versionOn(b)).toBe(v1);

    // Mid-update: clients learn v2 from `a` and ask for it; the proxy sends some of those to `b`.
    const newTemplate = await templateFor(v2);
    await askAll(newTemplate, 3, true);
    await askAll(oldTemplate, 2, true);
    // `b` answers those with v1 bytes marked no-cache, or (a tile not in its hot-tile cache: its
    // file was renamed over) 503, no-store: never anything a cache keeps under the v2 URL.
    const fromB = seen.filter(({ path, res }) => path.endsWith(`?v=${v2}`) && header(res, 'x-tilestamp-version') !== v2);
    expect(fromB.length, 'requests for v2 answered by the replica still on v1').toBeGreaterThan(0);
    for (const { res } of fromB) expect(header(res, 'cache-control')).toBe(res.status === 503 ? 'no-store' : 'no-cache');

    // `b` takes the update too; everything asked again.
    await b.rescan('test', true);
    expect(await versionOn(b)).toBe(v2);
    await askAll(newTemplate, 2);
    await askAll(oldTemplate, 2);

    // Under each URL, every answer that a cache may keep (immutable, or served from the proxy's
    // cache) has the bytes of the version the URL names, whichever replica or cache gave it.
    const kept = seen.filter(({ res }) => header(res, 'cache-control') === IMMUTABLE || header(res, 'x-cache-status') === 'HIT');
    expect(kept.length).toBeGreaterThan(CHANGED.length);
    for (const { path, res } of kept) {
      const version = path.endsWith(`?v=${v2}`) ? 'v2' : 'v1';
      const zxy = path.replace(/^\/tiles\/countries\//, '').replace(/\.pbf\?.*$/, '');
      expect(res.body.equals(BYTES[version].get(zxy) as Buffer), `${path} (${header(res, 'x-cache-status')})`).toBe(true);
    }
    const byUrl = new Map<string, Set<string>>();
    for (const { path, res } of kept) byUrl.set(path, (byUrl.get(path) ?? new Set()).add(res.body.toString('base64')));
    expect([...byUrl].filter(([, bodies]) => bodies.size > 1).map(([path]) => path)).toEqual([]);
  });
});
