import type { Context, Next } from 'koa';
import { HttpError } from './errors.ts';

/** Every route is read-only: these methods are the only ones any URL answers. */
const ALLOWED = ['GET', 'HEAD', 'OPTIONS'];
const ALLOW_HEADER = ALLOWED.join(', ');

/**
 * Any other method (POST, PROPFIND, PURGE, TRACE, …) gets 405 with `Allow` and the JSON error:
 * a client's mistake, never the router's 501, which /metrics would count as a server fault.
 */
export function readOnlyMethods() {
  return function allowReadOnly(ctx: Context, next: Next): Promise<void> {
    if (ALLOWED.includes(ctx.method)) return next();
    ctx.set('Allow', ALLOW_HEADER);
    throw new HttpError(405, `method ${ctx.method} is not allowed; use ${ALLOW_HEADER}`);
  };
}
