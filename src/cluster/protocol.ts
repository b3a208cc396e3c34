import type { Skipped, TilesetEntry } from '../source/registry.ts';
import { type FileIdentity, sameIdentity } from '../source/snapshot.ts';

/**
 * The messages between the primary of `--workers N` and its workers (node:cluster IPC). The
 * primary watches the folder and validates and digests each file once; it sends every worker
 * the whole picture after each change (`sync`), and workers open their own read-only handles
 * on the very files the primary versioned.
 */

/** The file a version was derived from: a worker serves it under that version only if it opens the same. */
export type FileKey = FileIdentity;

/** One tileset as the primary sees it. Dates travel as ISO strings. */
export type TilesetSnapshot =
  | { state: 'loading'; id: string; path: string; progress?: Extract<TilesetEntry, { state: 'loading' }>['progress'] }
  | {
      state: 'ok';
      id: string;
      path: string;
      version: string;
      file: FileKey;
      loadedAt: string;
      warnings: readonly string[];
      outsideGrid?: number;
      rejected?: { reason: string; since: string };
    }
  | { state: 'failed'; id: string; path: string; reason: string; since: string }
  | { state: 'waiting'; id: string; path: string; reason: string; since: string };

/** A worker as /health lists it. */
export interface WorkerInfo {
  id: number;
  pid: number | undefined;
  startedAt: string;
  /** How many times a worker in this slot was restarted after a crash. */
  restarts: number;
}

export type PrimaryMessage =
  | {
      type: 'tilestamp:sync';
      ready: boolean;
      tilesets: TilesetSnapshot[];
      workers: WorkerInfo[];
      /** The data folder cannot be read (ISO date). */
      folder: { reason: string; since: string } | undefined;
      skipped: readonly Skipped[];
    }
  | { type: 'tilestamp:metrics-json'; request: number }
  | { type: 'tilestamp:metrics'; request: number; text: string }
  | { type: 'tilestamp:shutdown' };

export type WorkerMessage =
  | { type: 'tilestamp:hello' }
  | { type: 'tilestamp:recheck'; id: string }
  | { type: 'tilestamp:rescan'; reason: string }
  | { type: 'tilestamp:metrics-request'; request: number }
  | { type: 'tilestamp:metrics-json'; request: number; metrics: unknown };

/** Whether an IPC message is one of ours (cluster also carries its own and prom-client's). */
export function isTilestampMessage(message: unknown): message is { type: string } {
  return typeof (message as { type?: unknown })?.type === 'string' && (message as { type: string }).type.startsWith('tilestamp:');
}

/** A registry entry as it travels to the workers; `fileOf` gives the file an `ok` source was versioned from. */
export function snapshotOf(entry: TilesetEntry, fileOf: (id: string) => FileKey | undefined): TilesetSnapshot {
  switch (entry.state) {
    case 'loading':
      return { state: 'loading', id: entry.id, path: entry.path, ...(entry.progress && { progress: entry.progress }) };
    case 'failed':
    case 'waiting':
      return { state: entry.state, id: entry.id, path: entry.path, reason: entry.reason, since: entry.since.toISOString() };
    case 'ok': {
      const file = fileOf(entry.id);
      if (file === undefined) return { state: 'loading', id: entry.id, path: entry.path };
      return {
        state: 'ok',
        id: entry.id,
        path: entry.path,
        version: entry.source.version,
        file,
        loadedAt: entry.loadedAt.toISOString(),
        warnings: entry.warnings,
        ...(entry.outsideGrid !== undefined && { outsideGrid: entry.outsideGrid }),
        ...(entry.rejected && { rejected: { reason: entry.rejected.reason, since: entry.rejected.since.toISOString() } }),
      };
    }
  }
}

/** What a worker does about one tileset to match the primary. */
export type SyncStep =
  | { do: 'open'; tileset: Extract<TilesetSnapshot, { state: 'ok' }> }
  | { do: 'update'; tileset: Extract<TilesetSnapshot, { state: 'ok' }> }
  | { do: 'mark'; tileset: Exclude<TilesetSnapshot, { state: 'ok' }> }
  | { do: 'remove'; id: string };

/** What a worker serves now: each tileset's version and the file it opened. */
export type WorkerView = ReadonlyMap<string, { state: TilesetEntry['state']; version?: string; file?: FileKey }>;

/**
 * The steps that bring a worker from what it serves to what the primary decided, as a pure
 * function (tested as a table). A tileset the worker already serves from the same file under the
 * same version is only updated (warnings, a rejection); anything else is opened afresh.
 * Removals come last, so a rename (one id out, another in) never leaves a gap in between.
 */
export function planSync(current: WorkerView, wanted: readonly TilesetSnapshot[]): SyncStep[] {
  const steps: SyncStep[] = [];
  const seen = new Set<string>();
  for (const tileset of wanted) {
    seen.add(tileset.id);
    if (tileset.state !== 'ok') {
      steps.push({ do: 'mark', tileset });
      continue;
    }
    const now = current.get(tileset.id);
    const same = now?.state === 'ok' && now.version === tileset.version && sameIdentity(now.file, tileset.file);
    steps.push({ do: same ? 'update' : 'open', tileset });
  }
  for (const id of current.keys()) if (!seen.has(id)) steps.push({ do: 'remove', id });
  return steps;
}
