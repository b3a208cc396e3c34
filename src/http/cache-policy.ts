/** Seconds in a year: the lifetime of a versioned tile. */
export const IMMUTABLE_MAX_AGE = 31_536_000;

/** What kind of response is being cached, as far as the policy cares. */
export type CacheSubject =
  /** A tile (or its missing-tile answer) with the `v` the request carried, if any. */
  | { kind: 'tile'; requested: string | undefined; current: string }
  /** TileJSON, catalog, index, styles, /api/tile-version: small, and they change on refresh. */
  | { kind: 'discovery' }
  /** Liveness and readiness: always fresh. */
  | { kind: 'status' }
  /**
   * Something published with `v` = its current version, with the `v` the request carried, if any:
   * a static file (maplibre-gl, the client module; `v` a digest of its bytes), a glyph range or
   * sprite (the fonts' or sheets' version), a hash manifest (the tileset's). Immutable only for
   * the current one.
   */
  | { kind: 'asset'; requested: string | undefined; current: string }
  /** The Server-Sent Events stream. */
  | { kind: 'events' }
  /** Any 4xx or 5xx that is not a missing tile. */
  | { kind: 'error' };

/**
 * The rows of the tile policy table: which `Cache-Control` a tile answer (or its missing-tile
 * answer) takes. `current`: the request names the version served now, or the tile's current
 * content hash (immutable); `unversioned`: neither `v` nor `h` (`--max-age`); `other`: a stale,
 * future or garbage `v`, or an `h` that is not the tile's hash now (no-cache).
 */
export type TilePolicy = 'current' | 'unversioned' | 'other';

/** The tile policy rows, in the order of the table. */
export const TILE_POLICIES: readonly TilePolicy[] = ['current', 'unversioned', 'other'];

/**
 * What a tile request names and what is served now. The tile's own content hash is known here
 * (after the read), so a URL addressed by content hash (`?h=`, from a hash manifest) is judged
 * against the bytes themselves: when they are the bytes named, they can be kept forever whatever
 * the tileset's version. A URL is immutable only when everything it names is what is served: an
 * `h` that is not the current tile's hash (changed, removed, garbage, repeated) is `other`, and so
 * is a request whose `h` matches but whose `v` (when it carries one too) is not current.
 */
export function tilePolicy(
  requested: { v: string | undefined; h?: string | undefined },
  current: { version: string; hash?: string | undefined },
): TilePolicy {
  const { v, h } = requested;
  if (h !== undefined) {
    const hashMatches = current.hash !== undefined && versionMatches(h, current.hash);
    return hashMatches && (v === undefined || versionMatches(v, current.version)) ? 'current' : 'other';
  }
  if (v === undefined) return 'unversioned';
  return versionMatches(v, current.version) ? 'current' : 'other';
}

/** The `Cache-Control` of each tile policy row. */
export function tileCacheControl(policy: TilePolicy, maxAge: number): string {
  switch (policy) {
    case 'current':
      return `public, max-age=${IMMUTABLE_MAX_AGE}, immutable`;
    case 'unversioned':
      return `public, max-age=${maxAge}`;
    case 'other':
      return 'no-cache';
  }
}

/**
 * The caching policy (README, "Caching"), as one pure function. Only a request whose `v` equals
 * the current version may be kept forever: a stale, future or garbage `v` gets the current bytes
 * but `no-cache`, so a replica that has not loaded a new file never lets a cache keep old bytes
 * under a new URL.
 */
export function cacheControl(subject: CacheSubject, maxAge: number): string {
  switch (subject.kind) {
    case 'tile':
      return tileCacheControl(tilePolicy({ v: subject.requested }, { version: subject.current }), maxAge);
    case 'asset':
      // Pages link assets with their digest, styles glyphs and sprites and TileJSON manifests
      // with their version; any other URL revalidates (ETag) every time.
      return subject.requested !== undefined && versionMatches(subject.requested, subject.current)
        ? `public, max-age=${IMMUTABLE_MAX_AGE}, immutable`
        : 'no-cache';
    case 'discovery':
      return 'no-cache, must-revalidate';
    case 'events':
      return 'no-cache';
    case 'status':
    case 'error':
      return 'no-store';
  }
}

/** Exact match only: no prefixes, no case folding. */
export function versionMatches(requested: string, current: string): boolean {
  return requested === current;
}

/**
 * The `v` (or `h`) of a query: undefined when absent; a repeated one never matches (it becomes '').
 */
export function requestedVersion(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? '' : v;
}
