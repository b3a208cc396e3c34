import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Context } from 'koa';
import type { Config } from '../config.ts';
import type { Registry } from '../source/registry.ts';
import type { Tile, TileSource } from '../source/tile-source.ts';
import { extensionFits, formatKind } from '../storage/tile-format.ts';
import { requestedVersion } from './cache-policy.ts';
import { HttpError } from './errors.ts';
import { requestBase, requireSource } from './lookup.ts';
import { setCacheSubject } from './middleware.ts';
import { parseTileCoordinates, parseTilePath } from './tile-path.ts';
import { buildTileJson } from './tilejson.ts';

const gunzipAsync = promisify(gunzip);

/** GET /tiles/{id}.json and GET /tiles/{id}/{z}/{x}/{y}.{ext}: parse, look up, read, answer. */
export function tilesHandler(registry: Registry, config: Config) {
  return async function serveTiles(ctx: Context): Promise<void> {
    // The raw path, not the router's decoded params: `a%2Fb` must not become the id `a/b`.
    const request = parseTilePath(ctx.path.slice('/tiles/'.length));
    if (request === undefined) throw new HttpError(404, 'not found');
    const source = requireSource(registry, request.id);
    if (request.kind === 'tilejson') {
      setCacheSubject(ctx, { kind: 'discovery' });
      ctx.body = buildTileJson(requestBase(ctx, config), source);
      return;
    }
    if (!extensionFits(source.format, request.ext)) {
      throw new HttpError(400, `tileset ${source.id} holds ${source.format} tiles; .${request.ext} does not fit`);
    }
    const coords = parseTileCoordinates(request, source.info);
    if (!coords.ok) throw new HttpError(coords.status, coords.message);
    const tile = source.getTile(coords.z, coords.x, coords.y);
    setCacheSubject(ctx, { kind: 'tile', requested: requestedVersion(ctx.query.v), current: source.version });
    if (tile === undefined) return answerMissing(ctx, source, `${coords.z}/${coords.x}/${coords.y}`);
    await answerTile(ctx, source, tile);
  };
}

/** A missing tile inside the range is a fact of the version: 204 for vector, 404 for raster. */
function answerMissing(ctx: Context, source: TileSource, where: string): void {
  if (formatKind(source.format) === 'vector') {
    ctx.vary('Accept-Encoding');
    ctx.status = 204;
  } else {
    ctx.status = 404;
    ctx.body = { error: `no tile at ${where}` };
  }
}

/**
 * Gzipped vector tiles go out as stored with `Content-Encoding: gzip` to clients that accept
 * gzip, and gunzipped to the others. Images are sent as they are, never with an encoding.
 */
async function answerTile(ctx: Context, source: TileSource, tile: Tile): Promise<void> {
  ctx.type = tile.contentType;
  if (formatKind(source.format) === 'raster') {
    ctx.body = tile.data;
    return;
  }
  ctx.vary('Accept-Encoding');
  if (!tile.gzip) {
    ctx.body = tile.data;
  } else if (ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = tile.data;
  } else {
    ctx.body = await gunzipAsync(tile.data).catch((error: Error) => {
      throw new Error(`tile of ${source.id} is not valid gzip: ${error.message}`);
    });
  }
}
