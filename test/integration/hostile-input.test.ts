import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, json, type RawResponse, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { openSse } from '../helpers/sse.ts';

// Hostile clients: whatever they send, a 4xx with the usual JSON error, never a 5xx, never an
// internal detail in the body.

let dir: string;
let server: TestServer;
/** The same folder behind a trusted proxy (X-Forwarded-* honoured). */
let proxied: TestServer;

beforeAll(async () => {
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  copyFixture('world_cities.mbtiles', dir, '__proto__.mbtiles');
  copyFixture('world_cities.mbtiles', dir, 'constructor.mbtiles');
  mkdirSync(join(dir, 'styles'));
  writeFileSync(join(dir, 'styles', 'broken.json'), '{"version": 8,');
  mkdirSync(join(dir, 'styles', 'folder.json'));
  server = await startTestServer(dir);
  proxied = await startTestServer(dir, { trustProxy: true });
});

afterAll(async () => {
  await server?.close();
  await proxied?.close();
  removeDir(dir);
});

const url = (path: string) => `${server.url}${path}`;

/** The body is the usual JSON error and the answer is never stored. */
function expectJsonError(res: RawResponse, status: number): void {
  expect(res.status).toBe(status);
  expect(header(res, 'cache-control')).toBe('no-store');
  expect(header(res, 'content-type')).toMatch(/^application\/json/);
  expect(typeof json<{ error: unknown }>(res).error).toBe('string');
}

describe('Accept-Encoding that refuses every coding', () => {
  // Each at least 1 KiB, the size from which answers are compressed.
  const pages = ['/', '/tiles/countries.json', '/viewer/countries'];
  it.each(
    pages.flatMap((path) =>
      ['identity;q=0', '*;q=0', 'gzip;q=-1', 'identity;q=0, *;q=0', 'IDENTITY;Q=0', '*;Q=0'].map((ae) => [path, ae]),
    ),
  )('GET %s with %j → 406, JSON error, no-store', async (path, acceptEncoding) => {
    const res = await rawRequest(url(path), { headers: { 'Accept-Encoding': acceptEncoding } });
    expectJsonError(res, 406);
    expect(header(res, 'content-encoding')).toBeUndefined();
  });

  it.each([
    ['identity;q=0, gzip', 'gzip'],
    ['*;q=0, br', 'br'],
    ['identity;q=0, deflate;q=0.5', 'deflate'],
  ])('GET / with %j → 200 in %s', async (acceptEncoding, coding) => {
    const res = await rawRequest(url('/'), { headers: { 'Accept-Encoding': acceptEncoding } });
    expect(res.status).toBe(200);
    expect(header(res, 'content-encoding')).toBe(coding);
  });

  it('a server error was never logged', () => {
    expect(server.logs.filter((l) => l.level === 'error')).toEqual([]);
  });
});

describe('methods other than GET, HEAD and OPTIONS', () => {
  const paths = ['/', '/catalog.json', '/tiles/countries/0/0/0.pbf', '/api/tile-version', '/no/such/route'];
  it.each(paths.flatMap((path) => ['PROPFIND', 'PURGE', 'TRACE', 'POST', 'DELETE', 'PATCH'].map((m) => [m, path])))(
    '%s %s → 405 with Allow and the JSON error',
    async (method, path) => {
      const res = await rawRequest(url(path), { method });
      expectJsonError(res, 405);
      expect(header(res, 'allow')).toBe('GET, HEAD, OPTIONS');
    },
  );

  it('/metrics counts them as 4xx, never 5xx', async () => {
    await rawRequest(url('/'), { method: 'PROPFIND' });
    const text = (await rawRequest(url('/metrics'))).body.toString('utf8');
    expect(text).toMatch(/tilestamp_http_requests_total\{[^}]*status="405"\} [1-9]/);
    expect(text).not.toMatch(/tilestamp_http_requests_total\{[^}]*status="5\d\d"\}/);
  });
});

