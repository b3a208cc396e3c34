import type { Skipped, TilesetEntry } from '../source/registry.ts';
import { type FileIdentity, sameIdentity } from '../source/snapshot.ts';
import type { TileSourceInfo } from '../source/tile-source.ts';
import type { TileFormat } from '../storage/tile-format.ts';

/**
 * The messages between the primary of `--workers N` and its workers (node:cluster IPC, with the
 * `advanced` serialization: dates travel as dates). The primary watches the folder and validates
 * and digests each file once; it sends every worker the whole picture after each change (`sync`),
 * and workers open their own read-only handles on the very files the primary versioned, with what
 * the primary found out about them (format, zooms, layers): a worker validates nothing again.
 * A request and its reply always have different names.
 */

/** What a worker needs to serve a tileset as the primary validated it: no digest, no validation. */
export interface ServedFile {
  version: string;
  format: TileFormat;
  info: TileSourceInfo;
  /** The file the version was derived from: a worker serves it under that version only if it opens the same. */
  file: FileIdentity;
}

/**
 * One tileset as the primary's registry has it: the registry entry itself, with the open source
 * replaced by what a worker needs to open the same file (`ServedFile`), and without the
 * primary's own bookkeeping of files looked at (`file`, `served`).
 */
export type TilesetSnapshot = TilesetEntry extends infer Entry
  ? Entry extends { state: 'ok' }
    ? Omit<Entry, 'source' | 'file' | 'served'> & { source: ServedFile }
    : Omit<Entry, 'file'>
  : never;

export type ServedSnapshot = Extract<TilesetSnapshot, { state: 'ok' }>;

/** A worker as /health lists it. */
export interface WorkerInfo {
  id: number;
  pid: number | undefined;
  startedAt: string;
  /** How many times a worker in this slot was restarted after a crash. */
  restarts: number;
}

/** The primary's whole picture, sent after every change. */
export interface SyncMessage {
  type: 'tilestamp:sync';
  /** Counts up with every sync the primary sends: a worker applies only the newest (sync-queue.ts). */
  seq: number;
  ready: boolean;
  tilesets: TilesetSnapshot[];
  workers: WorkerInfo[];
  /** The data folder cannot be read. */
  folder: { reason: string; since: Date } | undefined;
  skipped: readonly Skipped[];
}

export type PrimaryMessage =
  | SyncMessage
  /** Asks a worker for its own metrics (answered by `own-metrics`). */
  | { type: 'tilestamp:own-metrics-request'; request: number }
  /** Answers a worker's `metrics-request`: every process's metrics, as Prometheus text. */
  | { type: 'tilestamp:metrics-text'; request: number; text: string }
  /** Stop as this signal, sent to the primary, asks. */
  | { type: 'tilestamp:shutdown'; signal: string };

export type WorkerMessage =
  | { type: 'tilestamp:hello' }
  | { type: 'tilestamp:recheck'; id: string }
  | { type: 'tilestamp:rescan'; reason: string }
  /** Asks the primary for every process's metrics (answered by `metrics-text`). */
  | { type: 'tilestamp:metrics-request'; request: number }
  /** Answers `own-metrics-request`: prom-client's JSON of this worker's metrics. */
  | { type: 'tilestamp:own-metrics'; request: number; metrics: unknown };

/** Whether an IPC message is one of ours (cluster also carries its own and prom-client's). */
export function isTilestampMessage(message: unknown): message is { type: string } {
  return typeof (message as { type?: unknown })?.type === 'string' && (message as { type: string }).type.startsWith('tilestamp:');
}

/**
 * A registry entry as it travels to the workers; `servedOf` gives what a worker needs to open an
 * `ok` tileset's file, undefined when it is not a file a worker can open (then: `loading`).
 */
export function snapshotOf(
  entry: TilesetEntry,
  servedOf: (entry: Extract<TilesetEntry, { state: 'ok' }>) => ServedFile | undefined,
): TilesetSnapshot {
  if (entry.state !== 'ok') {
    const { file: _file, ...rest } = entry;
    return rest;
  }
  const { file: _file, served: _served, source, ...rest } = entry;
  const served = servedOf(entry);
  if (served === undefined) return { state: 'loading', id: entry.id, path: entry.path };
  return { ...rest, source: served };
}

/** What a worker does about one tileset to match the primary. */
export type SyncStep =
  | { do: 'open'; tileset: ServedSnapshot }
  | { do: 'update'; tileset: ServedSnapshot }
  | { do: 'mark'; tileset: Exclude<TilesetSnapshot, { state: 'ok' }> }
  | { do: 'remove'; id: string };

/** What a worker serves now: each tileset's version and the file it opened. */
export type WorkerView = ReadonlyMap<string, { state: TilesetEntry['state']; version?: string; file?: FileIdentity }>;

/**
 * The steps that bring a worker from what it serves to what the primary decided, as a pure
 * function (tested as a table). A tileset the worker already serves from the same file under the
 * same version is only updated (warnings, a rejection); anything else is opened afresh.
 *
 * The order is the one every reload applies, in the single process as here: updates and
 * additions first, removals last, so a rename (one id out, another in) never leaves a moment
 * with neither.
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
    const same = now?.state === 'ok' && now.version === tileset.source.version && sameIdentity(now.file, tileset.source.file);
    steps.push({ do: same ? 'update' : 'open', tileset });
  }
  for (const id of current.keys()) if (!seen.has(id)) steps.push({ do: 'remove', id });
  return steps;
}
