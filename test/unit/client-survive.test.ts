import { afterEach, describe, expect, it, vi } from 'vitest';
// @ts-expect-error: a plain browser module, without types
import { followVersions } from '../../static/tilestamp.js';

// The client's `survive` option without a browser: what its transformRequest makes of tile URLs,
// how it chains the page's own, and that older MapLibre is left alone.

class FakeEventSource {
  addEventListener(): void {}
  close(): void {}
}

type Transform = (url: string, type?: string) => unknown;

const SERVER = 'http://h';
const TILE = `${SERVER}/tiles/roads/7/10/20.pbf?v=aaaa`;
const H = '0123456789abcdef';

/** A stand-in map of MapLibre `version` whose page already set `pageTransform`. */
function fakeMap(version: string, pageTransform: Transform | null = null) {
  const map = {
    version,
    _requestManager: { _transformRequestFn: pageTransform },
    setTransformRequest: vi.fn((fn: Transform | null) => {
      map._requestManager._transformRequestFn = fn;
    }),
    on() {},
    once() {},
    off() {},
    transform: (url: string, type: string) => (map._requestManager._transformRequestFn as Transform)(url, type),
  };
  return map;
}

/** fetch answering the manifest of block 5/1/2 with `tiles` of `version`, counting the requests. */
function stubManifests(tiles: Record<string, string> | 'fail', version = 'aaaa') {
  const fetched: string[] = [];
  vi.stubGlobal('fetch', async (url: string) => {
    fetched.push(url);
    if (tiles === 'fail') return new Response('{"error":"x"}', { status: 503 });
    return new Response(JSON.stringify({ version, tiles }), { status: 200 });
  });
  return fetched;
}

afterEach(() => vi.unstubAllGlobals());

describe('followVersions with survive', () => {
  it('rewrites a tile URL to ?h= from its block manifest, one request for the whole block', async () => {
    vi.stubGlobal('EventSource', FakeEventSource);
    const fetched = stubManifests({ '7/10/20': H, '7/11/20': 'fedcba9876543210' });
    const map = fakeMap('5.24.1');
    followVersions(map, { server: SERVER });
    const [a, b, missing] = await Promise.all([
      map.transform(TILE, 'Tile'),
      map.transform(`${SERVER}/tiles/roads/7/11/20.pbf?v=aaaa`, 'Tile'),
      map.transform(`${SERVER}/tiles/roads/7/11/21.pbf?v=aaaa`, 'Tile'),
    ]);
    expect(a).toEqual({ url: `${SERVER}/tiles/roads/7/10/20.pbf?h=${H}` });
    expect(b).toEqual({ url: `${SERVER}/tiles/roads/7/11/20.pbf?h=fedcba9876543210` });
    expect(missing).toEqual({ url: `${SERVER}/tiles/roads/7/11/21.pbf?v=aaaa` });
    expect(fetched).toEqual([`${SERVER}/tiles/roads/hashes/5/2/5.json?v=aaaa`]);
    // Not a tile, or not this server's: as it is.
    expect(await map.transform(`${SERVER}/tiles/roads.json`, 'Source')).toEqual({ url: `${SERVER}/tiles/roads.json` });
    expect(await map.transform('http://other/tiles/roads/7/10/20.pbf?v=aaaa', 'Tile')).toEqual({
      url: 'http://other/tiles/roads/7/10/20.pbf?v=aaaa',
    });
  });

  it('a failed manifest keeps ?v=', async () => {
    vi.stubGlobal('EventSource', FakeEventSource);
    stubManifests('fail');
    const map = fakeMap('5.21.0');
    followVersions(map, { server: SERVER });
    expect(await map.transform(TILE, 'Tile')).toEqual({ url: TILE });
  });

  it('a manifest of another version (a replica that has not loaded this one yet) keeps ?v=', async () => {
    // The server answers a manifest URL whose v is not its version with its own manifest, no-cache:
    // those hashes name another version's bytes, never the bytes ?v=aaaa asks for.
    vi.stubGlobal('EventSource', FakeEventSource);
    stubManifests({ '7/10/20': H }, 'bbbb');
    const map = fakeMap('5.21.0');
    followVersions(map, { server: SERVER });
    expect(await map.transform(TILE, 'Tile')).toEqual({ url: TILE });
  });

  it("chains the page's transformRequest (after its own rewrite), and gives it back when stopped", async () => {
    vi.stubGlobal('EventSource', FakeEventSource);
    stubManifests({ '7/10/20': H });
    const page = vi.fn(async (url: string) => ({ url, headers: { Authorization: 'x' } }));
    const map = fakeMap('5.24.1', page);
    const stop = followVersions(map, { server: SERVER });
    expect(await map.transform(TILE, 'Tile')).toEqual({
      url: `${SERVER}/tiles/roads/7/10/20.pbf?h=${H}`,
      headers: { Authorization: 'x' },
    });
    expect(page).toHaveBeenCalledWith(`${SERVER}/tiles/roads/7/10/20.pbf?h=${H}`, 'Tile');
    stop();
    expect(map._requestManager._transformRequestFn).toBe(page);
  });

  it.each([
    ['MapLibre 5.20 (transformRequest not awaited for tiles)', '5.20.3', {}],
    ['MapLibre 4', '4.7.1', {}],
    ['survive: false', '5.24.1', { survive: false }],
  ])('%s: no transformRequest is installed', (_name, version, options) => {
    vi.stubGlobal('EventSource', FakeEventSource);
    const map = fakeMap(version);
    followVersions(map, { server: SERVER, ...options });
    expect(map.setTransformRequest).not.toHaveBeenCalled();
  });
});
