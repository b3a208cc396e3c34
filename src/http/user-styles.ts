import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Logger } from '../log.ts';
import { HttpError } from './errors.ts';

/** Larger user styles are refused rather than read into memory. */
export const MAX_STYLE_BYTES = 4 * 1024 * 1024;
/** Bytes of user-style text kept parsed in memory, at most; the least recently used go first. */
export const STYLE_CACHE_BYTES = 32 * 1024 * 1024;

/** What a user style file was when it was read: any write or replacement changes one of these. */
type Identity = string;

/** A parsed style, or why the file cannot be served (warned once per file identity). */
type Outcome = { style: Record<string, unknown> } | { unusable: string; detail?: string };

interface Cached {
  identity: Identity;
  outcome: Outcome;
  bytes: number;
}

/**
 * User styles from `data/styles/`, read, parsed and checked once per file identity (device,
 * inode, size, mtime) instead of on every request: an edit or a replacement shows at the next
 * request, an unchanged file costs one stat. Bounded by STYLE_CACHE_BYTES.
 */
export class UserStyles {
  readonly #cache = new Map<string, Cached>();
  #bytes = 0;

  constructor(private readonly logger: Logger) {}

  /** The parsed style at `path`; undefined when there is none; 404 (short reason) when it is unusable. */
  async read(path: string): Promise<Record<string, unknown> | undefined> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      // Non-blocking: a FIFO named like a style must not hold a thread until someone writes to it.
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      this.#forget(path);
      const code = (error as NodeJS.ErrnoException).code;
      // No such file, or a name no file can have: there is no user style of that name.
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'EISDIR') return undefined;
      throw this.#refuse(path, { unusable: 'unreadable' }, (error as Error).message);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) return undefined;
      const identity = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
      let cached = this.#cache.get(path);
      if (cached?.identity !== identity) {
        this.#forget(path);
        const outcome =
          info.size > MAX_STYLE_BYTES ? { unusable: `larger than ${MAX_STYLE_BYTES} bytes` } : parse(await handle.readFile());
        cached = { identity, outcome, bytes: 'style' in outcome ? info.size : 0 };
        if ('unusable' in outcome) {
          this.logger.warn({ path, reason: outcome.detail ?? outcome.unusable }, 'user style cannot be served');
        }
        this.#remember(path, cached);
      } else {
        // Most recently used last: Map order is the eviction order.
        this.#cache.delete(path);
        this.#cache.set(path, cached);
      }
      if ('unusable' in cached.outcome) throw this.#refuse(path, cached.outcome);
      return cached.outcome.style;
    } finally {
      await handle.close();
    }
  }

  #refuse(path: string, outcome: { unusable: string }, detail?: string): HttpError {
    if (detail !== undefined) this.logger.warn({ path, reason: detail }, 'user style cannot be served');
    // The client learns which style and roughly why, never where it lives or the system's words.
    return new HttpError(404, `style ${path.split('/').pop()} cannot be served: ${outcome.unusable} (see the server log)`);
  }

  #remember(path: string, entry: Cached): void {
    this.#cache.set(path, entry);
    this.#bytes += entry.bytes;
    for (const [oldest, old] of this.#cache) {
      if (this.#bytes <= STYLE_CACHE_BYTES) break;
      this.#cache.delete(oldest);
      this.#bytes -= old.bytes;
    }
  }

  #forget(path: string): void {
    const entry = this.#cache.get(path);
    if (entry === undefined) return;
    this.#cache.delete(path);
    this.#bytes -= entry.bytes;
  }
}

function parse(bytes: Buffer): Outcome {
  let style: unknown;
  try {
    style = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { unusable: 'not JSON', detail: `not JSON: ${(error as Error).message}` };
  }
  if (typeof style !== 'object' || style === null || Array.isArray(style)) return { unusable: 'not a JSON object' };
  return { style: style as Record<string, unknown> };
}
