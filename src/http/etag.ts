import { createHash } from 'node:crypto';

/**
 * The strong ETag of a tile answer: the tile's content hash H (source/tile-hash.ts), so it
 * depends on the tile's bytes, never on the tileset's version, and an unchanged tile still
 * revalidates to 304 after a refresh. The decompressed representation of a compressed tile is
 * other bytes, so it gets another tag.
 */
export function tileEtag(hash: string, decompressed: boolean): string {
  return decompressed ? `"${hash}-decoded"` : `"${hash}"`;
}

/**
 * The ETag of a discovery body (TileJSON, catalog, index, /api/tile-version). Weak, because the
 * compression middleware may send other bytes for the same body.
 */
export function bodyEtag(body: string): string {
  return `W/"${shortDigest(body)}"`;
}

/** The digest ETags are made of: SHA-1 over the parts in order, 22 base64url characters. */
export function shortDigest(...parts: (string | Uint8Array)[]): string {
  const digest = createHash('sha1');
  for (const part of parts) digest.update(part);
  return digest.digest('base64url').slice(0, 22);
}
