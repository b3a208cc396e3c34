import type { Context, Next } from 'koa';
import type { Logger } from '../log.ts';
import { type CacheSubject, cacheControl } from './cache-policy.ts';

/** The state handlers leave for the middleware around them. */
export interface TilestampState {
  /** What the response is, for the cache policy; unset means an error or status response. */
  cache?: CacheSubject;
}

/** Marks what the response is; cacheMiddleware turns it into `Cache-Control`. */
export function setCacheSubject(ctx: Context, subject: CacheSubject): void {
  (ctx.state as TilestampState).cache = subject;
}

/**
 * The only writer of `Cache-Control`: after the handler ran, it asks the pure policy. A response
 * that named no subject is an error (`no-store`) when it failed, and `no-store` status otherwise.
 */
export function cacheMiddleware(maxAge: number) {
  return async function applyCachePolicy(ctx: Context, next: Next): Promise<void> {
    await next();
    const declared = (ctx.state as TilestampState).cache;
    const subject: CacheSubject = declared ?? (ctx.status >= 400 ? { kind: 'error' } : { kind: 'status' });
    ctx.set('Cache-Control', cacheControl(subject, maxAge));
  };
}

/** Response headers pages may read: the validators and the served version (tilestamp.js uses it). */
export const EXPOSED_HEADERS = 'ETag, X-Tilestamp-Version';

export function corsMiddleware(origin: string) {
  return async function cors(ctx: Context, next: Next): Promise<void> {
    ctx.set('Access-Control-Allow-Origin', origin);
    ctx.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    if (origin !== '*') ctx.vary('Origin');
    await next();
  };
}

/** One debug line per request: method, path, status, duration. */
export function requestLogMiddleware(logger: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    try {
      await next();
    } finally {
      logger.debug(
        { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round((performance.now() - started) * 10) / 10 },
        'request',
      );
    }
  };
}
