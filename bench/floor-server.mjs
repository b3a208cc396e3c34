// The two reference servers of the benchmark, each run in its own process:
//   node bench/floor-server.mjs bare MANIFEST PORT   bare node:http: the Node ceiling
//   node bench/floor-server.mjs koa  MANIFEST PORT   a Koa app with one middleware: the Koa floor
// Both answer the walked URLs with the very bytes of the file, read once into memory, with the
// headers a tile server sends (type, encoding, a precomputed ETag, immutable caching), and 304 on
// a matching If-None-Match. No routing, no SQLite, no negotiation: what serving cannot go below.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import Database from 'better-sqlite3';
import Koa from 'koa';

const [kind, manifestPath, port] = process.argv.slice(2);
if (!['bare', 'koa'].includes(kind) || !manifestPath || !port) {
  process.stderr.write('usage: floor-server.mjs bare|koa MANIFEST PORT\n');
  process.exit(2);
}

/** { file, contentType, acceptEncoding, tiles: [[path, z, x, tmsRow]] } written by the benchmark. */
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const tiles = new Map();
const db = new Database(manifest.file, { readonly: true });
const read = db.prepare('SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?').pluck();
const accepted = (manifest.acceptEncoding ?? '').split(',').map((e) => e.trim().split(';')[0]);
for (const [path, z, x, row] of manifest.tiles) {
  let body = read.get(z, x, row);
  const stored = body[0] === 0x1f && body[1] === 0x8b ? 'gzip' : body[0] === 0x78 ? 'deflate' : undefined;
  const encoding = stored && accepted.includes(stored) ? stored : undefined;
  // The bench sends one Accept-Encoding to every server: decide once what a negotiating server would send.
  if (stored && !encoding) body = stored === 'gzip' ? gunzipSync(body) : inflateSync(body);
  const headers = {
    'Content-Type': manifest.contentType,
    'Content-Length': String(body.length),
    'Cache-Control': 'public, max-age=31536000, immutable',
    ETag: `"${createHash('sha1').update(body).digest('base64url')}"`,
  };
  if (encoding) headers['Content-Encoding'] = encoding;
  tiles.set(path, { body, headers, etag: headers.ETag });
}
db.close();

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
