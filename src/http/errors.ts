import type { Context, Next } from 'koa';
import type { Logger } from '../log.ts';

/**
 * An expected failure with the status it maps to. `expose` messages are shown to the client;
 * anything else becomes a bare 500 and a log line.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly expose = true;
  constructor(
    readonly status: number,
    message: string,
    /** Seconds, for 503: when a retry is worth it. */
    readonly retryAfter?: number,
    /** Set when an operator should hear of it: logged at `logLevel` with these fields. */
    readonly logFields?: Record<string, unknown>,
    readonly logLevel: 'warn' | 'error' = 'warn',
  ) {
    super(message);
  }
}

/**
 * The one place errors become responses: a JSON body `{"error": …}` (the cache policy then
 * makes it `no-store`), `Retry-After` on 503. Expected errors stay quiet in the log; others are
 * logged.
 */
export function errorMiddleware(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(404, 'not found');
    } catch (error) {
      const known = error instanceof HttpError ? error : fromKoa(error);
      if (known === undefined) logger.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      else if (known.logFields)
        logger[known.logLevel]({ ...known.logFields, status: known.status, path: ctx.path }, known.message);
      const status = known?.status ?? 500;
      ctx.status = status;
      ctx.remove('Content-Encoding');
      ctx.remove('ETag');
      ctx.remove('Vary');
      ctx.body = { error: known?.message ?? 'internal error' };
      if (known?.retryAfter !== undefined) ctx.set('Retry-After', String(known.retryAfter));
      // An error is never cached as what was asked for, whatever the handler had declared.
      ctx.state.cache = undefined;
    }
  };
}

/** Errors Koa and its helpers throw with `status` and `expose` (e.g. a malformed URL). */
function fromKoa(error: unknown): HttpError | undefined {
  const e = error as { status?: unknown; expose?: unknown; message?: unknown };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true) {
    return new HttpError(e.status, String(e.message));
  }
  return undefined;
}
