import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import type { TileEncoding } from './tile-format.ts';

/** Largest decompressed tile: real MVT stays far below; a compression bomb does not. */
export const MAX_DECODED_BYTES = 32 * 1024 * 1024;

const DECODERS: Readonly<Record<TileEncoding, (data: Uint8Array, options: { maxOutputLength: number }) => Promise<Buffer>>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
};

/**
 * The one place a stored tile is decompressed (for clients that refuse its coding, and for layer
 * discovery), so both read the same codings the same way. On libuv's thread pool, never on the
 * event loop; rejects (RangeError) past `maxBytes` instead of growing without bound.
 */
export function decompressTile(data: Uint8Array, encoding: TileEncoding, maxBytes = MAX_DECODED_BYTES): Promise<Buffer> {
  return DECODERS[encoding](data, { maxOutputLength: maxBytes });
}
