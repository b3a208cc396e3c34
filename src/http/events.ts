import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { Logger } from '../log.ts';
import type { Registry, VersionChange } from '../source/registry.ts';
import { combinedVersion } from '../source/version.ts';
import { HttpError } from './errors.ts';
import { setCacheSubject } from './middleware.ts';

/** Default of --max-event-streams. */
export const DEFAULT_MAX_EVENT_STREAMS = 10_000;
/** Bytes written to one stream and not yet taken by its client; past this the client is dropped. */
export const MAX_UNSENT_EVENT_BYTES = 1024 * 1024;
/** Seconds a client refused for want of room should wait before connecting again. */
const FULL_RETRY_AFTER = 10;

/** What GET /api/tile-version answers, and what every `versions` event carries. */
export function versionDocument(registry: Registry): { version: string; tilesets: Record<string, string> } {
  const tilesets = registry.versions();
  return { version: combinedVersion(tilesets), tilesets };
}

export interface EventLimits {
  /** Open streams at most; one more gets 503. */
  maxStreams: number;
  /** Unsent bytes per stream at most (a client that does not read is dropped). */
  maxUnsentBytes: number;
}

interface Stream {
  body: PassThrough;
  res: ServerResponse;
  close: () => void;
}

/**
 * GET /api/tile-version/events: Server-Sent Events. On connect a `versions` event with every
 * current version; then one `versions` event per change, naming what changed; a `rejected` event
 * when a file is refused (`{id, reason, serving}`: the version still served, or null); a comment
 * line every `heartbeatMs` so proxies keep the connection open. Each event is serialised once
 * and written to every stream. Streams end on disconnect, on shutdown, or when their client
 * falls more than `maxUnsentBytes` behind; at most `maxStreams` are open.
 */
export class VersionEvents {
  readonly #streams = new Set<Stream>();
  readonly #topics = new Map<string, { current: () => unknown; present: () => boolean }>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly heartbeatMs: number,
    private readonly logger: Logger,
    private readonly limits: EventLimits = { maxStreams: DEFAULT_MAX_EVENT_STREAMS, maxUnsentBytes: MAX_UNSENT_EVENT_BYTES },
  ) {
    registry.onChange((change) => {
      if (this.#streams.size > 0) this.#broadcast(this.#versionsEvent(change));
    });
    registry.onRejection(({ id, reason, serving }) => {
      if (this.#streams.size > 0) {
        this.#broadcast(`event: rejected\ndata: ${JSON.stringify({ id, reason, serving: serving ?? null })}\n\n`);
      }
    });
  }

  /** Open streams, for metrics and tests. */
  get size(): number {
    return this.#streams.size;
  }

  handler() {
    return (ctx: Context): void => {
      if (this.#streams.size >= this.limits.maxStreams) {
        throw new HttpError(503, 'too many event streams are open; retry later', FULL_RETRY_AFTER);
      }
      const body = new PassThrough();
      setCacheSubject(ctx, { kind: 'events' });
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.set('X-Accel-Buffering', 'no'); // nginx: pass events through unbuffered
      ctx.type = 'text/event-stream; charset=utf-8';
      ctx.status = 200;
      ctx.body = body;
      const stream: Stream = {
        body,
        res: ctx.res,
        close: () => {
          if (!this.#streams.delete(stream)) return;
          body.end();
          if (this.#streams.size === 0) {
            clearInterval(this.#heartbeat);
            this.#heartbeat = undefined;
          }
        },
      };
      this.#streams.add(stream);
      this.#heartbeat ??= setInterval(() => this.#broadcast(': heartbeat\n\n'), this.heartbeatMs);
      const topics = [...this.#topics].flatMap(([name, topic]) => (topic.present() ? [this.#topicEvent(name)] : []));
      this.#write(stream, `retry: 3000\n\n${this.#versionsEvent()}${topics.join('')}`);
      ctx.req.once('close', stream.close);
      ctx.res.once('close', stream.close);
    };
  }

  /**
   * Another kind of event on the same stream (`resources`: font and sprite versions): sent on
   * connect while `present()` holds, and to every stream each time the returned function is called.
   */
  topic(name: string, current: () => unknown, present: () => boolean): () => void {
    this.#topics.set(name, { current, present });
    return () => {
      if (this.#streams.size > 0) this.#broadcast(this.#topicEvent(name));
    };
  }

  #topicEvent(name: string): string {
    return `event: ${name}\ndata: ${JSON.stringify(this.#topics.get(name)?.current())}\n\n`;
  }

  /** Ends every stream (shutdown), so the server can close. */
  closeAll(): void {
    for (const stream of [...this.#streams]) stream.close();
  }

  #versionsEvent(change?: VersionChange): string {
    // null, not undefined, so an added (no previous) or removed (no version) tileset says so in JSON.
    const changed = change && { id: change.id, version: change.version ?? null, previous: change.previous ?? null };
    const doc = { ...versionDocument(this.registry), ...(changed && { changed }) };
    return `event: versions\nid: ${doc.version}\ndata: ${JSON.stringify(doc)}\n\n`;
  }

  #broadcast(text: string): void {
    for (const stream of [...this.#streams]) this.#write(stream, text);
  }

  /** Writes to one stream; drops its client when what it has not taken passes the bound. */
  #write(stream: Stream, text: string): void {
    stream.body.write(text);
    const unsent = stream.body.writableLength + stream.body.readableLength + stream.res.writableLength;
    if (unsent <= this.limits.maxUnsentBytes) return;
    this.logger.info({ unsent, limit: this.limits.maxUnsentBytes }, 'event stream dropped: its client does not keep up');
    stream.close();
    stream.res.destroy();
  }
}
