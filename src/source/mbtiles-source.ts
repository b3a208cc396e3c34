import { close, fstatSync, openSync, statSync } from 'node:fs';
import { messageOf } from '../error-message.ts';
import { flipY } from '../storage/coords.ts';
import { MbtilesError, MbtilesFile, type TileRow } from '../storage/mbtiles.ts';
import type { Metadata } from '../storage/metadata.ts';
import { isWalDescriptor } from '../storage/read-only-wal.ts';
import type { SqliteDriver } from '../storage/sqlite.ts';
import {
  contentTypeOf,
  formatKind,
  imageWidth,
  normalizeFormat,
  sniffFormat,
  storedEncoding,
  type TileFormat,
} from '../storage/tile-format.ts';
import { type DigestPool, sharedDigestPool } from './digest-pool.ts';
import { DigestError } from './digest-protocol.ts';
import { CONTENT_FORMULA } from './digest-ranges.ts';
import { assertIntact, FileChangedError, readFailure } from './errors.ts';
import { discoverVectorLayers } from './layers.ts';
import { type DigestProgress, ProgressMeter } from './progress.ts';
import { ctimeMayRepeat, type FileState, sameIdentity } from './snapshot.ts';
import type { Tile, TileSource, TileSourceInfo } from './tile-source.ts';
import { DEFAULT_VERSIONING, type DigestResult, metadataVersion, VERSION_HEX_DIGITS, type VersionOptions } from './version.ts';
import { inodeKeyOf, type StateKey, sameKey, type VersionState } from './version-state.ts';

/** Names the `--version-from file` formula in the state file. */
const FILE_FORMULA = 'sha256-file-1';

/** What loading may use besides the file: where to digest, what to remember, whom to tell. */
export interface LoadOptions {
  /** Worker threads to digest on (default: the process's shared pool). */
  pool?: DigestPool;
  /** Versions remembered across restarts (`--state-dir`). */
  state?: VersionState;
  /** Called every `progressEveryMs` while a digest runs (so only for digests that long). */
  onProgress?: (progress: DigestProgress & { id: string; path: string }) => void;
  /** Default 2000. */
  progressEveryMs?: number;
  /**
   * Load a file even when it changed within the ctime's resolution (a second under Deno). A
   * server never does (such a file could be rewritten unseen while served: FileChangedError, and
   * it is looked at again); a one-off `tilestamp version` may.
   */
  acceptFreshCtime?: boolean;
}

const WORLD_BOUNDS: [number, number, number, number] = [-180, -85.051129, 180, 85.051129];
/** Tiles decoded per zoom level when a vector file's metadata lists no layers. */
const DISCOVERY_SAMPLE = 32;
/** Stored bytes of tiles decoded at most when a vector file's metadata lists no layers. */
const DISCOVERY_BYTES = 16 * 1024 * 1024;
/** Above this many tiles, a file without a tile index is refused: every read would scan it all. */
export const UNINDEXED_TILE_LIMIT = 10_000;

/** A file descriptor on the same inode SQLite reads, and what it looked like when versioned. */
interface Guard {
  fd: number;
  state: FileState;
  /** For a WAL-mode file, its `-wal` as it was when opened (walIdentity); undefined in other modes. */
  wal: string | undefined;
}

/**
 * A TileSource over one MBTiles file. It keeps a descriptor on the file it versioned: after
 * every read it checks (one fstat) that the inode's size, mtime and ctime are unchanged, so bytes
 * of a file being overwritten in place are never passed off as a tile of either version. A file
 * replaced by rename or deleted moves this inode's ctime too: from then on reads answer 503
 * (tiles already in the hot-tile cache keep being served) until the reload takes the new file.
 */
export class MbtilesSource implements TileSource {
  readonly #guard: Guard;
  #closed = false;

