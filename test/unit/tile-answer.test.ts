import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/http/errors.ts';
import { answerTile, prepareTiles, type TileAnswer, type TileAsk, takesCoding } from '../../src/http/tile-answer.ts';
import { plainParameter, plainVersion } from '../../src/http/tile-fast.ts';
import { SourceUnavailableError } from '../../src/source/errors.ts';
import { tileHash } from '../../src/source/tile-hash.ts';
import type { Tile, TileSource } from '../../src/source/tile-source.ts';
import type { TileFormat } from '../../src/storage/tile-format.ts';

// The one tile responder as a table: every rule of a tile answer, vector and raster, without a
// server. The hot path and the Koa route only write what it returns (hot-path.test.ts).

const VERSION = '3f2a9c0d1e4b5a67';
const MVT = Buffer.from([0x1a, 0x02, 0x08, 0x01]);
const GZ = gzipSync(MVT);
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const JPEG = Buffer.from('ffd8ffe000104a464946', 'hex');

/** A source holding `tiles` ("z/x/y" → tile) at zooms 0–5; `3/3/3` fails as a file written in place. */
function source(format: TileFormat, tiles: Record<string, Tile>): TileSource {
  return {
    id: 't',
    format,
    version: VERSION,
    info: { name: 't', minzoom: 0, maxzoom: 5, bounds: [-180, -85, 180, 85], center: [0, 0, 0] },
    getTile(z, x, y) {
      if (`${z}/${x}/${y}` === '3/3/3') throw new SourceUnavailableError('written in place');
      return tiles[`${z}/${x}/${y}`];
    },
    intact: () => true,
    close() {},
  };
}

const vector = source('pbf', {
  '0/0/0': { data: GZ, contentType: 'application/x-protobuf', encoding: 'gzip' },
  '1/0/0': { data: MVT, contentType: 'application/x-protobuf', encoding: undefined },
  '1/1/0': { data: GZ, contentType: 'application/x-protobuf', encoding: 'gzip' },
});
const raster = source('png', {
  '0/0/0': { data: PNG, contentType: 'image/png', encoding: undefined },
  '1/0/0': { data: JPEG, contentType: 'image/jpeg', encoding: undefined },
});
const H = {
  gz: tileHash({ data: GZ }),
  mvt: tileHash({ data: MVT }),
  png: tileHash({ data: PNG }),
  jpeg: tileHash({ data: JPEG }),
};

const settings = { corsOrigin: '*', maxAge: 60 };
const IMMUTABLE = 'public, max-age=31536000, immutable';
const CORS = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'ETag, X-Tilestamp-Version' };
const VERSIONED = { ...CORS, 'X-Tilestamp-Version': VERSION };

const ask = (path: string, more: Partial<TileAsk> = {}): TileAsk => {
  const [z = '', x = '', rest = ''] = path.split('/');
  const [y = '', ext = ''] = rest.split('.');
  return { z, x, y, ext, v: VERSION, headers: { 'accept-encoding': 'gzip, deflate, br' }, ...more };
};

/** The answer as a plain object: status, headers by name, body bytes and what must be decoded. */
function plain(answer: TileAnswer) {
  const headers: Record<string, string> = {};
  for (let i = 0; i < answer.headers.length; i += 2) headers[answer.headers[i] as string] = answer.headers[i + 1] as string;
  return { status: answer.status, headers, body: answer.body?.toString('hex'), decode: answer.decode };
}

