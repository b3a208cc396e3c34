import { createHash } from 'node:crypto';

/** Hex digits of a SHA-256 kept as the version: 64 bits, ample to tell refreshes apart. */
export const VERSION_HEX_DIGITS = 16;

export interface DigestResult {
  version: string;
  /** Tiles digested; undefined when the version did not come from the tiles. */
  tiles: number | undefined;
  /** Bytes digested (tile bytes, or file bytes); 0 for a metadata version. */
  bytes: number;
  /**
   * Tiles in the version that lie off the z/x/y grid, so are never served; undefined when not
   * counted (`--version-from file` or `metadata`: nothing reads the rows then).
   */
  outsideGrid?: number;
  /** True when taken from the state file instead of digested now. */
  remembered?: boolean;
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
