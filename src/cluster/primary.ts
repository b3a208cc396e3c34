import cluster, { type Worker } from 'node:cluster';
import { type AddressInfo, createServer } from 'node:net';
import process from 'node:process';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

import { backoff } from '../clock.ts';
import type { Config } from '../config.ts';
import { Metrics } from '../http/metrics.ts';
import type { Logger } from '../log.ts';
import { checkDataDir, deadline, type Reloading, startReloading } from '../server.ts';
import { MbtilesSource } from '../source/mbtiles-source.ts';
import { Registry } from '../source/registry.ts';
import type { SqliteDriver } from '../storage/sqlite.ts';
import {
  type FileKey,
  isTilestampMessage,
  type PrimaryMessage,
  snapshotOf,
  type WorkerInfo,
  type WorkerMessage,
} from './protocol.ts';

/** First wait before a crashed worker is started again; doubles per quick crash up to the cap. */
const RESTART_BACKOFF_MS = 1_000;
const RESTART_BACKOFF_CAP_MS = 30_000;
/** A worker that lived this long counts as healthy: its next crash starts the backoff over. */
const HEALTHY_LIFETIME_MS = 30_000;
/**
 * Workers in a row that exit before they ever listen, after which the server stops (exit 1): the
 * port is taken or not allowed. More than one, because Deno's cluster can lose a race for the
 * shared port at start-up.
 */
const FAILED_STARTS = 3;
/** How long the primary waits for each worker's metrics. */
const METRICS_TIMEOUT_MS = 3_000;

interface Slot {
  number: number;
  worker: Worker | undefined;
  startedAt: number;
  restarts: number;
  quickCrashes: number;
  /** Workers in a row in this slot that exited before they listened. */
  failedStarts: number;
}

export interface Primary {
  /** Resolves with the exit code once every worker has stopped after SIGTERM/SIGINT. */
  done: Promise<number>;
  /** Stops every worker (as SIGTERM does). */
  stop(signal: string): void;
  /** Re-checks every file (as SIGHUP does); workers follow what changed. */
  rescan(reason: string): void;
}

/**
 * The primary of `--workers N` (node:cluster, one port): it serves no request itself. It
 * watches the data folder, validates and digests each file once, and tells every worker what
 * to serve after each change (protocol.ts). It restarts a crashed worker with backoff, answers
 * the workers' requests (re-check a file written in place, rescan on SIGHUP, gather metrics),
 * and on SIGTERM stops the workers, which finish their requests in flight.
 */
