import { backoff } from '../backoff.ts';
import type { MbtilesSource } from './mbtiles-source.ts';
import type { TilesetEntry } from './registry.ts';
import { type FileState, sameFile } from './snapshot.ts';
import type { TileSource } from './tile-source.ts';
import type { VersionOptions } from './version.ts';
import { WAITING_TOO_LONG_MS, waitingFor, waitingHint } from './waiting.ts';

/** What one reload decision did to one tileset; each is a log line and a metrics count. */
export type ReloadOutcome = 'added' | 'swapped' | 'unchanged' | 'removed' | 'rejected' | 'failed';

/** First wait after a transient failure (a lock, a permission, too many open files); doubles each time. */
export const RETRY_FIRST_MS = 1_000;
/** The longest wait between two attempts after transient failures. */
export const RETRY_MAX_MS = 60_000;

/** The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s, … up to 60 s. */
export function retryDelay(attempts: number): number {
  return backoff(attempts, RETRY_FIRST_MS, RETRY_MAX_MS);
}

/** A loaded source, with what the decision reads of it beyond the tile-source interface. */
export type LoadedSource = TileSource & Pick<MbtilesSource, 'digest' | 'warnings'>;

/**
 * What became of one candidate file after the settle wait and the load: the only I/O results the
 * decision needs, gathered by the reloader so that `decide` can stay pure.
 */
export type LoadResult =
  /** Gone between the two looks: the next pass removes it. */
  | { kind: 'gone' }
  /** A `-journal` or `-wal` with content beside it: a writer is at work (or left a hot journal). */
  | { kind: 'busy'; file: FileState }
  /** It moved between the two looks, or while it was read (`reason`): not complete yet. */
  | { kind: 'unsettled'; file: FileState; reason?: string }
  /** It could not be opened for now (a lock, a permission, too many open files): `cause` is the code. */
  | { kind: 'transient'; file: FileState; cause: string; detail: string }
  /** It is not a tileset we can serve. */
  | { kind: 'invalid'; file: FileState; reason: string }
  /** It opened, validated and was versioned in `ms`. */
  | { kind: 'loaded'; file: FileState; source: LoadedSource; ms: number };

/** What serves the tileset now: its registry entry, and whether a serving handle still reads the file it opened. */
export interface Current {
  entry: TilesetEntry | undefined;
  intact: boolean;
}

