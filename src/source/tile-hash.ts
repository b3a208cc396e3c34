import * as crypto from 'node:crypto';

/** Hex digits of a tile hash: 64 bits. */
export const TILE_HASH_HEX_DIGITS = 16;

/** One-shot hashing where the runtime has it (Node ≥ 20.12); the streaming API gives the same digest. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;

/** Digest bytes H keeps: 64 bits. */
const TILE_HASH_BYTES = TILE_HASH_HEX_DIGITS / 2;

/**
 * A tile's content hash H: 16 lowercase hex digits derived from its stored bytes, the same on every
 * replica, runtime (Node, Deno) and restart: the first 16 hex digits of the SHA-256 of the bytes.
 *
 * Why never a stored tile id (the deduplicated schema's `map.tile_id`): nothing in a file says its
 * ids are content hashes. A pipeline that writes UUIDs, row numbers or ids it reuses across
 * refreshes for other bytes would make `?h=H` immutable for bytes that do not hash to H, in every
 * browser and CDN, forever. And an id saves nothing where it matters: a tile being answered has
 * its bytes read already (the id was one more query), and only a hash manifest would skip reading
 * bytes, which a block costs anyway for files without ids. (Checking an id against its producer's
 * function, FNV-1a 64 for tippecanoe's decimal ids, costs a read and a hash of the bytes too.)
 *
 * Why SHA-256 and not a faster non-cryptographic 64-bit hash: it is in node:crypto on both
 * runtimes (no dependency to keep in step across them), it is defined byte for byte everywhere,
 * and with the CPU's SHA extensions it costs ~3 µs for a 5 KiB tile, against ~60 µs for the whole
 * answer to a cache miss: an xxHash would save under 5 % of a miss and add a package.
 */
export function tileHash(tile: { data: Uint8Array }): string {
  const digest = oneShot ? oneShot('sha256', tile.data, 'buffer') : crypto.createHash('sha256').update(tile.data).digest();
  // Hex of the first bytes only: a string of its own (16 B), where slicing the full hex would
  // keep its 64 digits alive beside every tile the hot-tile cache keeps.
  return digest.toString('hex', 0, TILE_HASH_BYTES);
}