export async function runPrimary(config: Config, logger: Logger, driver: SqliteDriver): Promise<Primary> {
  await checkDataDir(config.dataDir);
  const registry = new Registry(); // no cache: the primary serves no tile
  const metrics = new Metrics(registry, () => 0);
  const slots: Slot[] = [];
  let stopping = false;
  let failed = false;
  let reloading: Reloading | undefined;

  const workersInfo = (): WorkerInfo[] =>
    slots.map((slot) => ({
      id: slot.number,
      pid: slot.worker?.process.pid,
      startedAt: new Date(slot.startedAt).toISOString(),
      restarts: slot.restarts,
    }));
  const fileOf = (id: string): FileKey | undefined => {
    const entry = registry.get(id);
    if (entry?.state !== 'ok' || !(entry.source instanceof MbtilesSource)) return undefined;
    const { ino, size, mtimeMs, ctimeMs } = entry.source.fileState;
    return { ino, size, mtimeMs, ctimeMs };
  };
  const syncMessage = (): PrimaryMessage => ({
    type: 'tilestamp:sync',
    ready: registry.ready,
    tilesets: registry.list().map((entry) => snapshotOf(entry, fileOf)),
    workers: workersInfo(),
    folder: registry.folderProblem && {
      reason: registry.folderProblem.reason,
      since: registry.folderProblem.since.toISOString(),
    },
    skipped: registry.skipped,
  });
  const sendTo = (worker: Worker | undefined, message: PrimaryMessage) => {
    if (worker?.isConnected()) worker.send(message);
  };
  let broadcastQueued = false;
  const broadcast = () => {
    if (broadcastQueued) return;
    broadcastQueued = true;
    queueMicrotask(() => {
      broadcastQueued = false;
      const message = syncMessage();
      for (const slot of slots) sendTo(slot.worker, message);
    });
  };
  registry.onUpdate(broadcast);

  const gatherMetrics = gatherer(slots, logger);
  const rescan = (reason: string) => {
    logger.info({ reason }, 'rescanning every file');
    void reloading?.loaded.then(() => reloading?.reloader.rescan(reason, { full: true }));
  };
  const onMessage = (worker: Worker, message: unknown) => {
    if (!isTilestampMessage(message)) return;
    const m = message as WorkerMessage;
    switch (m.type) {
      case 'tilestamp:hello':
        return sendTo(worker, syncMessage());
      case 'tilestamp:recheck':
        // The re-check swaps handles when it succeeds (a broadcast); either way the asker hears back.
        return void Promise.resolve(reloading?.reloader.recheck(m.id)).then(() => sendTo(worker, syncMessage()));
      case 'tilestamp:rescan':
        return rescan(m.reason);
      case 'tilestamp:metrics-request':
        return void gatherMetrics(metrics.prom)
          .then(aggregateText)
          .then(
            (text) => sendTo(worker, { type: 'tilestamp:metrics', request: m.request, text }),
            (error: Error) => logger.warn({ reason: error.message }, 'metrics could not be gathered'),
          );
      case 'tilestamp:metrics-json':
        return gatherMetrics.answer(m.request, worker, m.metrics as MetricJson[]);
    }
  };

  // Every worker must listen on the same port: with --port 0, one is picked here. (Node's cluster
  // would share port 0 by itself; Deno's gives each worker a port of its own.)
  const port = config.port === 0 ? await freePort(config.host) : config.port;
  const fork = (slot: Slot) => {
    const worker = cluster.fork({ TILESTAMP_WORKER_SLOT: String(slot.number), TILESTAMP_WORKER_PORT: String(port) });
    slot.worker = worker;
    slot.startedAt = Date.now();
    worker.on('message', (message) => onMessage(worker, message));
    let listened = false;
    worker.once('listening', () => {
      listened = true;
      slot.failedStarts = 0;
    });
    worker.once('exit', (code, signal) => {
      if (slot.worker === worker) slot.worker = undefined;
      if (stopping) return;
      if (!listened && ++slot.failedStarts >= FAILED_STARTS) {
        // It never got the port (in use, not allowed), again and again: restarting cannot help.
        logger.error(
          { worker: slot.number, pid: worker.process.pid, code, signal },
          'worker exited before it could listen; stopping',
        );
        failed = true;
        stop('a worker could not start');
        return;
      }
      const lived = Date.now() - slot.startedAt;
      slot.quickCrashes = lived >= HEALTHY_LIFETIME_MS ? 1 : slot.quickCrashes + 1;
      const delay = backoff(slot.quickCrashes, RESTART_BACKOFF_MS, RESTART_BACKOFF_CAP_MS);
      logger.error(
        { worker: slot.number, pid: worker.process.pid, code, signal, restartInMs: delay },
        'worker exited; restarting it',
      );
      setTimeout(() => {
        if (stopping) return;
        slot.restarts += 1;
        fork(slot);
        broadcast();
      }, delay).unref();
    });
  };
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: slots.length }, 'shutting down: workers finish their requests in flight');
    const exits = slots.flatMap((slot) => {
      const worker = slot.worker;
      if (worker === undefined || worker.isDead()) return [];
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      sendTo(worker, { type: 'tilestamp:shutdown' });
      return [exited];
    });
    // Workers cut what is left at --shutdown-timeout themselves; this is the backstop.
    const backstop = setTimeout(() => {
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
    }, config.shutdownTimeoutMs + 2_000);
    void Promise.all(exits)
      .then(() => Promise.race([reloading?.stop(), deadline(config.shutdownTimeoutMs)]))
      .then(() => {
        clearTimeout(backstop);
        registry.closeAll();
        resolveDone(failed ? 1 : 0);
      });
  };
  for (let number = 1; number <= config.workers; number++) {
    const slot: Slot = { number, worker: undefined, startedAt: Date.now(), restarts: 0, quickCrashes: 0, failedStarts: 0 };
    slots.push(slot);
    fork(slot);
  }
  logger.info({ workers: config.workers, pid: process.pid }, 'primary started its workers');
  reloading = await startReloading(config, logger, driver, registry, (outcome) => metrics.reload(outcome));

  return { done, stop, rescan };
}

/** A port nothing listens on now, on `host`. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Prometheus text of the primary's and every worker's metrics together (primary first: see `aggregator: 'first'`). */
function aggregateText(all: MetricJson[][]): Promise<string> {
  return AggregatorRegistry.aggregate(all).metrics();
}

/**
 * Gathers every worker's metrics as JSON (a request id per round, answers matched by id), with
 * the primary's own first. A worker that does not answer in time is left out, not waited for.
 */
function gatherer(slots: readonly Slot[], logger: Logger) {
  let nextRequest = 1;
  const pending = new Map<number, { answers: Map<Worker, MetricJson[]>; expect: Set<Worker>; finish: () => void }>();
  const gather = async (own: { getMetricsAsJSON(): Promise<MetricJson[]> }): Promise<MetricJson[][]> => {
    const request = nextRequest++;
    const workers = slots.flatMap((slot) => (slot.worker?.isConnected() ? [slot.worker] : []));
    const answers = new Map<Worker, MetricJson[]>();
    const round = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        logger.warn({ missing: workers.length - answers.size }, 'metrics: some workers did not answer in time');
        resolve();
      }, METRICS_TIMEOUT_MS);
      pending.set(request, {
        answers,
        expect: new Set(workers),
        finish: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
    for (const worker of workers) worker.send({ type: 'tilestamp:metrics-json', request } satisfies PrimaryMessage);
    if (workers.length === 0) pending.get(request)?.finish();
    const mine = await own.getMetricsAsJSON();
    await round;
    pending.delete(request);
    return [mine, ...answers.values()];
  };
  gather.answer = (request: number, worker: Worker, metrics: MetricJson[]) => {
    const round = pending.get(request);
    if (round === undefined) return;
    round.answers.set(worker, metrics);
    round.expect.delete(worker);
    if (round.expect.size === 0) round.finish();
  };
  return gather;
}