describe('answerTile', () => {
  it.each<[string, TileSource, TileAsk, ReturnType<typeof plain>]>([
    [
      'vector, gzip stored, client takes gzip, current v',
      vector,
      ask('0/0/0.pbf'),
      {
        status: 200,
        headers: {
          ...VERSIONED,
          'Cache-Control': IMMUTABLE,
          Vary: 'Accept-Encoding',
          ETag: `"${H.gz}"`,
          'Content-Type': 'application/x-protobuf',
          'Content-Encoding': 'gzip',
        },
        body: GZ.toString('hex'),
        decode: undefined,
      },
    ],
    [
      'vector, .mvt fits too; no v: --max-age',
      vector,
      ask('0/0/0.mvt', { v: undefined }),
      {
        status: 200,
        headers: {
          ...VERSIONED,
          'Cache-Control': 'public, max-age=60',
          Vary: 'Accept-Encoding',
          ETag: `"${H.gz}"`,
          'Content-Type': 'application/x-protobuf',
          'Content-Encoding': 'gzip',
        },
        body: GZ.toString('hex'),
        decode: undefined,
      },
    ],
    [
      'vector, stale v: current bytes, no-cache',
      vector,
      ask('0/0/0.pbf', { v: 'stale' }),
      {
        status: 200,
        headers: {
          ...VERSIONED,
          'Cache-Control': 'no-cache',
          Vary: 'Accept-Encoding',
          ETag: `"${H.gz}"`,
          'Content-Type': 'application/x-protobuf',
          'Content-Encoding': 'gzip',
        },
        body: GZ.toString('hex'),
        decode: undefined,
      },
    ],
    [
      'vector, client refuses gzip: decoded by the route, another ETag',
      vector,
      ask('0/0/0.pbf', { headers: { 'accept-encoding': 'br' } }),
      {
        status: 200,
        headers: {
          ...VERSIONED,
          'Cache-Control': IMMUTABLE,
          Vary: 'Accept-Encoding',
          ETag: `"${H.gz}-decoded"`,
          'Content-Type': 'application/x-protobuf',
        },
        body: GZ.toString('hex'),
        decode: 'gzip',
      },
    ],
    [
      'vector, stored uncompressed: sent as stored, no Content-Encoding',
      vector,
      ask('1/0/0.pbf', { headers: {} }),
      {
        status: 200,
        headers: {
          ...VERSIONED,
          'Cache-Control': IMMUTABLE,
          Vary: 'Accept-Encoding',
          ETag: `"${H.mvt}"`,
          'Content-Type': 'application/x-protobuf',
        },
        body: MVT.toString('hex'),
        decode: undefined,
      },
    ],
    [
      'vector, a tile sharing bytes with another: the same hash',
      vector,
      ask('1/1/0.pbf', { headers: { 'accept-encoding': 'gzip' } }),
      {
        status: 200,
        headers: {
          ...VERSIONED,
          'Cache-Control': IMMUTABLE,
          Vary: 'Accept-Encoding',
          ETag: `"${H.gz}"`,
          'Content-Type': 'application/x-protobuf',
          'Content-Encoding': 'gzip',
        },
        body: GZ.toString('hex'),
        decode: undefined,
      },
    ],
    [
      'vector, If-None-Match names it: 304 with the same block',
      vector,
      ask('0/0/0.pbf', { headers: { 'accept-encoding': 'gzip', 'if-none-match': `"x", "${H.gz}"` } }),
      {
        status: 304,
        headers: { ...VERSIONED, 'Cache-Control': IMMUTABLE, Vary: 'Accept-Encoding', ETag: `"${H.gz}"` },
        body: undefined,
        decode: undefined,
      },
    ],
    [
      'vector, weak If-None-Match matches too',
      vector,
      ask('0/0/0.pbf', { v: undefined, headers: { 'accept-encoding': 'gzip', 'if-none-match': `W/"${H.gz}"` } }),
      {
        status: 304,
        headers: { ...VERSIONED, 'Cache-Control': 'public, max-age=60', Vary: 'Accept-Encoding', ETag: `"${H.gz}"` },
        body: undefined,
        decode: undefined,
      },
    ],
    [
      'vector, a hole: 204, the policy of the version',
      vector,
      ask('5/31/31.pbf'),
      {
        status: 204,
        headers: { ...VERSIONED, 'Cache-Control': IMMUTABLE, Vary: 'Accept-Encoding' },
        body: undefined,
        decode: undefined,
      },
    ],
    [
      'raster PNG: no Vary, no Content-Encoding, whatever the client takes',
      raster,
      ask('0/0/0.png', { headers: {} }),
      {
        status: 200,
        headers: { ...VERSIONED, 'Cache-Control': IMMUTABLE, ETag: `"${H.png}"`, 'Content-Type': 'image/png' },
        body: PNG.toString('hex'),
        decode: undefined,
      },
    ],
    [
      'raster, a JPEG tile in a PNG tileset says what it is',
      raster,
      ask('1/0/0.png', { v: 'stale' }),
      {
        status: 200,
        headers: { ...VERSIONED, 'Cache-Control': 'no-cache', ETag: `"${H.jpeg}"`, 'Content-Type': 'image/jpeg' },
        body: JPEG.toString('hex'),
        decode: undefined,
      },
    ],
    [
      'raster, If-None-Match: 304',
      raster,
      ask('0/0/0.png', { headers: { 'if-none-match': `"${H.png}"` } }),
      {
        status: 304,
        headers: { ...VERSIONED, 'Cache-Control': IMMUTABLE, ETag: `"${H.png}"` },
        body: undefined,
        decode: undefined,
      },
    ],
    [
      'raster, a hole: 404 with a JSON body, the policy of the version',
      raster,
      ask('2/1/1.png', { v: undefined }),
      {
        status: 404,
        headers: { ...VERSIONED, 'Cache-Control': 'public, max-age=60', 'Content-Type': 'application/json; charset=utf-8' },
        body: Buffer.from('{"error":"no tile at 2/1/1"}').toString('hex'),
        decode: undefined,
      },
    ],
  ])('%s', (_, from, request, expected) => {
    expect(plain(answerTile(prepareTiles(from, settings), request))).toEqual(expected);
  });

  it.each<[string, Record<string, string>, number]>([
    ['If-None-Match and Cache-Control: no-cache wants the full answer', { 'cache-control': 'no-cache' }, 200],
    [
      'If-None-Match and If-Modified-Since (no Last-Modified here): full answer, as ctx.fresh',
      { 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' },
      200,
    ],
    ['If-None-Match: * matches', { 'if-none-match': '*' }, 304],
    ['an unquoted tag does not match', { 'if-none-match': H.gz }, 200],
  ])('%s', (_, extra, status) => {
    const headers = { 'accept-encoding': 'gzip', 'if-none-match': `"${H.gz}"`, ...extra };
    expect(answerTile(prepareTiles(vector, settings), ask('0/0/0.pbf', { headers })).status).toBe(status);
  });

  it('names Origin in Vary when CORS is limited to one origin', () => {
    const limited = { corsOrigin: 'https://app.example', maxAge: 60 };
    expect(plain(answerTile(prepareTiles(vector, limited), ask('0/0/0.pbf'))).headers).toMatchObject({
      'Access-Control-Allow-Origin': 'https://app.example',
      Vary: 'Origin, Accept-Encoding',
    });
    expect(plain(answerTile(prepareTiles(raster, limited), ask('0/0/0.png'))).headers.Vary).toBe('Origin');
  });

  it.each<[string, TileSource, string, number]>([
    ['an extension that does not fit the format', vector, '0/0/0.png', 400],
    ['a raster extension mismatch', raster, '0/0/0.pbf', 400],
    ['no extension', vector, '0/0/0', 400],
    ['malformed coordinates', vector, '0/00/0.pbf', 400],
    ['a zoom outside the range', vector, '6/0/0.pbf', 404],
    ['a tile off the grid', raster, '1/2/0.png', 404],
  ])('throws HttpError for %s (%s %s → %d)', (_, from, path, status) => {
    expect(() => answerTile(prepareTiles(from, settings), ask(path))).toThrow(expect.objectContaining({ status }));
    expect(() => answerTile(prepareTiles(from, settings), ask(path))).toThrow(HttpError);
  });

  it('lets a failed read through as the source threw it (the route re-checks or maps it)', () => {
    expect(() => answerTile(prepareTiles(vector, settings), ask('3/3/3.pbf'))).toThrow(SourceUnavailableError);
  });
});

describe('takesCoding', () => {
  it.each<[string | undefined, 'gzip' | 'deflate', boolean]>([
    ['gzip, deflate, br', 'gzip', true],
    ['gzip, deflate, br, zstd', 'deflate', true],
    ['GZIP', 'gzip', true],
    ['*', 'gzip', true],
    ['br', 'gzip', false],
    ['', 'gzip', false],
    [undefined, 'gzip', false],
    ['identity', 'gzip', false],
    ['gzip;q=0, identity', 'gzip', false],
    ['gzip;q=1, identity;q=0.5', 'gzip', true],
    ['gzip;q=0.5, identity;q=1', 'gzip', false],
    ['*;q=0, gzip', 'gzip', true],
  ])('Accept-Encoding %j takes %s: %j', (header, coding, expected) => {
    expect(takesCoding(header, coding)).toBe(expected);
  });
});

describe('plainVersion: the hot path reads only `v=…` alone; anything else goes the general way (null)', () => {
  it.each<[string, string | undefined | null]>([
    ['', undefined],
    ['v=abc123', 'abc123'],
    ['v=', ''],
    ['v=a.b_c-d', 'a.b_c-d'],
    ['v=a&v=b', null],
    ['v=a&x=1', null],
    ['x=1', null],
    ['v=%61', null],
    ['v=a+b', null],
    ['v=a=b', null],
    ['V=abc', null],
    ['vv=abc', null],
    ['v', null],
    ['v=abc#', null],
    ['v=abc#frag', null],
  ])('%j → %j', (query, expected) => {
    expect(plainVersion(query)).toBe(expected);
  });
});

describe('answerTile with `?h=`: the same answer as `?v=`, immutable only for the current hash', () => {
  const headersOf = (a: TileAsk) => plain(answerTile(prepareTiles(vector, settings), a));
  it.each<[string, Partial<TileAsk>, number, string]>([
    ['h current', { v: undefined, h: H.gz }, 200, IMMUTABLE],
    ['h of other bytes (changed)', { v: undefined, h: H.mvt }, 200, 'no-cache'],
    ['h garbage', { v: undefined, h: 'zz' }, 200, 'no-cache'],
    ['h repeated', { v: undefined, h: '' }, 200, 'no-cache'],
    ['h current, v current', { h: H.gz }, 200, IMMUTABLE],
    ['h current, v stale', { v: 'stale', h: H.gz }, 200, 'no-cache'],
    [
      'h current, If-None-Match names it',
      { v: undefined, h: H.gz, headers: { 'accept-encoding': 'gzip', 'if-none-match': `"${H.gz}"` } },
      304,
      IMMUTABLE,
    ],
  ])('%s → %d %s', (_name, more, status, cacheControl) => {
    const answer = headersOf(ask('0/0/0.pbf', more));
    const byV = headersOf(ask('0/0/0.pbf', { ...more, h: undefined }));
    expect(answer.status).toBe(status);
    expect(answer.headers['Cache-Control']).toBe(cacheControl);
    // Everything but Cache-Control is the answer `?v=` gets.
    expect({ ...answer.headers, 'Cache-Control': '' }).toEqual({ ...byV.headers, 'Cache-Control': '' });
    expect(answer.body).toBe(byV.body);
  });

  it('a tile absent now: the hole, no-cache', () => {
    const answer = headersOf(ask('1/1/1.pbf', { v: undefined, h: H.gz }));
    expect(answer.status).toBe(204);
    expect(answer.headers['Cache-Control']).toBe('no-cache');
  });

  it('a tile with the bytes of another: the same h', () => {
    const answer = headersOf(ask('1/1/0.pbf', { v: undefined, h: H.gz }));
    expect(answer.headers.ETag).toBe(`"${H.gz}"`);
    expect(answer.headers['Cache-Control']).toBe(IMMUTABLE);
  });
});

describe('plainParameter: the hot path reads `h=…` alone too', () => {
  it.each<[string, string | undefined | null]>([
    ['', undefined],
    ['h=9a8b7c6d5e4f3a2b', '9a8b7c6d5e4f3a2b'],
    ['h=', ''],
    ['h=a&h=b', null],
    ['h=a&v=b', null],
    ['v=a', null],
    ['h=%61', null],
    ['H=abc', null],
  ])('%j → %j', (query, expected) => {
    expect(plainParameter(query, 'h=')).toBe(expected);
  });
});