/** The moment of the decision: the reloader's clock (retries, waits) and the wall time shown by /health. */
export interface DecisionContext {
  now: number;
  date: Date;
  settleMs: number;
  versionFrom: VersionOptions['from'];
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

/** What to do, in this order: close the loaded source, change the registry, log, count, wake. */
export interface Decision {
  /** The loaded source is not taken (the served one stays). */
  discard?: true;
  /** The tileset's new registry entry; none leaves the registry as it is. */
  set?: TilesetEntry;
  /** The tileset leaves the registry. */
  remove?: true;
  logs: LogLine[];
  /** Counted in /metrics (and passed to `onOutcome`). */
  outcome?: ReloadOutcome;
  /** Clock time of a pass to run besides the retries entries carry. */
  retryAt?: number;
}

/**
 * The reload decision for one file, a pure function of what serves now and what its load gave:
 * - gone meanwhile, or moved while it settled or was read: nothing changes (what serves keeps
 *   serving, a new one stays loading), looked at again a settle time later;
 * - a writer beside it: a serving tileset keeps serving (its retry is set); anything else waits;
 * - a transient error: the same, with a retry after 1 s, 2 s, 4 s, … 60 s (warned on the first);
 * - invalid: a serving tileset stays, with the file `rejected`; anything else `failed`;
 * - the version that serves, from the same file (path, inode, size, times), its handle intact:
 *   `unchanged`, the loaded handle discarded (a SIGHUP, a retry, a rejected file put back);
 * - anything else: taken (`added`, `swapped`, or `unchanged` when only the file moved).
 * A wait that first lasts longer than WAITING_TOO_LONG_MS is warned about once.
 */
export function decide(id: string, current: Current, result: LoadResult, context: DecisionContext): Decision {
  const { entry } = current;
  switch (result.kind) {
    case 'gone':
      return { logs: [], retryAt: context.now + context.settleMs };
    case 'unsettled': {
      const fields = { tileset: id, path: result.file.path, ...(result.reason !== undefined && { reason: result.reason }) };
      return { logs: [{ level: 'debug', fields, message: 'file not complete yet' }], retryAt: context.now + context.settleMs };
    }
    case 'busy':
      return waitForWriter(id, entry, result.file, context);
    case 'transient':
      return putOff(id, entry, result, context);
    case 'invalid':
      return refuse(id, entry, result.file, result.reason, context);
    case 'loaded':
      return take(id, current, result, context);
  }
}

/** A tileset the folder no longer holds leaves the registry, whatever its state. */
export function decideRemoval(entry: TilesetEntry): Decision {
  const previous = entry.state === 'ok' ? entry.source.version : undefined;
  return {
    remove: true,
    logs: [{ level: 'info', fields: { tileset: entry.id, path: entry.path, previous }, message: 'tileset removed' }],
    outcome: 'removed',
  };
}

function waitForWriter(id: string, entry: TilesetEntry | undefined, file: FileState, context: DecisionContext): Decision {
  const reason = file.busyWith === '-wal' ? 'a -wal file with content beside the file' : 'hot journal beside the file';
  const retry = { at: context.now + context.settleMs, attempts: 0, reason };
  if (entry?.state === 'ok') {
    return {
      set: { ...entry, retry },
      logs: [{ level: 'debug', fields: { tileset: id, path: file.path, reason }, message: 'file not complete yet' }],
    };
  }
  // The wait goes on under the same reason; another reason starts it afresh.
  const known = entry?.state === 'waiting' && entry.reason === reason;
  const decision = wait(id, entry, file, { reason, retry, cause: file.busyWith ?? '-journal', keepSince: known }, context);
  if (!known)
    decision.logs.unshift({ level: 'warn', fields: { tileset: id, path: file.path, reason }, message: 'tileset waiting' });
  return decision;
}

function putOff(
  id: string,
  entry: TilesetEntry | undefined,
  result: Extract<LoadResult, { kind: 'transient' }>,
  context: DecisionContext,
): Decision {
  const { file, cause, detail } = result;
  const attempts = (entry?.retry?.attempts ?? 0) + 1;
  // /health shows the cause only (no internal path); the log line has the whole message.
  const reason = `cannot be opened for now (${cause})`;
  const retry = { at: context.now + retryDelay(attempts), attempts, reason };
  const logs: LogLine[] = [];
  if (attempts === 1)
    logs.push({
      level: 'warn',
      fields: { tileset: id, path: file.path, reason: detail },
      message: 'file cannot be read for now; retrying',
    });
  if (entry?.state === 'ok') return { set: { ...entry, file, retry }, logs };
  // However the cause changes, the tileset has been waiting since it first had to.
  const decision = wait(id, entry, file, { reason, retry, cause, keepSince: true }, context);
  return { ...decision, logs: [...logs, ...decision.logs] };
}

/** The `waiting` entry (its wait kept from before), warned about once when it first lasts too long. */
function wait(
  id: string,
  entry: TilesetEntry | undefined,
  file: FileState,
  why: { reason: string; retry: NonNullable<TilesetEntry['retry']>; cause: string; keepSince: boolean },
  context: DecisionContext,
): Decision {
  const { reason, retry } = why;
  const before = entry?.state === 'waiting' ? entry : undefined;
  const waiting = waitingFor(before?.waiting, context.now);
  const hint = waitingHint(why.cause);
  const logs: LogLine[] = [];
  if (waiting.tooLong && !before?.waiting?.tooLong) {
    logs.push({
      level: 'warn',
      fields: { tileset: id, path: file.path, reason, waitingMs: WAITING_TOO_LONG_MS },
      message: 'tileset waiting too long',
    });
  }
  return {
    set: {
      state: 'waiting',
      id,
      path: file.path,
      reason,
      since: why.keepSince && before ? before.since : context.date,
      file,
      retry,
      waiting,
      ...(hint && { hint }),
    },
    logs,
  };
}

function refuse(
  id: string,
  entry: TilesetEntry | undefined,
  file: FileState,
  reason: string,
  context: DecisionContext,
): Decision {
  // A served source keeps its place even when its file moved under it: its reads answer 503
  // (never its file's new bytes) until a good file is taken, and the tileset is not dropped.
  if (entry?.state === 'ok') {
    return {
      set: { ...entry, file, retry: undefined, rejected: { reason, since: context.date } },
      logs: [
        {
          level: 'warn',
          fields: { tileset: id, path: file.path, reason, serving: entry.source.version },
          message: 'newer file rejected',
        },
      ],
      outcome: 'rejected',
    };
  }
  return {
    set: { state: 'failed', id, path: file.path, reason, since: context.date, file },
    logs: [{ level: 'error', fields: { tileset: id, path: file.path, reason }, message: 'tileset failed to load' }],
    outcome: 'failed',
  };
}

function take(id: string, current: Current, result: Extract<LoadResult, { kind: 'loaded' }>, context: DecisionContext): Decision {
  const { file, source } = result;
  const serving = current.entry?.state === 'ok' ? current.entry : undefined;
  if (serving && serving.source.version === source.version && current.intact && sameFile(serving.served, file)) {
    // A touch, or the same file again: nothing changes.
    const settled = serving.rejected || serving.retry || !sameFile(serving.file, file);
    return {
      discard: true,
      ...(settled && { set: { ...serving, rejected: undefined, retry: undefined, file } }),
      logs: [{ level: 'debug', fields: { tileset: id, path: file.path, version: source.version }, message: 'tileset unchanged' }],
      outcome: 'unchanged',
    };
  }
  // Same version from another file state (rebuilt and renamed in, or a moved inode): a fresh
  // handle, no event for clients, the old inode released; counted and logged as `unchanged`.
  const outcome = serving === undefined ? 'added' : serving.source.version === source.version ? 'unchanged' : 'swapped';
  const { digest } = source;
  const logs: LogLine[] = source.warnings.map((warning) => ({
    level: 'warn',
    fields: { tileset: id, path: file.path },
    message: warning,
  }));
  logs.push({
    level: 'info',
    fields: {
      tileset: id,
      path: file.path,
      version: source.version,
      previous: serving?.source.version,
      versionFrom: context.versionFrom,
      format: source.format,
      tiles: digest.tiles,
      bytes: digest.bytes,
      remembered: digest.remembered,
      ms: result.ms,
    },
    message: { added: 'tileset loaded', swapped: 'tileset swapped', unchanged: 'tileset unchanged' }[outcome],
  });
  return {
    set: {
      state: 'ok',
      id,
      path: file.path,
      source,
      loadedAt: context.date,
      warnings: source.warnings,
      ...(digest.outsideGrid !== undefined && { outsideGrid: digest.outsideGrid }),
      served: file,
      file,
    },
    logs,
    outcome,
  };
}
