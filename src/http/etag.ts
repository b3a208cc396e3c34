import { createHash } from 'node:crypto';

/**
 * Stored tile ids trusted as content hashes: long hex (MD5 or SHA, as @mapbox/mbtiles and mb-util
 * write) or a 64-bit decimal hash (tippecanoe). A short or sequential id could be reused for other
 * bytes after a refresh and would then revalidate stale tiles, so those tiles are hashed instead.
 */
const HASH_LIKE_ID = /^(?:[0-9a-fA-F]{16,128}|[0-9]{15,20})$/;

function shortHash(bytes: string | Uint8Array): string {
  return createHash('sha1').update(bytes).digest('base64url').slice(0, 22);
}

/**
 * The strong ETag of a tile response. It depends on the tile's bytes, never on the tileset's
 * version, so a tile that did not change in a refresh still revalidates to 304. The
 * decompressed representation of a compressed tile is other bytes, so it gets another tag.
 */
export function tileEtag(
  tile: { data: Uint8Array; storedId?: string | undefined; etag?: string | undefined },
  decompressed: boolean,
): string {
  const stored =
    tile.etag ??
    `"${tile.storedId !== undefined && HASH_LIKE_ID.test(tile.storedId) ? `i${tile.storedId}` : `h${shortHash(tile.data)}`}"`;
  return decompressed ? `${stored.slice(0, -1)}-decoded"` : stored;
}

/**
 * The ETag of a discovery body (TileJSON, catalog, index, /api/tile-version). Weak, because the
 * compression middleware may send other bytes for the same body.
 */
export function bodyEtag(body: string): string {
  return `W/"${shortHash(body)}"`;
}

/**
 * Whether a request's If-None-Match names `etag` (RFC 9110 §13.1.2: weak comparison, a list, or
 * `*`), as Koa's `ctx.fresh` decides it, including its rule that a request carrying
 * `Cache-Control: no-cache` wants the full answer.
 */
export function matchesIfNoneMatch(header: string, cacheControl: string | undefined, etag: string): boolean {
  if (cacheControl !== undefined && /(?:^|,)\s*no-cache\s*(?:,|$)/.test(cacheControl)) return false;
  if (header.trim() === '*') return true;
  const plain = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const candidate of header.split(',')) {
    const tag = candidate.trim();
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === plain) return true;
  }
  return false;
}
