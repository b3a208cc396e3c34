import process from 'node:process';
import { backoff } from '../clock.ts';
import type { Config } from '../config.ts';
import { messageOf } from '../error-message.ts';
import { type RunningHttp, startHttp } from '../http-server.ts';
import type { Logger } from '../log.ts';
import { loadMbtilesSource, type MbtilesSource } from '../source/mbtiles-source.ts';
import type { TilesetEntry } from '../source/registry.ts';
import { sameIdentity } from '../source/snapshot.ts';
import type { SqliteDriver } from '../storage/sqlite.ts';
import {
  type FileKey,
  isTilestampMessage,
  type PrimaryMessage,
  planSync,
  type SyncStep,
  type TilesetSnapshot,
  type WorkerInfo,
  type WorkerMessage,
} from './protocol.ts';

/** How long a worker waits for the primary to gather every worker's metrics. */
const METRICS_TIMEOUT_MS = 5_000;
/** First wait before a file this worker could not open is tried again; doubles up to the cap. */
const RETRY_MS = 1_000;
const RETRY_CAP_MS = 30_000;

type SyncMessage = Extract<PrimaryMessage, { type: 'tilestamp:sync' }>;

/**
 * A worker of `--workers N`: answers HTTP on the shared port and serves what the primary
 * decided. It never digests: for each tileset the primary versioned, it opens the same path
 * read-only, checks that it got the very file the primary digested (inode, size, mtime), and
 * swaps it in under the primary's version. A file that changed in between is not served under a
 * version it does not have; the primary's next decision follows within the settle time.
 */
