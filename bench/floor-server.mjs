// The three reference servers of the benchmark, each run in its own process:
//   node bench/floor-server.mjs bare   MANIFEST PORT   bare node:http: the Node ceiling
//   node bench/floor-server.mjs koa    MANIFEST PORT   a Koa app with one middleware: the Koa floor
//   node bench/floor-server.mjs sqlite MANIFEST PORT   the same Koa app reading every tile from
//                                                      SQLite: the SQLite floor
// The first two answer the walked URLs with the very bytes of the file, read once into memory, with
// the headers a tile server sends (type, encoding, a precomputed ETag, immutable caching), and 304 on
// a matching If-None-Match. No routing, no SQLite, no negotiation: what serving cannot go below.
// The SQLite floor is what a tile server without a cache costs: one prepared statement (better-
// sqlite3, default settings) per request, the bytes sent as read, no ETag (hashing is work a floor
// leaves out), no cache of any kind; a server whose cache hits at all must beat it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import Database from 'better-sqlite3';
import Koa from 'koa';

const [kind, manifestPath, port] = process.argv.slice(2);
if (!['bare', 'koa', 'sqlite'].includes(kind) || !manifestPath || !port) {
  process.stderr.write('usage: floor-server.mjs bare|koa|sqlite MANIFEST PORT\n');
  process.exit(2);
}

/** { file, contentType, acceptEncoding, tiles: [[path, z, x, tmsRow]] } written by the benchmark. */
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const db = new Database(manifest.file, { readonly: true });
const read = db.prepare('SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?').pluck();
const accepted = (manifest.acceptEncoding ?? '').split(',').map((e) => e.trim().split(';')[0]);

/**
 * The body and headers of stored bytes. The bench sends one Accept-Encoding to every server:
 * what a negotiating server would send is decided from it, once per tile read.
 */
function answer(stored, withEtag) {
  let body = stored;
  const coding = body[0] === 0x1f && body[1] === 0x8b ? 'gzip' : body[0] === 0x78 ? 'deflate' : undefined;
  const encoding = coding && accepted.includes(coding) ? coding : undefined;
  if (coding && !encoding) body = coding === 'gzip' ? gunzipSync(body) : inflateSync(body);
  const headers = {
    'Content-Type': manifest.contentType,
    'Content-Length': String(body.length),
    'Cache-Control': 'public, max-age=31536000, immutable',
  };
  if (withEtag) headers.ETag = `"${createHash('sha1').update(body).digest('base64url')}"`;
  if (encoding) headers['Content-Encoding'] = encoding;
  return { body, headers, etag: headers.ETag };
}

/** Path → bytes and headers (bare, koa), or → [z, x, tmsRow] (sqlite: read at each request). */
const tiles = new Map();
for (const [path, z, x, row] of manifest.tiles) {
  tiles.set(path, kind === 'sqlite' ? [z, x, row] : answer(read.get(z, x, row), true));
}
if (kind !== 'sqlite') db.close();

// Exits cleanly on SIGTERM, so that a server run with --cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));

/** One JSON line, as tilestamp logs it, so that tests can wait for it. */
const announce = (server) =>
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${server.address().port}` })}\n`);

if (kind === 'bare') {
  const server = createServer((req, res) => {
    const tile = tiles.get(req.url);
    if (tile === undefined) {
      res.writeHead(req.url === '/ready' ? 200 : 404).end();
    } else if (req.headers['if-none-match'] === tile.etag) {
      res.writeHead(304, { ETag: tile.etag }).end();
    } else {
      res.writeHead(200, tile.headers).end(tile.body);
    }
  });
  server.listen(Number(port), '127.0.0.1', () => announce(server));
} else if (kind === 'sqlite') {
  const app = new Koa();
  app.use((ctx) => {
    const coords = tiles.get(ctx.url);
    if (coords === undefined) {
      ctx.status = ctx.url === '/ready' ? 200 : 404;
      return;
    }
    const tile = answer(read.get(coords[0], coords[1], coords[2]), false);
    ctx.set(tile.headers);
    ctx.body = tile.body;
  });
  const server = app.listen(Number(port), '127.0.0.1', () => announce(server));
} else {
  const app = new Koa();
  app.use((ctx) => {
    const tile = tiles.get(ctx.url);
    if (tile === undefined) {
      ctx.status = ctx.url === '/ready' ? 200 : 404;
    } else if (ctx.get('If-None-Match') === tile.etag) {
      ctx.status = 304;
      ctx.set('ETag', tile.etag);
    } else {
      ctx.set(tile.headers);
      ctx.body = tile.body;
    }
  });
  const server = app.listen(Number(port), '127.0.0.1', () => announce(server));
}
