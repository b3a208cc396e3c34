import { stat } from 'node:fs/promises';
import { type ScanResult, scanDataDir } from './discover.ts';

/** What a look at one file sees: enough to tell whether it changed since the last look. */
export interface FileState {
  path: string;
  size: number;
  mtimeMs: number;
  /**
   * Inode change time: moves on every write, rename and chmod, and no tool can set it back, so an
   * in-place rewrite that keeps the size and restores the mtime (`cp -p`, `touch -r`) still shows.
   */
  ctimeMs?: number;
  ino: number;
  /** A non-empty `-journal` or `-wal` lies beside it: a writer is not done. */
  busy: boolean;
  /** Which one, when busy: `-journal` (a hot journal when no writer is left) or `-wal`. */
  busyWith?: '-journal' | '-wal';
}

/** Every tileset file of the data folder at one moment, by id. */
export type Snapshot = ReadonlyMap<string, FileState>;

/** The part of a file's state that says whether its bytes may have changed: inode, size, mtime, ctime. */
export type FileIdentity = Pick<FileState, 'ino' | 'size' | 'mtimeMs' | 'ctimeMs'>;

/** Same inode, and by size, mtime and ctime not written since. */
export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs
  );
}

/**
 * How finely this runtime reports a file's ctime: Deno rounds file times down to whole seconds
 * (its node:fs and its own stat alike), Node gives nanoseconds.
 */
export const CTIME_RESOLUTION_MS = 'Deno' in globalThis ? 1000 : 0;

/**
 * True while a write could still leave the file's ctime as it is: its last change lies within
 * the ctime's resolution of `now` (a rewrite in the same second, with size and mtime put back,
 * would look like no change at all). Such a file is taken only once that moment has passed.
 */
export function ctimeMayRepeat(file: Pick<FileIdentity, 'ctimeMs'>, now: number, resolutionMs = CTIME_RESOLUTION_MS): boolean {
  return resolutionMs > 0 && file.ctimeMs !== undefined && now < file.ctimeMs + resolutionMs;
}

/** Same file, same bytes as far as the file system tells: path, inode, size, mtime and ctime. */
export function sameFile(a: FileState | undefined, b: FileState | undefined): boolean {
  return a !== undefined && b !== undefined && a.path === b.path && sameIdentity(a, b);
}

/** Looks at the data folder: every tileset file with its state; files that vanish meanwhile are left out. */
export async function takeSnapshot(dir: string): Promise<{ snapshot: Snapshot; skipped: ScanResult['skipped'] }> {
  const scan = await scanDataDir(dir);
  const snapshot = new Map<string, FileState>();
  for (const file of scan.files) {
    const state = await lookAt(file.path);
    if (state !== undefined) snapshot.set(file.id, state);
  }
  return { snapshot, skipped: scan.skipped };
}

/** One file's state now; undefined when it is gone. */
export async function lookAt(path: string): Promise<FileState | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return undefined;
  const suffixes = ['-journal', '-wal'] as const;
  const beside = await Promise.all(suffixes.map((suffix) => stat(path + suffix).catch(() => undefined)));
  // An empty -wal is what a reader of a WAL-mode file leaves; only content means a writer.
  const index = beside.findIndex((s) => s !== undefined && s.size > 0);
  const state: FileState = {
    path,
    size: info.size,
    mtimeMs: info.mtimeMs,
    ctimeMs: info.ctimeMs,
    ino: info.ino,
    busy: index >= 0,
  };
  if (index >= 0) state.busyWith = suffixes[index];
  return state;
}
