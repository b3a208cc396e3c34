import process from 'node:process';
import type { Config } from '../config.ts';
import { messageOf } from '../error-message.ts';
import { type RunningHttp, startHttp } from '../http-server.ts';
import type { Logger } from '../log.ts';
import { type MbtilesSource, openValidated } from '../source/mbtiles-source.ts';
import type { Registry, TilesetEntry } from '../source/registry.ts';
import { type FileIdentity, sameIdentity } from '../source/snapshot.ts';
import type { SqliteDriver } from '../storage/sqlite.ts';
import {
  isTilestampMessage,
  type PrimaryMessage,
  planSync,
  type ServedSnapshot,
  type SyncMessage,
  type SyncStep,
  type WorkerInfo,
  type WorkerMessage,
} from './protocol.ts';
import { syncQueue } from './sync-queue.ts';

/** How long a worker waits for the primary to gather every worker's metrics. */
const METRICS_TIMEOUT_MS = 5_000;

/**
 * A worker of `--workers N`: answers HTTP on the shared port and serves what the primary
 * decided. It never validates or digests: for each tileset the primary versioned, it opens the
 * same path read-only with the primary's findings (openValidated), checks that it got the very
 * file the primary digested (inode, size, mtime, ctime), and swaps it in under the primary's
 * version. A file that changed in between is not served under a version it does not have.
 *
 * A worker that cannot open what the primary serves (a lock; or, started after a crash, a path
 * that now holds a newer file the primary rejected while the others keep serving the older,
 * unlinked one) is not ready: /ready answers 503, /health says `degraded` and shows the
 * primary's view of those tilesets, and their tiles answer 503 + Retry-After from this worker.
 */
export async function runWorker(
  config: Config,
  logger: Logger,
  driver: SqliteDriver,
  /** Called when the primary says to shut down, with the signal the primary got. */
  onShutdown: (signal: string) => void,
): Promise<RunningHttp> {
  const send = (message: WorkerMessage) => process.send?.(message);
  let workers: WorkerInfo[] = [];
  const synced = new Set<() => void>();
  const metricRequests = new Map<number, (text: string) => void>();
  let nextRequest = 1;
  /** Tilesets the primary serves that this worker could not open: why, and the primary's view. */
  const behind = new Map<string, { reason: string; tileset: ServedSnapshot }>();
  const port = Number(process.env.TILESTAMP_WORKER_PORT ?? config.port);
  const notReady = () =>
    behind.size === 0 ? undefined : `this worker cannot open what the primary serves (${[...behind.keys()].join(', ')})`;
  const http = await startHttp({
    config: { ...config, port },
    logger,
    driver: driver.name,
    announce: false, // the primary says "listening" once, for every worker
    recheck: (id) =>
      new Promise<void>((resolve) => {
        synced.add(resolve);
        send({ type: 'tilestamp:recheck', id });
      }),
    cluster: {
      health: () => {
        const reason = notReady();
        return {
          worker: { id: workerSlot(), pid: process.pid },
          workers,
          ...(reason !== undefined && {
            status: 'degraded',
            reason,
            primary: { tilesets: Object.fromEntries([...behind].map(([id, b]) => [id, primaryView(b.tileset, b.reason)])) },
          }),
        };
      },
      notReady,
      metrics: () =>
        new Promise<string>((resolve, reject) => {
          const request = nextRequest++;
          const timer = setTimeout(() => {
            metricRequests.delete(request);
            reject(new Error('the primary did not gather the metrics in time'));
          }, METRICS_TIMEOUT_MS);
          metricRequests.set(request, (text) => {
            clearTimeout(timer);
            resolve(text);
          });
          send({ type: 'tilestamp:metrics-request', request });
        }),
    },
  });
  const opened = new Map<string, FileIdentity>();
  const apply = syncQueue(async (message: SyncMessage) => {
    workers = message.workers;
    const { folder } = message;
    const known = http.registry.folderProblem;
    if (folder?.reason !== known?.reason) http.registry.folderProblem = folder;
    http.registry.skipped = message.skipped;
    const complete = await applySync(http.registry, { opened, behind }, message, driver, logger);
    if (message.ready && !http.registry.ready) http.registry.markReady();
    for (const resolve of [...synced]) resolve();
    synced.clear();
    return complete;
  });
  process.on('message', (message: unknown) => {
    if (!isTilestampMessage(message)) return;
    const m = message as PrimaryMessage;
    if (m.type === 'tilestamp:sync') apply(m);
    else if (m.type === 'tilestamp:shutdown') onShutdown(m.signal);
    else if (m.type === 'tilestamp:metrics-text') metricRequests.get(m.request)?.(m.text);
    else if (m.type === 'tilestamp:own-metrics-request') {
      void http.app.metrics.prom
        .getMetricsAsJSON()
        .then((metrics) => send({ type: 'tilestamp:own-metrics', request: m.request, metrics }));
    }
  });
  send({ type: 'tilestamp:hello' });
  return http;
}

/** Which worker slot this is (1..N), as the primary numbered it. */
export function workerSlot(): number {
  return Number(process.env.TILESTAMP_WORKER_SLOT ?? 0);
}

/** What this worker keeps beside its registry: the file it opened per tileset, and what it could not open. */
interface WorkerState {
  opened: Map<string, FileIdentity>;
  behind: Map<string, { reason: string; tileset: ServedSnapshot }>;
}

