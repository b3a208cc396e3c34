import process from 'node:process';
import type { Config } from '../config.ts';
import { type RunningHttp, startHttp } from '../http-server.ts';
import type { Logger } from '../log.ts';
import { loadMbtilesSource, type MbtilesSource } from '../source/mbtiles-source.ts';
import type { TilesetEntry } from '../source/registry.ts';
import { messageOf } from '../storage/mbtiles.ts';
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
    await applySync(http, opened, message.tilesets, driver, logger);
    if (message.ready && !http.registry.ready) http.registry.markReady();
    for (const resolve of [...synced]) resolve();
    synced.clear();
  });
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
): Promise<void> {
  const { registry } = http;
  const view = new Map(
    registry.list().map((entry) => {
      const version = entry.state === 'ok' ? entry.source.version : undefined;
      return [entry.id, { state: entry.state, version, file: opened.get(entry.id) }] as const;
    }),
  );
  for (const step of planSync(view, wanted)) await applyStep(http, opened, step, driver, logger);
}

async function applyStep(
  http: RunningHttp,
  opened: Map<string, FileKey>,
  step: SyncStep,
  driver: SqliteDriver,
  logger: Logger,
): Promise<void> {
  const { registry } = http;
  switch (step.do) {
    case 'remove':
      opened.delete(step.id);
      registry.remove(step.id);
      return;
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
        return;
      }
      if (current?.state === 'failed' && current.reason === tileset.reason) return;
      opened.delete(tileset.id);
      registry.set({
        state: 'failed',
        id: tileset.id,
        path: tileset.path,
        reason: tileset.reason,
        since: new Date(tileset.since),
      });
      return;
    }
    case 'update': {
      const current = registry.get(step.tileset.id);
      if (current?.state !== 'ok') return;
      const updated = withDecisions(current, step.tileset);
      if (updated !== current) registry.set(updated);
      return;
    }
    case 'open': {
      const { tileset } = step;
      let source: MbtilesSource;
      try {
        source = await loadMbtilesSource(driver, tileset.id, tileset.path, { from: 'known', version: tileset.version });
      } catch (error) {
        logger.warn({ tileset: tileset.id, path: tileset.path, reason: messageOf(error) }, 'worker could not open the file');
        return;
      }
      const got = source.fileState;
      if (got.ino !== tileset.file.ino || got.size !== tileset.file.size || got.mtimeMs !== tileset.file.mtimeMs) {
        // Replaced again since the primary digested it: not the file that has this version.
        source.close();
        logger.debug({ tileset: tileset.id, path: tileset.path }, 'file changed since it was versioned; waiting');
        return;
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
      return;
    }
  }
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
