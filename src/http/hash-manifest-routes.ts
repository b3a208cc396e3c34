import type { Context, Next } from 'koa';
import { BLOCK_ZOOMS, type Block, blockHashes } from '../source/hash-manifest.ts';
import type { Registry } from '../source/registry.ts';
import type { TileSource } from '../source/tile-source.ts';
import { MAX_ZOOM } from '../storage/coords.ts';
import { HttpError } from './errors.ts';
import { bodyEtag } from './etag.ts';
import { requireSource } from './lookup.ts';
import { sendVersioned } from './respond.ts';
import { httpErrorFor } from './source-errors.ts';
import { parseTileCoordinates } from './tile-path.ts';

/** Built manifests kept (~12 KB each at most: a few MB). */
export const DEFAULT_MANIFEST_CACHE = 512;

/** The URL template of a tileset's hash manifests, as TileJSON's `tilestamp.hashes` gives it. */
export function hashManifestTemplate(base: string, source: TileSource): string {
  return `${base}/tiles/${source.id}/hashes/{z}/{x}/{y}.json?v=${source.version}`;
}

/** What a path under `/tiles/` names when it is `{id}/hashes/{z}/{x}/{y}.json`; undefined otherwise. */
export function parseManifestPath(rest: string): { id: string; z: string; x: string; y: string } | undefined {
  const segments = rest.split('/');
  const n = segments.length;
  // The id holds at most one slash (a subfolder), as in tile-path.ts.
  if (n < 5 || n > 6 || segments.some((s) => s === '') || segments[n - 4] !== 'hashes') return undefined;
  const last = segments[n - 1] as string;
  if (!last.endsWith('.json')) return undefined;
  return {
    id: segments.slice(0, n - 4).join('/'),
    z: segments[n - 3] as string,
    x: segments[n - 2] as string,
    y: last.slice(0, -5),
  };
}

/** The block a manifest URL names, judged against a tileset: 400 when malformed, 404 when off the grid or its zooms. */
export function manifestBlock(text: { z: string; x: string; y: string }, source: TileSource): Block {
  const coords = parseTileCoordinates(text, { minzoom: 0, maxzoom: MAX_ZOOM });
  if (!coords.ok) throw new HttpError(coords.status, coords.message);
  const { z, x, y } = coords;
  if (z % BLOCK_ZOOMS !== 0)
    throw new HttpError(400, `hash manifests start at zooms that are multiples of ${BLOCK_ZOOMS}, not ${z}`);
  const { minzoom, maxzoom } = source.info;
  if (z + BLOCK_ZOOMS - 1 < minzoom || z > maxzoom) {
    throw new HttpError(404, `zooms ${z}-${z + BLOCK_ZOOMS - 1} are outside ${minzoom}-${maxzoom}`);
  }
  return { z, x, y };
}

/**
 * Built manifest bodies, least recently used first, per tileset version: a swapped-in file has
 * another version, so an old manifest is never served as the current one. A manifest being
 * built is shared by every request for it (one build per block).
 */
export class HashManifests {
  readonly #built = new Map<string, Promise<string>>();

  constructor(readonly capacity = DEFAULT_MANIFEST_CACHE) {}

  /** The JSON body of a block's manifest under the version `source` serves. */
  body(source: TileSource, block: Block): Promise<string> {
    const key = `${source.id}\n${source.version}\n${block.z}/${block.x}/${block.y}`;
    let body = this.#built.get(key);
    if (body !== undefined) {
      this.#built.delete(key); // to the most recently used end
    } else {
      body = blockHashes(source, block).then((tiles) => JSON.stringify({ version: source.version, tiles }));
      body.catch(() => this.#built.delete(key));
      while (this.#built.size >= this.capacity) this.#built.delete(this.#built.keys().next().value as string);
    }
    this.#built.set(key, body);
    return body;
  }

  get size(): number {
    return this.#built.size;
  }
}

/**
 * GET /tiles/{id}/hashes/{z}/{x}/{y}.json?v={V}: the hash manifest of a block (every tile's
 * content hash H, so a client can address unchanged tiles by `?h=H` across a refresh). `v` the
 * current version: immutable; anything else: the current manifest, `no-cache`. Other paths
 * under `/tiles/` go on to the tile route.
 */
export function hashManifestHandler(registry: Registry, manifests: HashManifests) {
  return async function serveHashManifest(ctx: Context, next: Next): Promise<void> {
    const request = parseManifestPath(ctx.path.slice('/tiles/'.length));
    if (request === undefined) return next();
    const source = requireSource(registry, request.id);
    const block = manifestBlock(request, source);
    let body: string;
    try {
      body = await manifests.body(source, block);
    } catch (error) {
      throw httpErrorFor(error, registry, source);
    }
    sendVersioned(ctx, source.version, 'application/json; charset=utf-8', bodyEtag(body), body);
  };
}
