import { stat } from 'node:fs/promises';
import { scanDataDir } from './discover.ts';

/** What a look at one file sees: enough to tell whether it changed since the last look. */
export interface FileState {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  /** A non-empty `-journal` or `-wal` lies beside it: a writer is not done. */
  busy: boolean;
}

/** Every tileset file of the data folder at one moment, by id. */
export type Snapshot = ReadonlyMap<string, FileState>;

export interface SnapshotDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

/** Same file, same bytes as far as the file system tells: path, inode, size and mtime. */
export function sameFile(a: FileState | undefined, b: FileState | undefined): boolean {
  return (
    a !== undefined && b !== undefined && a.path === b.path && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs
  );
}

/**
 * What changed between two looks at the data folder, by id, each list sorted. A rename is a
 * removal of the old id plus an addition of the new one. Pure.
 */
export function diffSnapshots(previous: Snapshot, next: Snapshot): SnapshotDiff {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [id, state] of next) {
    const before = previous.get(id);
    if (before === undefined) added.push(id);
    else if (!sameFile(before, state)) changed.push(id);
  }
  for (const id of previous.keys()) if (!next.has(id)) removed.push(id);
  return { added: added.sort(), changed: changed.sort(), removed: removed.sort() };
}

/** Looks at the data folder: every tileset file with its state; files that vanish meanwhile are left out. */
export async function takeSnapshot(dir: string): Promise<{ snapshot: Snapshot; skipped: { path: string; reason: string }[] }> {
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
  const beside = await Promise.all(['-journal', '-wal'].map((suffix) => stat(path + suffix).catch(() => undefined)));
  // An empty -wal is what a reader of a WAL-mode file leaves; only content means a writer.
  const busy = beside.some((s) => s !== undefined && s.size > 0);
  return { path, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, busy };
}
