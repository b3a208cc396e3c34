import type { Context } from 'koa';
import { requestedVersion } from './cache-policy.ts';
import { bodyEtag } from './etag.ts';
import { setCacheSubject } from './middleware.ts';
import { VERSION_HEADER } from './tile-answer.ts';

/**
 * Sends a discovery document (`no-cache, must-revalidate`) with an ETag over its body, and 304
 * with no body when the client's If-None-Match already names it.
 */
export function sendDiscovery(ctx: Context, body: unknown, type = 'application/json; charset=utf-8'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  setCacheSubject(ctx, { kind: 'discovery' });
  ctx.type = type;
  if (notModified(ctx, bodyEtag(text))) return;
  ctx.body = text;
}

/**
 * Sets the ETag of a 200 answer; when the client's If-None-Match already names it, turns the
 * answer into a 304 and returns true: the caller then sends no body (and decodes nothing).
 */
export function notModified(ctx: Context, etag: string): boolean {
  ctx.etag = etag;
  ctx.status = 200;
  if (!ctx.fresh) return false;
  ctx.status = 304;
  return true;
}

/**
 * Sends something generated under a version (the fonts', a sprite sheet's, a tileset's for its
 * hash manifests): `?v=` that version is immutable, anything else revalidates against `etag` (304
 * with no body when the client's If-None-Match already names it).
 */
export function sendVersioned(ctx: Context, version: string, type: string, etag: string, body: Uint8Array | string): void {
  setCacheSubject(ctx, { kind: 'asset', requested: requestedVersion(ctx.query.v), current: version });
  ctx.set(VERSION_HEADER, version);
  ctx.type = type;
  if (notModified(ctx, etag)) return;
  ctx.body = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
