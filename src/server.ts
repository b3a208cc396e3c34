import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import { createApp } from './http/app.ts';
import type { VersionEvents } from './http/events.ts';
import type { Logger } from './log.ts';
import { progressReporter } from './source/progress.ts';
import { Registry } from './source/registry.ts';
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

/**
 * Starts listening at once (so /health answers while files are digested), then loads the data
 * folder in the background; /ready turns 200 when it is done. Then watches it for changes.
 */
export async function startServer(config: Config, logger: Logger, driver: SqliteDriver): Promise<RunningServer> {
  const info = await stat(config.dataDir).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`data folder ${config.dataDir} does not exist or is not a folder`);
  const registry = new Registry();
  // The reloader is made once the port is open; a request can only ask it to recheck after that.
  let reloader: Reloader | undefined;
  const recheck = async (id: string) => reloader?.recheck(id);
  const app = createApp({ registry, config, logger, driver: driver.name, recheck });
  const server = createServer(app.koa.callback());
  await listen(server, config.port, config.host);
  const { port } = server.address() as AddressInfo;
  const url = `http://${displayHost(config.host)}:${port}`;
  logger.info({ url, dataDir: config.dataDir }, 'listening');
  reloader = new Reloader({
    dataDir: config.dataDir,
    driver,
    registry,
    logger,
    versioning: config.versioning,
    settleMs: config.settleMs,
    onOutcome: (outcome) => app.metrics.reload(outcome),
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
    url,
    port,
    registry,
    events: app.events,
    loaded,
    rescan: (reason, full = false) => loaded.then(() => reloader.rescan(reason, { full })),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      app.events.closeAll();
      server.closeIdleConnections?.();
      await watcher?.close();
      await closed;
      await loaded;
      await reloader.stop();
      registry.closeAll();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function displayHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
