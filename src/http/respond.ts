import type { Context } from 'koa';
import { bodyEtag } from './etag.ts';
import { setCacheSubject } from './middleware.ts';

/**
 * Sends a discovery document (`no-cache, must-revalidate`) with an ETag over its body, and 304
 * with no body when the client's If-None-Match already names it.
 */
export function sendDiscovery(ctx: Context, body: unknown, type = 'application/json; charset=utf-8'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  setCacheSubject(ctx, { kind: 'discovery' });
  ctx.type = type;
  ctx.etag = bodyEtag(text);
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.body = text;
}
