import type { Context, Next } from 'koa';
import type { Logger } from '../log.ts';
import { cacheControl } from './cache-policy.ts';

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

/** An error answer, whoever sends it: Koa (errorMiddleware), or a raw socket (client-errors.ts). */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The one shape of every error answer: a JSON body `{"error": …}`, `Cache-Control: no-store`
 * (the policy's error row), and `Retry-After` when a retry is worth it (503).
 */
export function errorAnswer(status: number, message: string, retryAfter?: number): ErrorAnswer {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': cacheControl({ kind: 'error' }, 0),
  };
  if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter);
  return { status, headers, body: JSON.stringify({ error: message }) };
}

/**
 * The one place errors become responses (errorAnswer). Expected errors stay quiet in the log;
 * others are logged and answered as a bare 500.
 */
export function errorMiddleware(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      // (A tile answer is written straight to the socket: `respond` false, nothing left to do.)
      if (ctx.status === 404 && ctx.body === undefined && ctx.respond !== false) throw new HttpError(404, 'not found');
    } catch (error) {
      const known = error instanceof HttpError ? error : fromKoa(error);
      if (known === undefined) logger.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      else if (known.logFields)
        logger[known.logLevel]({ ...known.logFields, status: known.status, path: ctx.path }, known.message);
      const answer = errorAnswer(known?.status ?? 500, known?.message ?? 'internal error', known?.retryAfter);
      ctx.status = answer.status;
      ctx.remove('Content-Encoding');
      ctx.remove('ETag');
      ctx.remove('Vary');
      ctx.set(answer.headers);
      ctx.body = answer.body;
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
