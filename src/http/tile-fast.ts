import type { ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import type { Config } from '../config.ts';
import type { Registry } from '../source/registry.ts';
import type { Tile } from '../source/tile-source.ts';
import { extensionFits, formatKind } from '../storage/tile-format.ts';
import { cacheControl, versionMatches } from './cache-policy.ts';
import { matchesIfNoneMatch, tileEtag } from './etag.ts';
import type { Metrics } from './metrics.ts';
import { EXPOSED_HEADERS } from './middleware.ts';
import { parseTileCoordinates, parseTilePath } from './tile-path.ts';
import { VERSION_HEADER } from './tile-routes.ts';

/**
 * The tile hot path: a tile request whose answer is plain (a tileset that serves, coordinates
 * in range, the tile or its vector hole read at once, sent as stored) is answered here, first in
 * the chain, without the router's regex walk, the general middleware or per-request objects;
 * header values come from per-process constants and the hot-tile cache. Everything else (errors,
 * 404 rasters, clients that refuse the stored encoding, odd queries, files written in place)
 * falls through to the general chain, which answers exactly as before: this is a shortcut, never
 * a second set of rules. The cache policy is still the one pure function (cache-policy.ts).
 */
export function fastTileMiddleware(registry: Registry, config: Pick<Config, 'corsOrigin' | 'maxAge'>, metrics: Metrics) {
  const policy = {
    current: cacheControl({ kind: 'tile', requested: 'v', current: 'v' }, config.maxAge),
    unversioned: cacheControl({ kind: 'tile', requested: undefined, current: 'v' }, config.maxAge),
    other: cacheControl({ kind: 'tile', requested: 'v', current: 'w' }, config.maxAge),
  };
  const origin = config.corsOrigin;
  const vary = origin === '*' ? 'Accept-Encoding' : 'Origin, Accept-Encoding';

  return function fastTiles(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    const req = ctx.req;
    const url = req.url as string;
    if (!url.startsWith('/tiles/') || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path.endsWith('.json')) return next();
    const request = parseTilePath(path.slice('/tiles/'.length));
    if (request?.kind !== 'tile') return next();
    const entry = registry.get(request.id);
    if (entry?.state !== 'ok') return next();
    const source = entry.source;
    if (!extensionFits(source.format, request.ext)) return next();
    const coords = parseTileCoordinates(request, source.info);
    if (!coords.ok) return next();
    const v = q < 0 ? undefined : plainVersion(url.slice(q + 1));
    // If-Modified-Since beside If-None-Match: Koa's `fresh` weighs both; leave it to the general path.
    if (v === null || req.headers['if-modified-since'] !== undefined) return next();
    let tile: Tile | undefined;
    try {
      tile = source.getTile(coords.z, coords.x, coords.y);
    } catch {
      return next(); // written in place, or unreadable: the general path re-checks and answers
    }
    const vector = formatKind(source.format) === 'vector';
    if (tile === undefined && !vector) return next(); // raster hole: 404 with a JSON body
    const encoding = vector ? tile?.encoding : undefined;
    if (encoding !== undefined && !acceptsAsStored(ctx, encoding)) return next();

    const headers: string[] = [
      'Access-Control-Allow-Origin',
      origin,
      'Access-Control-Expose-Headers',
      EXPOSED_HEADERS,
      VERSION_HEADER,
      source.version,
      'Cache-Control',
      v === undefined ? policy.unversioned : versionMatches(v, source.version) ? policy.current : policy.other,
    ];
    if (vector) headers.push('Vary', vary);
    else if (origin !== '*') headers.push('Vary', 'Origin');
    send(ctx, headers, tile, encoding);
    metrics.tileAnswered(ctx.status, performance.now() - started);
    return Promise.resolve();
  };
}

/**
 * Writes the whole answer at once (`writeHead` with every header, then `end`), bypassing Koa's
 * response object, which would store and re-validate each header one by one: on this path that
 * bookkeeping cost as much as the rest of the request. `ctx.status` is still set, for the log.
 */
function send(ctx: Context, headers: string[], tile: Tile | undefined, encoding: string | undefined): void {
  const res: ServerResponse = ctx.res;
  ctx.respond = false;
  if (tile === undefined) {
    ctx.status = 204;
    res.writeHead(204, headers).end();
    return;
  }
  const etag = tile.etag ?? tileEtag(tile, false);
  headers.push('ETag', etag);
  const inm = ctx.req.headers['if-none-match'];
  if (inm !== undefined && matchesIfNoneMatch(inm, ctx.req.headers['cache-control'], etag)) {
    ctx.status = 304;
    res.writeHead(304, headers).end();
    return;
  }
  headers.push('Content-Type', tile.contentType, 'Content-Length', String(tile.data.length));
  if (encoding !== undefined) headers.push('Content-Encoding', encoding);
  ctx.status = 200;
  res.writeHead(200, headers).end(tile.data);
}

/**
 * The `v` of a plain query (`v=…` alone, nothing to decode); undefined for an empty query; null
 * for anything else (several parameters, escapes), which the general path parses in full.
 */
export function plainVersion(query: string): string | undefined | null {
  if (query === '') return undefined;
  if (!query.startsWith('v=') || /[&%+=;#]/.test(query.slice(2))) return null;
  return query.slice(2);
}

/**
 * Whether the client takes the tile's stored coding, decided without a negotiator for the
 * headers browsers send (`gzip, deflate, br, zstd`): no q-values and no mention of identity.
 * Anything else asks Koa's negotiator, as the general path does.
 */
function acceptsAsStored(ctx: Context, encoding: string): boolean {
  const header = ctx.req.headers['accept-encoding'];
  if (header === undefined || header.includes(';') || header.includes('identity')) {
    return ctx.acceptsEncodings(encoding, 'identity') === encoding;
  }
  for (const token of header.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === encoding || name === '*') return true;
  }
  return false;
}
