import type { IncomingMessage, ServerResponse } from 'node:http';
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import type { Config } from '../config.ts';
import { ResourceFolders } from '../fonts/resource-folders.ts';
import type { Logger } from '../log.ts';
import type { Registry } from '../source/registry.ts';
import type { TileCache } from '../source/tile-cache.ts';
import { ASSET_ROUTES, Assets } from './assets.ts';
import { compression } from './compression.ts';
import { catalogHandler, indexHandler } from './discovery-routes.ts';
import { errorMiddleware } from './errors.ts';
import { DEFAULT_MAX_EVENT_STREAMS, MAX_UNSENT_EVENT_BYTES, VersionEvents, versionDocument } from './events.ts';
import { DEFAULT_GLYPH_CACHE_MIB, fontListHandler, glyphsHandler } from './font-routes.ts';
import { GenerationGate } from './generation-gate.ts';
import { HashManifests, hashManifestHandler } from './hash-manifest-routes.ts';
import { readOnlyMethods } from './methods.ts';
import { Metrics } from './metrics.ts';
import { cacheMiddleware, corsMiddleware, requestLogMiddleware } from './middleware.ts';
import { sendDiscovery } from './respond.ts';
import { spritesHandler } from './sprite-routes.ts';
import { healthHandler, readyHandler } from './status-routes.ts';
import { styleResources } from './style-resources.ts';
import { stylesHandler } from './style-routes.ts';
import type { TileAnswers } from './tile-answer.ts';
import { fastTileHandler } from './tile-fast.ts';
import { type Recheck, tilesHandler } from './tile-routes.ts';
import { viewerHandler } from './viewer.ts';

export interface AppDeps {
  registry: Registry;
  /** The tile responder's prepared sources (the registry prepares each source it takes in). */
  answers: TileAnswers;
  config: Config;
  logger: Logger;
  /** Name of the SQLite driver in use, shown by /health. */
  driver: string;
  /** Looks again at once at a tileset whose file was written in place. */
  recheck?: Recheck;
  /** The hot-tile cache, for /metrics. */
  cache?: TileCache;
  /** Set in a worker of `--workers N`: what /health and /metrics add or answer for all workers. */
  cluster?: ClusterView;
}

/** A worker's view of the process group it belongs to (src/cluster/worker.ts). */
export interface ClusterView {
  /** Fields /health adds: this worker and the list of all of them. */
  health(): Record<string, unknown>;
  /** The Prometheus text of every process together (src/cluster/metrics-total.ts). */
  metrics(): Promise<string>;
  /** Why this worker is not ready although the primary is (it cannot serve what the others serve). */
  notReady(): string | undefined;
}

export interface App {
  koa: Koa;
  /** The request listener: the tile hot path first (tile-fast.ts), then Koa. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** The open Server-Sent Events streams; closed on shutdown. */
  events: VersionEvents;
  metrics: Metrics;
  /** The fonts and sprite sheets of `<data>/fonts/` and `<data>/sprites/`; closed on shutdown. */
  resources: ResourceFolders;
}

/**
 * The Koa application: middleware in the order they wrap each other, then the routes.
 * JSON and HTML are compressed for clients that accept it; tiles and the event stream never are.
 */
export function createApp({ registry, answers, config, logger, driver, recheck, cache, cluster }: AppDeps): App {
  const koa = new Koa();
  koa.proxy = config.trustProxy;
  koa.silent = true; // errors are logged by errorMiddleware, not by Koa's default printer
  const events = new VersionEvents(registry, config.sseHeartbeat * 1000, logger, {
    maxStreams: config.maxEventStreams ?? DEFAULT_MAX_EVENT_STREAMS,
    maxUnsentBytes: MAX_UNSENT_EVENT_BYTES,
  });
  const metrics = new Metrics(registry, () => events.size, cache);
  const compressed = compression();
  const compressJson = (ctx: Context, next: Next) => (ctx.path.endsWith('.json') ? compressed(ctx, next) : next());
  // Errors outside the error middleware are logged, not swallowed; a client that left while its
  // answer was streaming (an event stream, a compressed body) is not one.
  koa.on('error', (error: Error) => {
    if (clientLeft(error)) logger.debug({ reason: error.message }, 'client left before its answer was sent');
    else logger.error({ err: error.message }, 'unhandled error');
  });
  // Case-sensitive and strict: each resource has exactly one URL, so caches keep one copy.
  const router = new Router({ sensitive: true, strict: true });
  const resources = new ResourceFolders(config.dataDir, logger);
  const { fonts, sprites } = resources;
  const announce = events.topic(
    'resources',
    () => resources.versions(),
    () => resources.any(),
  );
  fonts.onChange(announce);
  sprites.onChange(announce);
  if (config.watch || config.pollMs > 0) resources.watch({ events: config.watch, pollMs: config.pollMs });
  router.get(
    '/',
    compressed,
    indexHandler(registry, config, () => fonts.names()),
  );
  router.get('/catalog.json', compressed, catalogHandler(registry, config));
  const manifests = hashManifestHandler(registry, new HashManifests());
  router.get('/tiles/*rest', compressJson, manifests, tilesHandler(registry, answers, config, recheck));
  router.get(
    '/styles/*rest',
    compressed,
    stylesHandler(registry, config, logger, (base) => styleResources(base, fonts, sprites)),
  );
  const assets = new Assets();
  router.get('/viewer/*rest', compressed, viewerHandler(registry, config, assets));
  for (const route of ASSET_ROUTES) router.get(route, assets.handler());
  const generations = new GenerationGate();
  const glyphs = glyphsHandler(fonts, config.glyphCacheBytes ?? DEFAULT_GLYPH_CACHE_MIB * 1024 * 1024, {
    gate: generations,
  });
  router.get('/fonts.json', compressed, fontListHandler(fonts));
  router.get('/fonts/*rest', compressed, glyphs);
  router.get('/font/*rest', compressed, glyphs);
  router.get('/sprites/*rest', compressed, spritesHandler(sprites, generations));
  router.get('/api/tile-version', compressed, (ctx) => sendDiscovery(ctx, versionDocument(registry)));
  router.get('/api/tile-version/events', events.handler());
  router.get(
    '/health',
    healthHandler(registry, driver, () => ({ ...resources.health(), ...cluster?.health() })),
  );
  router.get('/ready', readyHandler(registry, cluster?.notReady));
  router.get('/metrics', (ctx) => metrics.handler(ctx, cluster?.metrics));
  // Building a log object per request costs the hot path dearly: only at debug.
  const debug = config.logLevel === 'debug';
  if (debug) koa.use(requestLogMiddleware(logger));
  koa.use(metrics.middleware());
  koa.use(corsMiddleware(config.corsOrigin));
  koa.use(cacheMiddleware(config.maxAge));
  koa.use(errorMiddleware(logger));
  koa.use(readOnlyMethods());
  koa.use(router.routes());
  koa.use(router.allowedMethods());
  const fastTiles = fastTileHandler(registry, answers, (req, status, ms) => {
    metrics.tileAnswered(status, ms);
    if (debug)
      logger.debug({ method: req.method, path: req.url?.split('?')[0], status, ms: Math.round(ms * 10) / 10 }, 'request');
  });
  const koaListener = koa.callback();
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (!fastTiles(req, res)) void koaListener(req, res);
  };
  return { koa, listener, events, metrics, resources };
}

/** The errors a streamed answer ends with when its client goes away (Deno says `aborted`). */
function clientLeft(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ECONNABORTED' ||
    error.message === 'aborted'
  );
}
