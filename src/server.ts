import { stat } from 'node:fs/promises';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { VersionEvents } from './http/events.ts';
import { startHttp } from './http-server.ts';
import type { Logger } from './log.ts';
import { progressReporter } from './source/progress.ts';
import type { Registry } from './source/registry.ts';
import { Reloader } from './source/reloader.ts';
import { VersionState } from './source/version-state.ts';
import { watchDataDir } from './source/watch.ts';
import type { SqliteDriver } from './storage/sqlite.ts';

/** Bursts of file events within this many ms make one rescan. */
const DEBOUNCE_MS = 100;

export interface RunningServer {
  /** http://host:port of the listening socket (loopback when bound to all interfaces). */
  url: string;
  port: number;
  registry: Registry;
  /** Open Server-Sent Events streams. */
  events: VersionEvents;
  /** Settles when the first scan has loaded and versioned every file. */
  loaded: Promise<void>;
  /** Looks at the data folder again now (`full`: re-checks every file, as SIGHUP does). */
  rescan(reason: string, full?: boolean): Promise<void>;
  /** Stops accepting, lets requests in flight finish, then closes every file. */
  close(): Promise<void>;
}

/** Fails with a sentence when the data folder is not there: nothing else can start then. */
export async function checkDataDir(dataDir: string): Promise<void> {
  const info = await stat(dataDir).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`data folder ${dataDir} does not exist or is not a folder`);
}

/** The registry, kept in step with the data folder: first scan, then watch, poll and rescans. */
export interface Reloading {
  loaded: Promise<void>;
  reloader: Reloader;
  stop(): Promise<void>;
}

/**
 * Loads the data folder into `registry` in the background (`loaded` settles when the first scan
 * is versioned), then watches it for changes.
 */
export async function startReloading(
  config: Config,
  logger: Logger,
  driver: SqliteDriver,
  registry: Registry,
  onOutcome?: ConstructorParameters<typeof Reloader>[0]['onOutcome'],
  clock?: Clock,
): Promise<Reloading> {
  const reloader = new Reloader({
    dataDir: config.dataDir,
    driver,
    registry,
    logger,
    versioning: config.versioning,
    settleMs: config.settleMs,
    clock,
    ...(onOutcome && { onOutcome }),
    load: {
      state: config.stateDir ? new VersionState(config.stateDir, logger) : undefined,
      onProgress: progressReporter(registry, logger),
    },
  });
  const loaded = reloader.start().catch((error: Error) => {
    // The folder vanished or became unreadable after start: say so; /ready stays 503.
    logger.error({ dataDir: config.dataDir, reason: error.message }, 'data folder cannot be scanned');
  });
  const watcher =
    config.watch || config.pollMs > 0
      ? watchDataDir(
          config.dataDir,
          (reason) => void loaded.then(() => reloader.rescan(reason)),
          { events: config.watch, pollMs: config.pollMs, debounceMs: DEBOUNCE_MS },
          logger,
        )
      : undefined;
  await watcher?.ready;
  return {
    loaded,
    reloader,
    async stop() {
      await watcher?.close();
      await reloader.stop(); // first: a start still waiting for an unreadable folder gives up
      await loaded;
    },
  };
}

/**
 * One process that does everything (`--workers 1`): starts listening at once (so /health answers
 * while files are digested), then loads the data folder in the background; /ready turns 200 when
 * it is done. Then watches it for changes.
 */
export async function startServer(
  config: Config,
  logger: Logger,
  driver: SqliteDriver,
  options: { clock?: Clock } = {},
): Promise<RunningServer> {
  await checkDataDir(config.dataDir);
  // The reloader is made once the port is open; a request can only ask it to recheck after that.
  let reloading: Reloading | undefined;
  const http = await startHttp({
    config,
    logger,
    driver: driver.name,
    recheck: async (id) => reloading?.reloader.recheck(id),
  });
  const { registry } = http;
  reloading = await startReloading(
    config,
    logger,
    driver,
    registry,
    (outcome) => http.app.metrics.reload(outcome),
    options.clock,
  );
  const { loaded, reloader } = reloading;
  return {
    url: http.url,
    port: http.port,
    registry,
    events: http.app.events,
    loaded,
    // Fonts and sprite sheets too: with --no-watch, SIGHUP is how they reload.
    rescan: (reason, full = false) =>
      loaded.then(() => Promise.all([reloader.rescan(reason, { full }), http.app.resources.rescan()])).then(() => undefined),
    async close() {
      const closed = http.close();
      // A digest in progress cannot be interrupted; it does not hold the shutdown past the deadline.
      await Promise.race([reloading?.stop(), deadline(config.shutdownTimeoutMs)]);
      await closed;
      registry.closeAll();
    },
  };
}

/** Resolves after `ms`, without keeping the process alive. */
export function deadline(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
