import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import accepts from 'accepts';
import fresh from 'fresh';
import type { Config } from '../config.ts';
import { tileHash } from '../source/tile-hash.ts';
import type { TileSource } from '../source/tile-source.ts';
import { extensionFits, formatKind, type TileEncoding } from '../storage/tile-format.ts';
import { TILE_POLICIES, type TilePolicy, tileCacheControl, tilePolicy } from './cache-policy.ts';
import { HttpError } from './errors.ts';
import { tileEtag } from './etag.ts';
import { EXPOSED_HEADERS } from './middleware.ts';
import { parseTileCoordinates } from './tile-path.ts';

/** Names the version a tileset serves now, so operators (and clients) can see it on any answer. */
export const VERSION_HEADER = 'X-Tilestamp-Version';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * A serving source with everything about its answers that does not depend on the request built
 * once: per row of the tile policy table, the block of CORS, `Vary`, `Cache-Control` and version
 * headers, flat (`[name, value, …]`, as `writeHead` takes them).
 */
export interface PreparedTiles {
  readonly source: TileSource;
  readonly vector: boolean;
  readonly blocks: Readonly<Record<TilePolicy, readonly string[]>>;
}

/** What a tile request says that its answer depends on. */
export interface TileAsk {
  /** As in the URL (tile-path.ts): judged against the tileset here. */
  z: string;
  x: string;
  y: string;
  ext: string;
  /** The requested version (`?v=`; cache-policy.ts requestedVersion), undefined when absent. */
  v: string | undefined;
  /** The requested content hash (`?h=`, from a hash manifest), undefined when absent. */
  h?: string | undefined;
  /** Read: Accept-Encoding, If-None-Match, If-Modified-Since, Cache-Control. */
  headers: IncomingHttpHeaders;
}

/** A tile answer, complete but for `Content-Length`, which the writer takes from the body it sends. */
export interface TileAnswer {
  status: 200 | 204 | 304 | 404;
  headers: string[];
  body: Buffer | undefined;
  /** Set when the client refuses the stored coding: the body is sent once decompressed (tile-routes.ts). */
  decode?: TileEncoding;
}

export type AnswerSettings = Pick<Config, 'corsOrigin' | 'maxAge'>;

/** The header blocks of one source under these settings. */
export function prepareTiles(source: TileSource, settings: AnswerSettings): PreparedTiles {
  const vector = formatKind(source.format) === 'vector';
  const origin = settings.corsOrigin;
  const vary = vector ? (origin === '*' ? 'Accept-Encoding' : 'Origin, Accept-Encoding') : origin === '*' ? undefined : 'Origin';
  const block = (policy: TilePolicy): readonly string[] => {
    const headers = ['Access-Control-Allow-Origin', origin, 'Access-Control-Expose-Headers', EXPOSED_HEADERS];
    headers.push(VERSION_HEADER, source.version, 'Cache-Control', tileCacheControl(policy, settings.maxAge));
    if (vary !== undefined) headers.push('Vary', vary);
    return Object.freeze(headers);
  };
  const blocks = Object.fromEntries(TILE_POLICIES.map((policy) => [policy, block(policy)])) as Record<
    TilePolicy,
    readonly string[]
  >;
  return { source, vector, blocks };
}

/**
 * The one tile responder: every rule of a tile answer (extension, coordinates, the tile or its
 * hole, the cache policy row, the ETag, `If-None-Match`/`If-Modified-Since` through the `fresh`
 * package Koa's `ctx.fresh` uses, the stored coding or decoding) in one synchronous function.
 * Malformed or off-range requests throw HttpError; a failed read throws what the source threw
 * (source-errors.ts maps it). The hot path writes the answer at once; the Koa route also
 * re-checks a file written in place and decompresses for clients that refuse the stored coding.
 */
export function answerTile(prepared: PreparedTiles, ask: TileAsk): TileAnswer {
  const { source } = prepared;
  if (!extensionFits(source.format, ask.ext)) {
    throw new HttpError(400, `tileset ${source.id} holds ${source.format} tiles; .${ask.ext} does not fit`);
  }
  const coords = parseTileCoordinates(ask, source.info);
  if (!coords.ok) throw new HttpError(coords.status, coords.message);
  const tile = source.getTile(coords.z, coords.x, coords.y);
  const hash = tile && (tile.hash ?? tileHash(tile));
  const block = prepared.blocks[tilePolicy(ask, { version: source.version, hash })];
  if (tile === undefined || hash === undefined) {
    // A hole inside the range is a fact of the version: 204 for vector, 404 for raster.
    if (prepared.vector) return { status: 204, headers: [...block], body: undefined };
    const body = Buffer.from(JSON.stringify({ error: `no tile at ${coords.z}/${coords.x}/${coords.y}` }));
    return { status: 404, headers: [...block, 'Content-Type', JSON_TYPE], body };
  }
  const encoding = prepared.vector ? tile.encoding : undefined;
  const decode = encoding !== undefined && !takesCoding(ask.headers['accept-encoding'], encoding);
  const etag = tileEtag(hash, decode);
  if (fresh(ask.headers, { etag })) return { status: 304, headers: [...block, 'ETag', etag], body: undefined };
  const headers = [...block, 'ETag', etag, 'Content-Type', tile.contentType];
  if (encoding === undefined) return { status: 200, headers, body: tile.data };
  if (decode) return { status: 200, headers, body: tile.data, decode: encoding };
  headers.push('Content-Encoding', encoding);
  return { status: 200, headers, body: tile.data };
}

/**
 * Whether a client takes a stored coding: decided without a negotiator for the headers browsers
 * send (`gzip, deflate, br, zstd`: no q-values, no mention of identity), else by the negotiator
 * Koa's `ctx.acceptsEncodings` uses, with identity as the alternative.
 */
export function takesCoding(header: string | undefined, coding: TileEncoding): boolean {
  if (header === undefined || header.includes(';') || header.includes('identity')) {
    const request = { headers: { 'accept-encoding': header } } as unknown as IncomingMessage;
    return accepts(request).encodings([coding, 'identity']) === coding;
  }
  for (const token of header.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === coding || name === '*') return true;
  }
  return false;
}

/**
 * Writes a tile answer at once (`writeHead` with every header, then `end`), bypassing Koa's
 * response object, which would store and re-validate each header one by one: on the hot path that
 * bookkeeping cost as much as the rest of the request. Headers set earlier on `res` (CORS by the
 * middleware) are replaced by the answer's own.
 */
export function writeAnswer(res: ServerResponse, answer: TileAnswer, body: Buffer | undefined = answer.body): void {
  const headers = answer.headers;
  if (body !== undefined) headers.push('Content-Length', String(body.length));
  res.writeHead(answer.status, headers).end(body);
}

/**
 * The prepared sources of one server. The registry prepares each source as it takes it into
 * service (`prepare` is its serveThrough step), so a swap brings its header blocks with it.
 */
export class TileAnswers {
  readonly #prepared = new WeakMap<TileSource, PreparedTiles>();

  constructor(readonly settings: AnswerSettings) {}

  prepare(source: TileSource): TileSource {
    this.#prepared.set(source, prepareTiles(source, this.settings));
    return source;
  }

  /** The prepared form of a serving source (prepared now if it came in another way). */
  of(source: TileSource): PreparedTiles {
    let prepared = this.#prepared.get(source);
    if (prepared === undefined) {
      prepared = prepareTiles(source, this.settings);
      this.#prepared.set(source, prepared);
    }
    return prepared;
  }
}
