import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import process from 'node:process';
import type { Config } from './config.ts';
import { type App, type AppDeps, createApp } from './http/app.ts';
import { installClientErrorHandler } from './http/client-errors.ts';
import { gracefulClose } from './http/shutdown.ts';
import { TileAnswers } from './http/tile-answer.ts';
import type { Logger } from './log.ts';
import { withCache } from './source/cached-source.ts';
import { Registry } from './source/registry.ts';
import { TileCache } from './source/tile-cache.ts';

export interface HttpOptions extends Omit<AppDeps, 'registry' | 'answers' | 'cache'> {
  config: Config;
  logger: Logger;
  /** Log "listening" (default); a worker of `--workers N` leaves that to its primary, which says it once. */
  announce?: boolean;
}

/** A listening HTTP server over a registry of its own, whose sources serve through the hot-tile cache. */
export interface RunningHttp {
  url: string;
  port: number;
  registry: Registry;
  app: App;
  server: Server;
  /**
   * Stops accepting, ends event streams, and resolves once the requests in flight are answered,
   * or once `--shutdown-timeout` has passed and whatever was left open is cut (http/shutdown.ts).
   */
  close(): Promise<void>;
}

/** Listens on the configured port with the Koa app; the registry it serves starts empty. */
export async function startHttp(options: HttpOptions): Promise<RunningHttp> {
  const { config, logger } = options;
  const cache = config.cacheBytes > 0 ? new TileCache(config.cacheBytes) : undefined;
  const answers = new TileAnswers(config);
  // Each source taken into service goes behind the cache, then has its answer headers built.
  const registry = new Registry((source) => answers.prepare(cache ? withCache(source, cache) : source));
  const app = createApp({ ...options, registry, answers, ...(cache && { cache }) });
  const server = createServer(app.listener);
  installClientErrorHandler(server);
  const shutdown = gracefulClose(server);
  await listen(server, config.port, config.host);
  const { port } = server.address() as AddressInfo;
  const url = `http://${displayHost(config.host)}:${port}`;
  if (options.announce ?? true) logger.info({ url, dataDir: config.dataDir }, 'listening');
  else logger.debug({ url, pid: process.pid }, 'worker listening');
  return {
    url,
    port,
    registry,
    app,
    server,
    close() {
      const closed = shutdown.close(config.shutdownTimeoutMs);
      app.events.closeAll();
      return Promise.all([closed, app.resources.close()]).then(() => undefined);
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

/** The host part of a URL to reach a server bound to `host` (loopback when bound to all interfaces). */
export function displayHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