/** Applies one sync; false when a file could not be opened (the sync queue tries again). */
async function applySync(
  registry: Registry,
  state: WorkerState,
  message: SyncMessage,
  driver: SqliteDriver,
  logger: Logger,
): Promise<boolean> {
  const view = new Map(
    registry.list().map((entry) => {
      const version = entry.state === 'ok' ? entry.source.version : undefined;
      return [entry.id, { state: entry.state, version, file: state.opened.get(entry.id) }] as const;
    }),
  );
  let complete = true;
  for (const step of planSync(view, message.tilesets)) {
    if (step.do !== 'open') state.behind.delete('id' in step ? step.id : step.tileset.id);
    complete = (await applyStep(registry, state, step, driver, logger)) && complete;
  }
  return complete;
}

/** One step of a sync; false when this worker could not do it now (tried again later). */
async function applyStep(
  registry: Registry,
  state: WorkerState,
  step: SyncStep,
  driver: SqliteDriver,
  logger: Logger,
): Promise<boolean> {
  switch (step.do) {
    case 'remove':
      state.opened.delete(step.id);
      registry.remove(step.id);
      return true;
    case 'mark': {
      const { tileset } = step;
      const current = registry.get(tileset.id);
      // `loading` (with the primary's digest progress), `failed` or `waiting`, as the primary has
      // it: the same answers (404, or 503 + Retry-After) and the same /health.
      // A wait that became too long changes no reason, but /health: it counts as a change too.
      const tooLong = (entry: { state: string; waiting?: { tooLong: boolean } } | undefined) =>
        entry?.state === 'waiting' ? entry.waiting?.tooLong : undefined;
      if (
        tileset.state !== 'loading' &&
        current?.state === tileset.state &&
        current.reason === tileset.reason &&
        tooLong(current) === tooLong(tileset)
      ) {
        return true;
      }
      state.opened.delete(tileset.id);
      registry.set(tileset);
      return true;
    }
    case 'update': {
      const current = registry.get(step.tileset.id);
      if (current?.state !== 'ok') return true;
      const updated = withDecisions(current, step.tileset);
      if (updated !== current) registry.set(updated);
      return true;
    }
    case 'open':
      return open(registry, state, step.tileset, driver, logger);
  }
}

/**
 * Opens the file the primary versioned, under its version, and serves it; false when this worker
 * cannot (a lock, a permission, a file replaced since): an older version it serves keeps
 * serving, a tileset it has nothing of waits (503 + Retry-After), and the worker is not ready.
 */
async function open(
  registry: Registry,
  state: WorkerState,
  tileset: ServedSnapshot,
  driver: SqliteDriver,
  logger: Logger,
): Promise<boolean> {
  const notYet = (reason: string) => {
    state.behind.set(tileset.id, { reason, tileset });
    if (registry.get(tileset.id)?.state !== 'ok') {
      registry.set({ state: 'waiting', id: tileset.id, path: tileset.path, reason, since: new Date() });
    }
    return false;
  };
  const { source: served } = tileset;
  let source: MbtilesSource;
  try {
    source = openValidated(driver, tileset.id, tileset.path, { ...served, warnings: tileset.warnings });
  } catch (error) {
    logger.warn(
      { tileset: tileset.id, path: tileset.path, reason: messageOf(error) },
      'worker could not open the file; retrying',
    );
    return notYet('this worker cannot open the file yet; retrying');
  }
  if (!sameIdentity(source.fileState, served.file)) {
    // Replaced since the primary digested it: not the file that has this version. Either the
    // primary's next decision follows, or (the newer file rejected) the served one is gone for
    // this worker, which only a newer good file ends.
    source.close();
    logger.warn(
      { tileset: tileset.id, path: tileset.path, version: served.version },
      'the file the primary serves is no longer at its path; this worker cannot serve it',
    );
    return notYet('the file the primary serves is no longer at its path (replaced since it was versioned)');
  }
  state.behind.delete(tileset.id);
  const { source: _served, ...rest } = tileset;
  registry.set({ ...rest, source });
  state.opened.set(tileset.id, served.file);
  return true;
}

/** The entry with the primary's warnings and rejection; the same object when nothing differs. */
function withDecisions(
  entry: Extract<TilesetEntry, { state: 'ok' }>,
  tileset: ServedSnapshot,
): Extract<TilesetEntry, { state: 'ok' }> {
  const { rejected, retry, warnings } = tileset;
  const sameRejection =
    rejected === undefined
      ? entry.rejected === undefined
      : entry.rejected?.reason === rejected.reason && entry.rejected.since.getTime() === rejected.since.getTime();
  const sameRetry = entry.retry?.reason === retry?.reason;
  const sameWarnings = entry.warnings.join('\n') === warnings.join('\n');
  if (sameRejection && sameRetry && sameWarnings) return entry;
  return { ...entry, warnings, rejected, retry };
}

/** A tileset as the primary's /health shows it, for a worker that cannot serve it. */
function primaryView(tileset: ServedSnapshot, reason: string): Record<string, unknown> {
  return {
    state: tileset.state,
    version: tileset.source.version,
    ...(tileset.rejected && { rejected: tileset.rejected }),
    thisWorker: { state: 'waiting', reason },
  };
}