/** Sends raw bytes on a fresh connection and returns everything the server wrote back. */
function rawExchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.end(bytes);
  });
}

describe('requests the HTTP parser refuses', () => {
  it.each([
    ['a malformed header line', 400, 'GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n'],
    ['a malformed request line', 400, 'GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['headers larger than 16 KiB', 431, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ])('%s → %i with no-store and the JSON error', async (_name, status, bytes) => {
    const answer = await rawExchange(bytes);
    expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(answer).toMatch(/\r\nCache-Control: no-store\r\n/i);
    expect(answer).toMatch(/\r\n\r\n\{"error":"[^"]+"\}$/);
  });
});

describe('no internal detail in any body', () => {
  const long = 'a'.repeat(5000);
  const paths = [
    `/styles/${long}.json`,
    `/viewer/${long}`,
    `/tiles/${long}.json`,
    `/tiles/${long}/0/0/0.pbf`,
    '/styles/broken.json',
    '/styles/folder.json',
    '/styles/..%2f..%2fetc%2fpasswd.json',
    '/styles/%00.json',
    '/tiles/..%2f..%2fcountries.json',
    '/tiles/countries/99/0/0.pbf',
    '/tiles/countries/0/0/0.png',
    '/tiles/countries/a/b/c.pbf',
    '/tiles/countries/0/0/0.pbf?v=%ff',
    '/viewer/nope',
    '/viewer/%E0%A4%A',
    '/vendor/maplibre-gl/maplibre-gl.js.map',
    '/client/tilestamp.js?v=../../x',
    '/%c0%ae%c0%ae/etc/passwd',
    '/health',
    '/ready',
  ];
  const forbidden = [dir, tmpdir(), REPO, 'node_modules', 'SQLITE', 'ENAMETOOLONG', 'ENOENT', 'EISDIR', 'stat ', '    at '];

  const named = paths.map((path) => [path.length > 60 ? `${path.slice(0, 30)}… (${path.length} chars)` : path, path]);
  it.each(named)('GET %s → no path, no driver words', async (_name, path) => {
    const res = await rawRequest(url(path));
    expect(res.status).toBeLessThan(500);
    const body = res.body.toString('utf8');
    // A script served as it is may name node_modules in a comment; an answer never names this machine's folders.
    for (const word of res.status < 400 ? [dir, REPO] : forbidden) expect(body).not.toContain(word);
    if (res.status >= 400) expectJsonError(res, res.status);
  });

  it('a style name no file can have is a plain 404, not an operator warning', async () => {
    const before = server.logs.filter((l) => l.level === 'warn').length;
    const res = await rawRequest(url(`/styles/${long}.json`));
    expectJsonError(res, 404);
    expect(server.logs.filter((l) => l.level === 'warn').length).toBe(before);
  });

  it('a broken user style names the style and the kind of problem; the log has the detail', async () => {
    const res = await rawRequest(url('/styles/broken.json'));
    expectJsonError(res, 404);
    expect(json<{ error: string }>(res).error).toMatch(/^style broken\.json cannot be served: not JSON/);
    const warned = server.logs.find((l) => l.message === 'user style cannot be served');
    expect(warned?.fields.path).toBe(join(dir, 'styles', 'broken.json'));
  });
});

describe('base URL from hostile headers', () => {
  it.each(['/', '/catalog.json', '/tiles/countries.json', '/styles/countries.json', '/viewer/countries'])(
    'X-Forwarded-Prefix: / behind a trusted proxy is the root: GET %s → 200',
    async (path) => {
      const res = await rawRequest(`${proxied.url}${path}`, { headers: { 'X-Forwarded-Prefix': '/' } });
      expect(res.status).toBe(200);
      expect(res.body.toString('utf8')).not.toContain(`127.0.0.1:${proxied.port}//`);
    },
  );

  it('the root prefix gives the same URLs as no prefix', async () => {
    const plain = await rawRequest(`${proxied.url}/tiles/countries.json`);
    const rooted = await rawRequest(`${proxied.url}/tiles/countries.json`, { headers: { 'X-Forwarded-Prefix': '/' } });
    expect(json(rooted)).toEqual(json(plain));
  });

  it.each(['a:99999', 'a:0', '[::1]:65536'])('Host: %s → 400, not echoed into URLs', async (host) => {
    const res = await rawRequest(url('/catalog.json'), { headers: { Host: host } });
    expectJsonError(res, 400);
    expect(res.body.toString('utf8')).not.toContain(host);
  });
});

describe('tilesets named __proto__ and constructor', () => {
  const ids = ['__proto__', 'constructor'];
  const own = (object: object) => Object.keys(object).sort();

  it('are in /api/tile-version', async () => {
    const doc = json<{ tilesets: object }>(await rawRequest(url('/api/tile-version')));
    expect(own(doc.tilesets)).toEqual(['__proto__', 'constructor', 'countries']);
    for (const id of ids)
      expect(Object.getOwnPropertyDescriptor(doc.tilesets, id)?.value).toBe(server.registry.source(id)?.version);
  });

  it('are in the first event of the stream', async () => {
    const sse = await openSse(url('/api/tile-version/events'));
    try {
      await sse.until((events) => events.length > 0);
      expect(own(JSON.parse(sse.events[0]!.data).tilesets)).toEqual(['__proto__', 'constructor', 'countries']);
    } finally {
      sse.close();
    }
  });

  it('are in the catalog and in /health', async () => {
    const catalog = json<{ id: string }[]>(await rawRequest(url('/catalog.json')));
    expect(catalog.map((t) => t.id).sort()).toEqual(['__proto__', 'constructor', 'countries']);
    const health = json<{ tilesets: object }>(await rawRequest(url('/health')));
    expect(own(health.tilesets)).toEqual(['__proto__', 'constructor', 'countries']);
  });

  it.each(ids)('%s serves tiles, TileJSON, a style and a viewer', async (id) => {
    const version = server.registry.source(id)?.version;
    expect((await rawRequest(url(`/tiles/${id}/0/0/0.pbf?v=${version}`))).status).toBe(200);
    expect(json<{ tiles: string[] }>(await rawRequest(url(`/tiles/${id}.json`))).tiles[0]).toContain(`/tiles/${id}/`);
    const style = json<{ sources: object }>(await rawRequest(url(`/styles/${id}.json`)));
    expect(own(style.sources)).toEqual([id]);
    expect((await rawRequest(url(`/viewer/${id}`))).status).toBe(200);
  });
});

describe('a file that SQLite cannot read any more', () => {
  it('answers without the driver message; the detail is for the log', async () => {
    const own = tempDir();
    const path = copyFixture('countries.mbtiles', own);
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    utimesSync(path, mtime, mtime);
    const corrupt = await startTestServer(own);
    try {
      // Pages after the first overwritten in place, the change counter bumped so SQLite drops its
      // cache, size and mtime kept: the file looks untouched and reads fail with SQLITE_CORRUPT.
      const bytes = readFileSync(path);
      const pageSize = bytes.readUInt16BE(16);
      bytes.writeUInt32BE(bytes.readUInt32BE(24) + 1, 24);
      bytes.fill(0xa5, pageSize);
      writeFileSync(path, bytes);
      utimesSync(path, mtime, mtime);
      const version = corrupt.registry.source('countries')?.version;
      const res = await rawRequest(`${corrupt.url}/tiles/countries/0/0/0.pbf?v=${version}`);
      expect(res.status).toBeGreaterThanOrEqual(500);
      const body = res.body.toString('utf8');
      for (const word of ['SQLITE', 'malformed', 'not a database', own]) expect(body).not.toContain(word);
      expect(typeof json<{ error: string }>(res).error).toBe('string');
    } finally {
      await corrupt.close();
      removeDir(own);
    }
  });
});