export async function runWorker(
  config: Config,
  logger: Logger,
  driver: SqliteDriver,
  /** Called when the primary says to shut down (as SIGTERM would). */
  onShutdown: () => void,
): Promise<RunningHttp> {
  const send = (message: WorkerMessage) => process.send?.(message);
  let workers: WorkerInfo[] = [];
  const synced = new Set<() => void>();
  const metricRequests = new Map<number, (text: string) => void>();
  let nextRequest = 1;
  const port = Number(process.env.TILESTAMP_WORKER_PORT ?? config.port);
  const http = await startHttp({
    config: { ...config, port },
    logger,
    driver: driver.name,
    recheck: (id) =>
      new Promise<void>((resolve) => {
        synced.add(resolve);
        send({ type: 'tilestamp:recheck', id });
      }),
    cluster: {
      health: () => ({ worker: { id: workerSlot(), pid: process.pid }, workers }),
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
  const opened = new Map<string, FileKey>();
  const apply = serialised(async (message: SyncMessage) => {
    workers = message.workers;
    const { folder } = message;
    const known = http.registry.folderProblem;
    if (folder?.reason !== known?.reason) {
      http.registry.folderProblem = folder && { reason: folder.reason, since: new Date(folder.since) };
    }
    http.registry.skipped = message.skipped;
    const complete = await applySync(http, opened, message.tilesets, driver, logger);
    if (message.ready && !http.registry.ready) http.registry.markReady();
    for (const resolve of [...synced]) resolve();
    synced.clear();
    // A file this worker could not open is tried again on its own (the primary, which opened it,
    // sees no change to announce): after 1 s, doubling to 30 s, until a sync goes through whole.
    clearTimeout(retry);
    if (complete) {
      failures = 0;
      return;
    }
    failures += 1;
    retry = setTimeout(() => apply(message), backoff(failures, RETRY_MS, RETRY_CAP_MS));
    retry.unref?.();
  });
  let retry: ReturnType<typeof setTimeout> | undefined;
  /** Syncs in a row that left a file unopened. */
  let failures = 0;
  process.on('message', (message: unknown) => {
    if (!isTilestampMessage(message)) return;
    const m = message as PrimaryMessage;
    if (m.type === 'tilestamp:sync') apply(m);
    else if (m.type === 'tilestamp:shutdown') onShutdown();
    else if (m.type === 'tilestamp:metrics') metricRequests.get(m.request)?.(m.text);
    else if (m.type === 'tilestamp:metrics-json') {
      void http.app.metrics.prom
        .getMetricsAsJSON()
        .then((metrics) => send({ type: 'tilestamp:metrics-json', request: m.request, metrics }));
    }
  });
  send({ type: 'tilestamp:hello' });
  return http;
}

/** Which worker slot this is (1..N), as the primary numbered it. */
export function workerSlot(): number {
  return Number(process.env.TILESTAMP_WORKER_SLOT ?? 0);
}

/** Runs `apply` for the newest message only, one at a time: a sync overtaken by a newer one is skipped. */
function serialised<T>(apply: (message: T) => Promise<void>): (message: T) => void {
  let running = false;
  let next: T | undefined;
  const run = async () => {
    running = true;
    while (next !== undefined) {
      const message = next;
      next = undefined;
      await apply(message);
    }
    running = false;
  };
  return (message) => {
    next = message;
    if (!running) void run();
  };
}

async function applySync(
  http: RunningHttp,
  opened: Map<string, FileKey>,
  wanted: readonly TilesetSnapshot[],
  driver: SqliteDriver,
  logger: Logger,
): Promise<boolean> {
  const { registry } = http;
  const view = new Map(
    registry.list().map((entry) => {
      const version = entry.state === 'ok' ? entry.source.version : undefined;
      return [entry.id, { state: entry.state, version, file: opened.get(entry.id) }] as const;
    }),
  );
  let complete = true;
  for (const step of planSync(view, wanted)) complete = (await applyStep(http, opened, step, driver, logger)) && complete;
  return complete;
}

/** One step of a sync; false when this worker could not do it now (tried again later). */
async function applyStep(
  http: RunningHttp,
  opened: Map<string, FileKey>,
  step: SyncStep,
  driver: SqliteDriver,
  logger: Logger,
): Promise<boolean> {
  const { registry } = http;
  switch (step.do) {
    case 'remove':
      opened.delete(step.id);
      registry.remove(step.id);
      return true;
    case 'mark': {
      const { tileset } = step;
      const current = registry.get(tileset.id);
      if (tileset.state === 'loading') {
        // The primary's digest progress shows on every worker's /health.
        registry.set({
          state: 'loading',
          id: tileset.id,
          path: tileset.path,
          ...(tileset.progress && { progress: tileset.progress }),
        });
        return true;
      }
      if (current?.state === tileset.state && current.reason === tileset.reason) return true;
      opened.delete(tileset.id);
      // `failed` or `waiting`, as the primary has it: same answers (404, or 503 + Retry-After).
      registry.set({
        state: tileset.state,
        id: tileset.id,
        path: tileset.path,
        reason: tileset.reason,
        since: new Date(tileset.since),
      });
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
      return open(registry, opened, step.tileset, driver, logger);
  }
}

/**
 * Opens the file the primary versioned, under its version, and serves it; false when this worker
 * cannot (a lock, a permission, a file replaced again since): an older version it serves keeps
 * serving, and a tileset it has nothing of waits (503 + Retry-After, shown in /health).
 */
async function open(
  registry: RunningHttp['registry'],
  opened: Map<string, FileKey>,
  tileset: Extract<TilesetSnapshot, { state: 'ok' }>,
  driver: SqliteDriver,
  logger: Logger,
): Promise<boolean> {
  const notYet = (reason: string) => {
    if (registry.get(tileset.id)?.state !== 'ok') {
      registry.set({ state: 'waiting', id: tileset.id, path: tileset.path, reason, since: new Date() });
    }
    return false;
  };
  let source: MbtilesSource;
  try {
    source = await loadMbtilesSource(driver, tileset.id, tileset.path, { from: 'known', version: tileset.version });
  } catch (error) {
    logger.warn(
      { tileset: tileset.id, path: tileset.path, reason: messageOf(error) },
      'worker could not open the file; retrying',
    );
    return notYet('this worker cannot open the file yet; retrying');
  }
  const got = source.fileState;
  if (!sameIdentity(got, tileset.file)) {
    // Replaced again since the primary digested it: not the file that has this version.
    source.close();
    logger.debug({ tileset: tileset.id, path: tileset.path }, 'file changed since it was versioned; waiting');
    return notYet('the file changed since it was versioned; waiting for the next decision');
  }
  const entry: TilesetEntry = {
    state: 'ok',
    id: tileset.id,
    path: tileset.path,
    source,
    loadedAt: new Date(tileset.loadedAt),
    warnings: tileset.warnings,
  };
  registry.set(withDecisions(entry, tileset));
  opened.set(tileset.id, tileset.file);
  return true;
}

/** The entry with the primary's warnings and rejection; the same object when nothing differs. */
function withDecisions(
  entry: Extract<TilesetEntry, { state: 'ok' }>,
  tileset: Extract<TilesetSnapshot, { state: 'ok' }>,
): Extract<TilesetEntry, { state: 'ok' }> {
  const rejected = tileset.rejected;
  const sameRejection =
    rejected === undefined
      ? entry.rejected === undefined
      : entry.rejected?.reason === rejected.reason && entry.rejected.since.toISOString() === rejected.since;
  const sameWarnings = entry.warnings.join('\n') === tileset.warnings.join('\n');
  if (sameRejection && sameWarnings) return entry;
  const { rejected: _old, ...rest } = entry;
  return {
    ...rest,
    warnings: tileset.warnings,
    ...(rejected && { rejected: { reason: rejected.reason, since: new Date(rejected.since) } }),
  };
}
