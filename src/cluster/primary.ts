import cluster, { type Worker } from 'node:cluster';
import { type AddressInfo, createServer } from 'node:net';
import process from 'node:process';
import { backoff } from '../backoff.ts';
import type { Config } from '../config.ts';
import { Metrics } from '../http/metrics.ts';
import { displayHost } from '../http-server.ts';
import type { Logger } from '../log.ts';
import { checkDataDir, deadline, type Reloading, startReloading } from '../server.ts';
import { MbtilesSource } from '../source/mbtiles-source.ts';
import { Registry } from '../source/registry.ts';
import type { SqliteDriver } from '../storage/sqlite.ts';
import { ClusterMetrics, type MetricJson } from './metrics-total.ts';
import {
  isTilestampMessage,
  type PrimaryMessage,
  type ServedFile,
  type SyncMessage,
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
  /** Stops every worker (they finish their requests in flight), then the watcher; resolves with the exit code. */
  stop(signal: string): Promise<number>;
  /** Re-checks every file (as SIGHUP does); workers follow what changed. */
  rescan(reason: string): void;
}

/**
 * The primary of `--workers N` (node:cluster, one port): it serves no request itself. It
 * watches the data folder, validates and digests each file once, and tells every worker what
 * to serve after each change (protocol.ts). It restarts a crashed worker with backoff, answers
 * the workers' requests (re-check a file written in place, rescan on SIGHUP, gather metrics),
 * and on stop tells the workers to stop, which finish their requests in flight.
 *
 * Connections are spread by the operating system (`SCHED_NONE`: every worker accepts on the
 * shared socket), not handed over by the primary (Node's round-robin default): a connection
 * handed to a worker that is killed at that moment is never answered, and the primary keeps its
 * descriptor forever. With the kernel's queue, a worker's death closes only the connections it
 * had accepted; the rest wait in the queue for the others.
 */
export async function runPrimary(
  config: Config,
  logger: Logger,
  driver: SqliteDriver,
  /** Called when the server cannot go on (its workers cannot get the port): stop it. */
  fail: (reason: string) => void,
): Promise<Primary> {
  await checkDataDir(config.dataDir);
  const registry = new Registry(); // no cache: the primary serves no tile
  const metrics = new Metrics(registry, () => 0);
  const slots: Slot[] = [];
  let stopping = false;
  let failed = false;
  let reloading: Reloading | undefined;
  let seq = 0;
  let announced = false;

  const workersInfo = (): WorkerInfo[] =>
    slots.map((slot) => ({
      id: slot.number,
      pid: slot.worker?.process.pid,
      startedAt: new Date(slot.startedAt).toISOString(),
      restarts: slot.restarts,
    }));
  const servedOf = (entry: { source: unknown; warnings: readonly string[] }): ServedFile | undefined => {
    if (!(entry.source instanceof MbtilesSource)) return undefined;
    const { source } = entry;
    const { ino, size, mtimeMs, ctimeMs } = source.fileState;
    return { version: source.version, format: source.format, info: source.info, file: { ino, size, mtimeMs, ctimeMs } };
  };
  const syncMessage = (): SyncMessage => ({
    type: 'tilestamp:sync',
    seq: ++seq,
    ready: registry.ready,
    tilesets: registry.list().map((entry) => snapshotOf(entry, servedOf)),
    workers: workersInfo(),
    folder: registry.folderProblem,
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

  const clusterMetrics = new ClusterMetrics(() => slots.flatMap((slot) => (slot.worker ? [slot.worker] : [])), logger);
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
        return void clusterMetrics.gather(metrics.prom).then(
          (text) => sendTo(worker, { type: 'tilestamp:metrics-text', request: m.request, text }),
          (error: Error) => logger.warn({ reason: error.message }, 'metrics could not be gathered'),
        );
      case 'tilestamp:own-metrics':
        return clusterMetrics.answer(m.request, worker, m.metrics as MetricJson[]);
    }
  };

  // Every worker must listen on the same port: with --port 0, one is picked here. (Node's cluster
  // would share port 0 by itself; Deno's gives each worker a port of its own.)
  const port = config.port === 0 ? await freePort(config.host) : config.port;
  cluster.schedulingPolicy = cluster.SCHED_NONE; // before setupPrimary, which freezes it
  cluster.setupPrimary({ serialization: 'advanced' });
  const fork = (slot: Slot) => {
    const worker = cluster.fork({ TILESTAMP_WORKER_SLOT: String(slot.number), TILESTAMP_WORKER_PORT: String(port) });
    slot.worker = worker;
    slot.startedAt = Date.now();
    worker.on('message', (message) => onMessage(worker, message));
    // A worker killed a moment ago can still look connected: a message sent to it then fails
    // later (EPIPE), as an 'error' event on the Worker, which without this listener crashed the
    // primary and with it every worker (every send: sendTo, the metrics rounds). The message is
    // lost with the worker; its exit restarts it, and the new one asks for the state (`hello`).
    worker.on('error', (error: Error) =>
      logger.debug(
        { worker: slot.number, pid: worker.process.pid, reason: error.message },
        'message to a worker lost: it is gone',
      ),
    );
    let listened = false;
    worker.once('listening', (address) => {
      listened = true;
      slot.failedStarts = 0;
      if (announced) return;
      announced = true;
      // Said once for all workers, as the single process says it (the workers only at debug).
      const url = `http://${displayHost(config.host)}:${address.port}`;
      logger.info({ url, dataDir: config.dataDir, workers: config.workers }, 'listening');
    });
    worker.once('exit', (code, signal) => {
      clusterMetrics.retire(worker);
      if (slot.worker === worker) slot.worker = undefined;
      if (stopping) return;
      if (!listened && ++slot.failedStarts >= FAILED_STARTS) {
        // It never got the port (in use, not allowed), again and again: restarting cannot help.
        logger.error(
          { worker: slot.number, pid: worker.process.pid, code, signal },
          'worker exited before it could listen; stopping',
        );
        failed = true;
        fail('a worker could not start');
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
  const stop = async (signal: string): Promise<number> => {
    stopping = true;
    const exits = slots.flatMap((slot) => {
      const worker = slot.worker;
      if (worker === undefined || worker.isDead()) return [];
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      sendTo(worker, { type: 'tilestamp:shutdown', signal });
      return [exited];
    });
    // Workers cut what is left at --shutdown-timeout themselves; this is the backstop.
    const backstop = setTimeout(() => {
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
    }, config.shutdownTimeoutMs + 1_000);
    await Promise.all(exits);
    await Promise.race([reloading?.stop(), deadline(config.shutdownTimeoutMs)]);
    clearTimeout(backstop);
    registry.closeAll();
    return failed ? 1 : 0;
  };
  for (let number = 1; number <= config.workers; number++) {
    const slot: Slot = { number, worker: undefined, startedAt: Date.now(), restarts: 0, quickCrashes: 0, failedStarts: 0 };
    slots.push(slot);
    fork(slot);
  }
  logger.info({ workers: config.workers, pid: process.pid }, 'primary started its workers');
  reloading = await startReloading(config, logger, driver, registry, (outcome) => metrics.reload(outcome));

  return { stop, rescan };
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
