import type { Context } from 'koa';
import type { Registry, TilesetEntry } from '../source/registry.ts';
import { HttpError } from './errors.ts';
import { LOADING_RETRY_AFTER } from './lookup.ts';

/**
 * GET /health: liveness, always 200 while the process answers, with each tileset's state so an
 * operator sees which file failed and why. `status` is `degraded` when any tileset failed, or
 * serves an older version because its newer file was rejected.
 */
export function healthHandler(registry: Registry, driver: string) {
  return function serveHealth(ctx: Context): void {
    const entries = registry.list();
    const failed = entries.some((e) => e.state === 'failed' || (e.state === 'ok' && e.rejected));
    ctx.body = {
      status: failed ? 'degraded' : registry.ready ? 'ok' : 'loading',
      ready: registry.ready,
      driver,
      tilesets: Object.fromEntries(entries.map((e) => [e.id, describeEntry(e)])),
    };
  };
}

function describeEntry(entry: TilesetEntry): Record<string, unknown> {
  switch (entry.state) {
    case 'loading':
      return { state: 'loading', ...(entry.progress && { progress: entry.progress }) };
    case 'ok':
      return {
        state: 'ok',
        version: entry.source.version,
        format: entry.source.format,
        loadedAt: entry.loadedAt.toISOString(),
        ...(entry.warnings.length > 0 && { warnings: entry.warnings }),
        ...(entry.rejected && { rejected: { reason: entry.rejected.reason, since: entry.rejected.since.toISOString() } }),
      };
    case 'failed':
      return { state: 'failed', reason: entry.reason, since: entry.since.toISOString() };
  }
}

/** GET /ready: 200 once the first scan has versioned every file; 503 with Retry-After before. */
export function readyHandler(registry: Registry) {
  return function serveReady(ctx: Context): void {
    if (!registry.ready) throw new HttpError(503, 'loading tilesets', LOADING_RETRY_AFTER);
    ctx.body = { ready: true };
  };
}
