import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { Registry, VersionChange } from '../source/registry.ts';
import { combinedVersion } from '../source/version.ts';
import { setCacheSubject } from './middleware.ts';

/** What GET /api/tile-version answers, and what every `versions` event carries. */
export function versionDocument(registry: Registry): { version: string; tilesets: Record<string, string> } {
  const tilesets = registry.versions();
  return { version: combinedVersion(tilesets), tilesets };
}

/**
 * GET /api/tile-version/events: Server-Sent Events. On connect a `versions` event with every
 * current version; then one `versions` event per change, naming what changed; a `rejected` event
 * when a file is refused (`{id, reason, serving}`: the version still served, or null); a comment
 * line every `heartbeatMs` so proxies keep the connection open. Streams end on disconnect or
 * shutdown.
 */
export class VersionEvents {
  readonly #streams = new Set<() => void>();

  constructor(
    private readonly registry: Registry,
    private readonly heartbeatMs: number,
  ) {}

  /** Open streams, for metrics and tests. */
  get size(): number {
    return this.#streams.size;
  }

  handler() {
    return (ctx: Context): void => {
      const stream = new PassThrough();
      setCacheSubject(ctx, { kind: 'events' });
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.set('X-Accel-Buffering', 'no'); // nginx: pass events through unbuffered
      ctx.type = 'text/event-stream; charset=utf-8';
      ctx.status = 200;
      ctx.body = stream;
      const send = (change?: VersionChange) => {
        // null, not undefined, so an added (no previous) or removed (no version) tileset says so in JSON.
        const changed = change && { id: change.id, version: change.version ?? null, previous: change.previous ?? null };
        const doc = { ...versionDocument(this.registry), ...(changed && { changed }) };
        stream.write(`event: versions\nid: ${doc.version}\ndata: ${JSON.stringify(doc)}\n\n`);
      };
      stream.write('retry: 3000\n\n');
      send();
      const unsubscribe = this.registry.onChange(send);
      const unsubscribeRejections = this.registry.onRejection(({ id, reason, serving }) =>
        stream.write(`event: rejected\ndata: ${JSON.stringify({ id, reason, serving: serving ?? null })}\n\n`),
      );
      const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), this.heartbeatMs);
      const close = () => {
        if (!this.#streams.delete(close)) return;
        unsubscribe();
        unsubscribeRejections();
        clearInterval(heartbeat);
        stream.end();
      };
      this.#streams.add(close);
      ctx.req.once('close', close);
      ctx.res.once('close', close);
    };
  }

  /** Ends every stream (shutdown), so the server can close. */
  closeAll(): void {
    for (const close of [...this.#streams]) close();
  }
}
