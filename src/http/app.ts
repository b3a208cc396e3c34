import Router from '@koa/router';
import Koa from 'koa';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Registry } from '../source/registry.ts';
import { catalogHandler, indexHandler } from './discovery-routes.ts';
import { errorMiddleware } from './errors.ts';
import { cacheMiddleware, corsMiddleware, requestLogMiddleware } from './middleware.ts';
import { healthHandler, readyHandler } from './status-routes.ts';
import { tilesHandler } from './tile-routes.ts';

export interface AppDeps {
  registry: Registry;
  config: Config;
  logger: Logger;
  /** Name of the SQLite driver in use, shown by /health. */
  driver: string;
}

/** The Koa application: middleware in the order they wrap each other, then the routes. */
export function createApp({ registry, config, logger, driver }: AppDeps): Koa {
  const app = new Koa();
  app.proxy = config.trustProxy;
  app.silent = true; // errors are logged by errorMiddleware, not by Koa's default printer
  const router = new Router();
  router.get('/', indexHandler(registry, config));
  router.get('/catalog.json', catalogHandler(registry, config));
  router.get('/tiles/*rest', tilesHandler(registry, config));
  router.get('/health', healthHandler(registry, driver));
  router.get('/ready', readyHandler(registry));
  app.use(requestLogMiddleware(logger));
  app.use(corsMiddleware(config.corsOrigin));
  app.use(cacheMiddleware(config.maxAge));
  app.use(errorMiddleware(logger));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
