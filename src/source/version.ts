import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { TileRow } from '../storage/mbtiles.ts';

/** Hex digits of a SHA-256 kept as the version: 64 bits, ample to tell refreshes apart. */
export const VERSION_HEX_DIGITS = 16;

/** How long one synchronous slice of digesting may hold the event loop before it yields. */
const SLICE_MS = 10;

export interface DigestResult {
  version: string;
  /** Tiles digested; undefined when the version did not come from the tiles. */
  tiles: number | undefined;
  /** Bytes digested (tile bytes, or file bytes); 0 for a metadata version. */
  bytes: number;
}

/**
 * The content version of a tileset (README, "Versions"): SHA-256 over every tile in
 * (zoom_level, tile_column, tile_row) order, TMS rows as stored; for each tile a 16-byte header
 * of z, x, y as big-endian int32 (signed: GDAL writes rows such as -1 beyond the grid) and the
 * byte length as big-endian uint32, then the tile's bytes exactly as stored.
 * The first 16 hex digits are the version.
 *
 * Metadata, file path, mtime and SQLite page layout do not enter it, so identical tiles give the
 * identical version on every machine. Work is cut into slices of about 10 ms with a yield
 * between them, so requests keep being answered while a large file is digested.
 */
export async function digestTiles(tiles: Iterable<TileRow>): Promise<DigestResult> {
  const hash = createHash('sha256');
  const header = Buffer.alloc(16);
  let count = 0;
  let bytes = 0;
  let sliceEnd = performance.now() + SLICE_MS;
  for (const tile of tiles) {
    header.writeInt32BE(tile.z, 0);
    header.writeInt32BE(tile.x, 4);
    header.writeInt32BE(tile.y, 8);
    header.writeUInt32BE(tile.data.length, 12);
    hash.update(header);
    hash.update(tile.data);
    count += 1;
    bytes += tile.data.length;
    if ((count & 63) === 0 && performance.now() > sliceEnd) {
      await nextTurn();
      sliceEnd = performance.now() + SLICE_MS;
    }
  }
  return { version: hash.digest('hex').slice(0, VERSION_HEX_DIGITS), tiles: count, bytes };
}

/** The combined version of many tilesets: SHA-256 over the sorted `id=version` lines. */
export function combinedVersion(versions: Readonly<Record<string, string>>): string {
  const lines = Object.keys(versions)
    .sort()
    .map((id) => `${id}=${versions[id]}\n`)
    .join('');
  return createHash('sha256').update(lines).digest('hex').slice(0, VERSION_HEX_DIGITS);
}

/** Where a tileset's version comes from (`--version-from`). */
export type VersionFrom = 'content' | 'file' | 'metadata';

export const VERSION_SOURCES: readonly VersionFrom[] = ['content', 'file', 'metadata'];

export interface VersionOptions {
  from: VersionFrom;
  /** With `metadata`: the key read when the file has no `agg_tiles_hash`. */
  key: string | undefined;
}

export const DEFAULT_VERSIONING: VersionOptions = { from: 'content', key: undefined };

/**
 * `--version-from file`: SHA-256 over the raw file bytes, streamed in 1 MiB chunks (the event
 * loop turns between chunks, memory stays flat). Fastest, but only right for pipelines that
 * write files byte-reproducibly: tippecanoe does not.
 */
export async function digestFile(path: string): Promise<DigestResult> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { version: hash.digest('hex').slice(0, VERSION_HEX_DIGITS), tiles: undefined, bytes };
}

/** A version taken from metadata must be usable in a URL as it is. */
const URL_SAFE_VERSION = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * `--version-from metadata`: the file's `agg_tiles_hash` (martin's mbtiles tool writes it), else
 * the value of `key`. Nothing is read but the metadata, for files too big to digest at load.
 * Throws an Error saying what is missing or unusable.
 */
export function metadataVersion(values: Readonly<Record<string, string>>, key: string | undefined): string {
  const [name, value] =
    values.agg_tiles_hash !== undefined
      ? ['agg_tiles_hash', values.agg_tiles_hash]
      : key !== undefined
        ? [key, Object.hasOwn(values, key) ? values[key] : undefined]
        : ['agg_tiles_hash', undefined];
  if (value === undefined) {
    throw new Error(
      key === undefined ? 'no agg_tiles_hash in metadata (and no --version-key)' : `no agg_tiles_hash or ${key} in metadata`,
    );
  }
  const version = value.trim();
  if (!URL_SAFE_VERSION.test(version))
    throw new Error(`metadata ${name} ${JSON.stringify(value)} is not 1-128 of [A-Za-z0-9._-]`);
  return version;
}
