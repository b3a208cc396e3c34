import type { Context } from 'koa';
import type { Config } from '../config.ts';
import { SourceUnavailableError } from '../source/errors.ts';
import type { Registry } from '../source/registry.ts';
import type { Tile, TileSource } from '../source/tile-source.ts';
import { extensionFits, formatKind, type TileEncoding } from '../storage/tile-format.ts';
import { requestedVersion } from './cache-policy.ts';
import { DEFAULT_DECODE_MEMORY, DecodeBudget, decodeWithinBudget } from './decode-budget.ts';
import { HttpError } from './errors.ts';
import { tileEtag } from './etag.ts';
import { requestBase, requireSource } from './lookup.ts';
import { setCacheSubject } from './middleware.ts';
import { notModified, sendDiscovery } from './respond.ts';
import { httpErrorFor } from './source-errors.ts';
import { parseTileCoordinates, parseTilePath } from './tile-path.ts';
import { buildTileJson } from './tilejson.ts';

/** Names the version a tileset serves now, so operators (and clients) can see it on any answer. */
export const VERSION_HEADER = 'X-Tilestamp-Version';

/**
 * Looks again, now, at a tileset whose file was written in place (see Reloader.recheck);
 * resolves when a fresh handle serves it or when the look found the file still changing.
 */
export type Recheck = (id: string) => Promise<void>;

/** How long a request waits for that look before it answers 503. */
const RECHECK_WAIT_MS = 2_000;

/** GET /tiles/{id}.json and GET /tiles/{id}/{z}/{x}/{y}.{ext}: parse, look up, read, answer. */
export function tilesHandler(registry: Registry, config: Config, recheck?: Recheck) {
  const budget = new DecodeBudget(config.decodeMemory ?? DEFAULT_DECODE_MEMORY);
  return async function serveTiles(ctx: Context): Promise<void> {
    // The raw path, not the router's decoded params: `a%2Fb` must not become the id `a/b`.
    const request = parseTilePath(ctx.path.slice('/tiles/'.length));
    if (request === undefined) throw new HttpError(404, 'not found');
    let source = requireSource(registry, request.id);
    ctx.set(VERSION_HEADER, source.version);
    if (request.kind === 'tilejson') return sendDiscovery(ctx, buildTileJson(requestBase(ctx, config), source));
    if (!extensionFits(source.format, request.ext)) {
      throw new HttpError(400, `tileset ${source.id} holds ${source.format} tiles; .${request.ext} does not fit`);
    }
    const coords = parseTileCoordinates(request, source.info);
    if (!coords.ok) throw new HttpError(coords.status, coords.message);
    let tile: Tile | undefined;
    try {
      tile = source.getTile(coords.z, coords.x, coords.y);
    } catch (error) {
      if (!(error instanceof SourceUnavailableError)) throw httpErrorFor(error, registry, source);
      // Written in place: a touch (or the same bytes) is served from a fresh handle after one
      // quick look; a real rewrite answers 503 until the regular reload has the new file.
      source = await afterRecheck(registry, source, recheck, error);
      ctx.set(VERSION_HEADER, source.version);
      tile = readTile(registry, source, coords.z, coords.x, coords.y);
    }
    setCacheSubject(ctx, { kind: 'tile', requested: requestedVersion(ctx.query.v), current: source.version });
    ctx.compress = false; // tiles are sent as stored, never recompressed
    if (tile === undefined) return answerMissing(ctx, source, `${coords.z}/${coords.x}/${coords.y}`);
    await answerTile(ctx, source, tile, budget);
  };
}

/** The source that serves `stale`'s tileset after a re-check, or 503 when none does yet. */
async function afterRecheck(
  registry: Registry,
  stale: TileSource,
  recheck: Recheck | undefined,
  error: SourceUnavailableError,
): Promise<TileSource> {
  if (recheck !== undefined) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, RECHECK_WAIT_MS);
    });
    await Promise.race([recheck(stale.id), waited]);
    clearTimeout(timer);
  }
  const fresh = registry.source(stale.id);
  if (fresh === undefined || fresh === stale || fresh.version !== stale.version) throw httpErrorFor(error, registry, stale);
  return fresh;
}

function readTile(registry: Registry, source: TileSource, z: number, x: number, y: number): Tile | undefined {
  try {
    return source.getTile(z, x, y);
  } catch (error) {
    throw httpErrorFor(error, registry, source);
  }
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
 * Compressed vector tiles go out as stored with their `Content-Encoding` (gzip, or deflate for
 * zlib streams) to clients that accept it, and decompressed for the others. Images are sent as
 * they are, never with an encoding. A matching If-None-Match gets 304 before anything is
 * decompressed.
 */
async function answerTile(ctx: Context, source: TileSource, tile: Tile, budget: DecodeBudget): Promise<void> {
  const vector = formatKind(source.format) === 'vector';
  if (vector) ctx.vary('Accept-Encoding');
  const encoding = vector ? tile.encoding : undefined;
  const decoded = encoding !== undefined && ctx.acceptsEncodings(encoding, 'identity') !== encoding;
  if (notModified(ctx, tileEtag(tile, decoded))) return;
  ctx.type = tile.contentType;
  if (encoding !== undefined && !decoded) ctx.set('Content-Encoding', encoding);
  ctx.body = encoding !== undefined && decoded ? await decodeForClient(ctx, budget, source, tile.data, encoding) : tile.data;
}

/**
 * The stored tile, decompressed within the shared decode budget (503 when it has no room). When
 * it cannot be (a corrupt stream, or larger than MAX_DECODED_BYTES), the tile exists only in a
 * coding this client refuses: 406, which names the client's choice, not a server fault. Clients
 * that take the coding get the bytes as stored.
 */
async function decodeForClient(
  ctx: Context,
  budget: DecodeBudget,
  source: TileSource,
  data: Buffer,
  encoding: TileEncoding,
): Promise<Buffer> {
  try {
    return await decodeWithinBudget(budget, ctx.res, data, encoding);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(
      406,
      `this tile is stored compressed (${encoding}) and cannot be decoded here: request it with Accept-Encoding: ${encoding}`,
      undefined,
      {
        tileset: source.id,
        reason: (error as Error).message,
      },
    );
  }
}