  constructor(
    readonly id: string,
    readonly format: TileFormat,
    readonly info: TileSourceInfo,
    readonly digest: DigestResult,
    /** Things worth a log line that did not stop the file from loading. */
    readonly warnings: readonly string[],
    readonly file: MbtilesFile,
    guard: Guard,
  ) {
    this.#guard = guard;
  }

  get version(): string {
    return this.digest.version;
  }

  /** The file as it was when versioned. */
  get fileState(): FileState {
    return this.#guard.state;
  }

  getTile(z: number, x: number, y: number): Tile | undefined {
    const yTms = flipY(z, y);
    let data: Buffer | undefined;
    try {
      data = this.file.getTile(z, x, yTms);
    } catch (error) {
      assertIntact(this);
      throw readFailure(this.id, error);
    }
    assertIntact(this);
    if (data === undefined) return undefined;
    // Raster files may mix PNG and JPEG (GDAL's PNG_JPEG), so each image says what it is.
    const raster = formatKind(this.format) === 'raster';
    const format = raster ? (sniffFormat(data)?.format ?? this.format) : this.format;
    return { data, contentType: contentTypeOf(format), encoding: raster ? undefined : storedEncoding(data) };
  }

  intact(): boolean {
    // Once closed, the descriptor number may already name another file: never fstat it.
    if (this.#closed) return false;
    // Whatever the link count: a rename over the file (or its deletion) moves its ctime exactly
    // as a rewrite that put the size and mtime back does, and the two cannot be told apart.
    if (!sameIdentity(this.#guard.state, fstatSync(this.#guard.fd))) return false;
    // A WAL-mode file takes a writer's commits into its -wal, which SQLite reads at once, while
    // the file itself stays untouched until a checkpoint: the -wal must be as it was too.
    return this.#guard.wal === undefined || walIdentity(this.#guard.state.path) === this.#guard.wal;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.file.close();
    releaseGuard(this.#guard.fd);
  }
}

/**
 * Closes a guard descriptor off the event loop. After a rename-replace it is often the last
 * descriptor of an unlinked file, and that close frees the whole inode in the kernel: measured
 * 341 ms for 1 GiB, a stall for every request, were it closed synchronously. SQLite's own
 * handle is closed first, so this one is the last. (Closing it drops this process's POSIX
 * locks on the inode, also those of a newer SQLite handle on the same inode, possibly during
 * one of its reads; harmless here: connections are read-only, and a writer that gets in
 * moves the mtime, which the check after every read catches.)
 */
function releaseGuard(fd: number): void {
  close(fd, () => {});
}

/**
 * Opens, validates and versions one file. Throws MbtilesError (the file is left closed) when it
 * is not an MBTiles file tilestamp can serve: not SQLite, no tables, no tile that reads, tiles
 * that are not what `format` says, or tiles SQLite cannot read back.
 */
export async function loadMbtilesSource(
  driver: SqliteDriver,
  id: string,
  path: string,
  versioning: VersionOptions = DEFAULT_VERSIONING,
  options: LoadOptions = {},
): Promise<MbtilesSource> {
  const { guard, file } = openGuarded(driver, path, options.acceptFreshCtime ?? false);
  try {
    const warnings = [...file.metadata.warnings];
    checkIndex(file, warnings);
    const first = readOrFail(() => file.firstTile());
    if (first === undefined) throw new MbtilesError('no tiles: the tiles table is empty');
    const format = decideFormat(file.metadata, first, warnings);
    const zooms = decideZooms(file, warnings);
    const info = describe(id, file.metadata, zooms);
    const tileSize = formatKind(format) === 'raster' ? imageWidth(first.data) : undefined;
    if (tileSize !== undefined) info.tileSize = tileSize;
    if (formatKind(format) === 'vector' && info.vectorLayers === undefined) {
      info.vectorLayers = await discoverVectorLayers(readOrFail(() => sampleTiles(file, zooms.minzoom, zooms.maxzoom)));
      warnings.push(`metadata lists no vector_layers; found ${info.vectorLayers.length} by decoding tiles`);
    }
    const { digest, key } = await deriveVersion(file, guard, versioning, id, options);
    if (digest.outsideGrid) warnings.push(outsideGridWarning(digest.outsideGrid, digest.tiles));
    const source = new MbtilesSource(id, format, info, digest, warnings, file, guard);
    if (!source.intact()) throw new FileChangedError('changed while being versioned');
    // Remembered only when the file's key still holds after the digest: what was digested is what the key names.
    if (key !== undefined && sameKey(key, { ...key, ...inodeKeyOf(fstatSync(guard.fd, { bigint: true })) })) {
      await options.state?.remember(key, digest);
    }
    return source;
  } catch (error) {
    // Whatever failed (a torn read, SQLITE_CORRUPT mid-digest), it says nothing about a file
    // that moved meanwhile: not complete yet, looked at again once it holds still.
    const moved = !(error instanceof FileChangedError) && !stillOpened(guard);
    file.close();
    releaseGuard(guard.fd);
    throw moved ? new FileChangedError(`changed while being read (${messageOf(error)})`, { cause: error }) : error;
  }
}

/** Whether the path still names the inode the guard holds, and that inode is as it was opened. */
function stillOpened(guard: Guard): boolean {
  let ino: number;
  try {
    ino = statSync(guard.state.path).ino;
  } catch {
    return false; // gone from the path
  }
  return ino === guard.state.ino && sameIdentity(guard.state, fstatSync(guard.fd));
}

/** What the primary of `--workers N` found out about a file: a worker takes it as it is. */
export interface Validated {
  version: string;
  format: TileFormat;
  info: TileSourceInfo;
  warnings: readonly string[];
}

/**
 * Opens a file another process (the primary of `--workers N`) has validated and versioned, with
 * what it found: nothing is validated, decoded or digested again. The caller checks that the
 * file it got (`fileState`) is the one that was validated. Throws as loadMbtilesSource does when
 * the file cannot be opened.
 */
export function openValidated(driver: SqliteDriver, id: string, path: string, validated: Validated): MbtilesSource {
  const { guard, file } = openGuarded(driver, path, false);
  const digest = { version: validated.version, tiles: undefined, bytes: 0 };
  return new MbtilesSource(id, validated.format, validated.info, digest, validated.warnings, file, guard);
}

/**
 * The guard descriptor and SQLite's handle, both on the same inode. Where ctimes come in whole
 * seconds (Deno), a file changed this very second could be rewritten unseen: unless
 * `acceptFreshCtime`, it is refused (FileChangedError) and looked at again once the second is over.
 */
function openGuarded(driver: SqliteDriver, path: string, acceptFreshCtime: boolean): { guard: Guard; file: MbtilesFile } {
  const guard = openGuard(path);
  try {
    if (!acceptFreshCtime && ctimeMayRepeat(guard.state, Date.now()))
      throw new FileChangedError('changed less than a second ago');
    // Commits in a -wal are tiles the file's own key (the state file's) does not cover: a writer
    // is not done; the file is taken once they are checkpointed into it.
    if (guard.wal) throw new FileChangedError('a -wal with content beside the file');
    const file = MbtilesFile.open(driver, path);
    // Were the file renamed over between the two opens, SQLite would read another inode.
    if (statSync(path).ino !== guard.state.ino) {
      file.close();
      throw new FileChangedError('replaced while being opened');
    }
    return { guard, file };
  } catch (error) {
    releaseGuard(guard.fd);
    throw error;
  }
}

function openGuard(path: string): Guard {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new MbtilesError(`cannot open: ${messageOf(error)}`, { cause: error });
  }
  const info = fstatSync(fd);
  return {
    fd,
    state: { path, size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, ino: info.ino, busy: false },
    wal: isWalDescriptor(fd) ? walIdentity(path) : undefined,
  };
}

/**
 * A `-wal` beside `path` as one string: '' when there is none or it is empty (nothing in it a
 * reader would take), else its inode, size and mtime (a commit appends to it).
 */
function walIdentity(path: string): string {
  try {
    const info = statSync(`${path}-wal`, { throwIfNoEntry: false });
    // Not the ctime: SQLite running as root chowns the -wal when it opens it, a reader too.
    return info === undefined || info.size === 0 ? '' : `${info.ino}:${info.size}:${info.mtimeMs}`;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code === 'ENOENT' ? '' : `unknown (${code})`;
  }
}

function checkIndex(file: MbtilesFile, warnings: string[]): void {
  if (file.indexed) return;
  if (readOrFail(() => file.countTiles(UNINDEXED_TILE_LIMIT + 1)) > UNINDEXED_TILE_LIMIT) {
    throw new MbtilesError(
      `no index on (zoom_level, tile_column, tile_row) and over ${UNINDEXED_TILE_LIMIT} tiles: every read would scan the table; ` +
        'add one: CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)',
    );
  }
  warnings.push('no index on (zoom_level, tile_column, tile_row): each tile read scans the table');
}

function decideFormat(metadata: Metadata, first: TileRow, warnings: string[]): TileFormat {
  const declared = normalizeFormat(metadata.format);
  if (metadata.format !== undefined && declared === undefined) {
    throw new MbtilesError(`metadata format ${JSON.stringify(metadata.format)} is not one of pbf, png, jpg, webp`);
  }
  const sniffed = sniffFormat(first.data)?.format;
  const where = `tile ${first.z}/${first.x}/${first.y} (TMS)`;
  if (declared === undefined) {
    if (sniffed === undefined) throw new MbtilesError(`no format in metadata and ${where} is no known tile format`);
    warnings.push(`metadata has no format; ${where} is ${sniffed}`);
    return sniffed;
  }
  if (formatKind(declared) === 'raster' && sniffed === undefined) {
    throw new MbtilesError(`metadata format is ${declared} but ${where} is not an image`);
  }
  if (sniffed !== undefined && formatKind(sniffed) !== formatKind(declared)) {
    throw new MbtilesError(`metadata format is ${declared} but ${where} is ${sniffed}`);
  }
  if (sniffed !== undefined && sniffed !== declared) {
    // The tiles are the truth; GDAL 3.6, for one, labels its WebP tiles `png`.
    warnings.push(`metadata format is ${declared} but ${where} is ${sniffed}; serving the tileset as ${sniffed}`);
    return sniffed;
  }
  return declared;
}

function decideZooms(file: MbtilesFile, warnings: string[]): { minzoom: number; maxzoom: number } {
  const { minzoom, maxzoom } = file.metadata;
  if (minzoom !== undefined && maxzoom !== undefined) return { minzoom, maxzoom };
  const stored = readOrFail(() => file.zoomRange()) as { minzoom: number; maxzoom: number };
  const zooms = { minzoom: minzoom ?? stored.minzoom, maxzoom: maxzoom ?? stored.maxzoom };
  if (zooms.minzoom <= zooms.maxzoom) return zooms;
  warnings.push(
    `metadata zoom ${minzoom ?? maxzoom} lies outside the stored zooms ${stored.minzoom}-${stored.maxzoom}; using those`,
  );
  return stored;
}

function describe(id: string, metadata: Metadata, zooms: { minzoom: number; maxzoom: number }): TileSourceInfo {
  const bounds = metadata.bounds ?? WORLD_BOUNDS;
  const [lon, lat] = metadata.center ?? [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2];
  const zoom = Math.min(Math.max(metadata.centerZoom ?? zooms.minzoom, zooms.minzoom), zooms.maxzoom);
  const info: TileSourceInfo = { name: metadata.name ?? id, ...zooms, bounds, center: [lon, lat, zoom] };
  if (metadata.description !== undefined) info.description = metadata.description;
  if (metadata.attribution !== undefined) info.attribution = metadata.attribution;
  if (metadata.vectorLayers !== undefined) info.vectorLayers = metadata.vectorLayers;
  if (metadata.tilestats !== undefined) info.tilestats = metadata.tilestats;
  return info;
}

/**
 * The tiles layer discovery decodes: DISCOVERY_SAMPLE per zoom, read up front (no statement stays
 * open while they are decoded), and no more than DISCOVERY_BYTES of stored bytes in all.
 */
function sampleTiles(file: MbtilesFile, minzoom: number, maxzoom: number): TileRow[] {
  const sample: TileRow[] = [];
  let bytes = 0;
  for (let z = minzoom; z <= maxzoom; z++) {
    for (const tile of file.tilesAtZoom(z, DISCOVERY_SAMPLE)) {
      bytes += tile.data.length;
      if (bytes > DISCOVERY_BYTES) return sample;
      sample.push(tile);
    }
  }
  return sample;
}

/**
 * The version per `--version-from` (README, "Versions"); a failure rejects the file. A version
 * remembered under the file's exact key is taken as it is; otherwise the file is digested on
 * the worker pool, and `key` says under what to remember the result.
 */
async function deriveVersion(
  file: MbtilesFile,
  guard: Guard,
  versioning: VersionOptions,
  id: string,
  options: LoadOptions,
): Promise<{ digest: DigestResult; key?: StateKey }> {
  const { from } = versioning;
  try {
    if (from === 'metadata') {
      return { digest: { version: metadataVersion(file.metadata.values, versioning.key), tiles: undefined, bytes: 0 } };
    }
    const stats = fstatSync(guard.fd, { bigint: true });
    const key: StateKey = { ...inodeKeyOf(stats), source: from, formula: from === 'content' ? CONTENT_FORMULA : FILE_FORMULA };
    const remembered = await options.state?.lookup(key);
    if (remembered !== undefined) return { digest: { ...remembered, remembered: true } };
    const pool = options.pool ?? sharedDigestPool();
    const meter = new ProgressMeter(Number(stats.size));
    const timer = options.onProgress
      ? setInterval(() => options.onProgress?.({ id, path: file.path, ...meter.read() }), options.progressEveryMs ?? 2000)
      : undefined;
    const onBytes = (bytes: number) => meter.add(bytes);
    try {
      const ino = Number(stats.ino);
      const result =
        from === 'content'
          ? await pool.digestContent(file.path, ino, onBytes)
          : { ...(await pool.digestFile(file.path, ino, onBytes)), tiles: undefined };
      const { tiles, bytes } = result;
      const outsideGrid = 'outsideGrid' in result ? { outsideGrid: result.outsideGrid } : {};
      return { digest: { version: result.digest.slice(0, VERSION_HEX_DIGITS), tiles, bytes, ...outsideGrid }, key };
    } finally {
      clearInterval(timer);
    }
  } catch (error) {
    if (error instanceof DigestError && error.kind === 'replaced') throw new FileChangedError(error.message, { cause: error });
    const what = from === 'content' ? 'tiles cannot be read' : `no ${from} version`;
    // The cause keeps the SQLite code: a lock met by the digest is retried, not a verdict.
    throw new MbtilesError(`${what}: ${messageOf(error)}`, { cause: error });
  }
}

function readOrFail<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw error instanceof MbtilesError ? error : new MbtilesError(`tiles cannot be read: ${messageOf(error)}`, { cause: error });
  }
}

/** The warning logged (and shown in /health) for a tileset with tiles no URL can ask for. */
function outsideGridWarning(outside: number, tiles: number | undefined): string {
  return (
    `${outside}${tiles === undefined ? '' : ` of ${tiles}`} tiles lie outside the z/x/y grid, where no URL can ask ` +
    'for them: they are never served, yet they count in the version (a change to them is a new version)'
  );
}
