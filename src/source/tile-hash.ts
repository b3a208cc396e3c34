import * as crypto from 'node:crypto';

/** Hex digits of a tile hash: 64 bits. */
export const TILE_HASH_HEX_DIGITS = 16;

/**
 * Stored tile ids trusted as content hashes: long hex (MD5 or SHA, as @mapbox/mbtiles and mb-util
 * write) or a 64-bit decimal hash (tippecanoe). A short or sequential id could be reused for other
 * bytes after a refresh and would then revalidate stale tiles, so those tiles are hashed instead.
 */
const HEX_ID = /^[0-9a-fA-F]{16,128}$/;
const DECIMAL_ID = /^[0-9]{15,20}$/;
const MAX_UINT64 = 2n ** 64n - 1n;

/** One-shot hashing where the runtime has it (Node ≥ 20.12); the streaming API gives the same digest. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash;

/**
 * A tile's content hash H: 16 lowercase hex digits derived from its stored bytes, the same on every
 * replica, runtime (Node, Deno) and restart. Where the file stores a content hash per tile (the
 * deduplicated schema's `map.tile_id`), H is its first 16 hex digits (a tippecanoe decimal id is
 * written in hex first); otherwise the first 16 hex digits of the SHA-256 of the bytes.
 *
 * Why SHA-256 and not a faster non-cryptographic 64-bit hash: it is in node:crypto on both
 * runtimes (no dependency to keep in step across them), it is defined byte for byte everywhere,
 * and with the CPU's SHA extensions it costs ~3 µs for a 5 KiB tile, against ~60 µs for the whole
 * answer to a cache miss: an xxHash would save under 5 % of a miss and add a package.
 */
export function tileHash(tile: { data: Uint8Array; storedId?: string | undefined }): string {
  const stored = tile.storedId === undefined ? undefined : storedIdHash(tile.storedId);
  if (stored !== undefined) return stored;
  const hex = oneShot ? oneShot('sha256', tile.data, 'hex') : crypto.createHash('sha256').update(tile.data).digest('hex');
  return hex.slice(0, TILE_HASH_HEX_DIGITS);
}

/**
 * H as taken from a stored tile id, or undefined when the id is not trusted as a content hash
 * (then the bytes are hashed). Lets a hash manifest skip reading the bytes of such tiles.
 */
export function storedIdHash(id: string): string | undefined {
  // Digits only, up to 20 of them: a decimal number (tippecanoe), though hex digits too.
  if (DECIMAL_ID.test(id)) {
    if (BigInt(id) <= MAX_UINT64) return BigInt(id).toString(16).padStart(TILE_HASH_HEX_DIGITS, '0');
  } else if (HEX_ID.test(id)) {
    return id.slice(0, TILE_HASH_HEX_DIGITS).toLowerCase();
  }
  return undefined;
}
