import type { Context } from 'koa';
import type { Registry } from '../source/registry.ts';
import type { TileSource } from '../source/tile-source.ts';
import { type BaseUrlInput, baseUrl } from './base-url.ts';
import { HttpError } from './errors.ts';

/** Seconds a client should wait before asking again for a tileset that is still loading. */
export const LOADING_RETRY_AFTER = 2;

/** The serving source of an id: 404 when unknown or failed, 503 while it is still being loaded or waits. */
export function requireSource(registry: Registry, id: string): TileSource {
  const entry = registry.get(id);
  if (entry === undefined) throw new HttpError(404, `no tileset ${JSON.stringify(id)}`);
  if (entry.state === 'loading') throw new HttpError(503, `tileset ${id} is loading`, LOADING_RETRY_AFTER);
  if (entry.state === 'waiting') throw new HttpError(503, `tileset ${id} is waiting (see /health)`, LOADING_RETRY_AFTER);
  if (entry.state === 'failed') throw new HttpError(404, `tileset ${id} failed to load (see /health)`);
  return entry.source;
}

/** `{base}` for this request (see base-url.ts). */
export function requestBase(ctx: Context, settings: Pick<BaseUrlInput, 'publicUrl' | 'trustProxy'>): string {
  // HTTP/1.0 may send no Host: then the address the request came in on.
  const socket = ctx.req.socket;
  const local = socket.localAddress?.includes(':') ? `[${socket.localAddress}]` : socket.localAddress;
  return baseUrl({
    ...settings,
    protocol: ctx.protocol,
    host: ctx.host || `${local}:${socket.localPort}`,
    forwardedPrefix: ctx.get('X-Forwarded-Prefix') || undefined,
  });
}
