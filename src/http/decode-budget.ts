import type { ServerResponse } from 'node:http';
import { decompressTile, MAX_DECODED_BYTES } from '../storage/decompress.ts';
import type { TileEncoding } from '../storage/tile-format.ts';
import { HttpError } from './errors.ts';

/** Default of --decode-memory: bytes of decompressed tiles held at once, across all requests. */
export const DEFAULT_DECODE_MEMORY = 256 * 1024 * 1024;
/** How long a request waits for room in the budget before it answers 503. */
export const DECODE_WAIT_MS = 1_000;
/** Seconds a client refused for want of room should wait before asking again. */
const DECODE_RETRY_AFTER = 1;

/** A stored tile that does not decompress (a corrupt stream, or larger than MAX_DECODED_BYTES). */
export class TileDecodeError extends Error {
  override name = 'TileDecodeError';
  constructor(
    readonly encoding: TileEncoding,
    cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause), { cause });
  }
}

/** Bytes held from a DecodeBudget until released. */
export interface Lease {
  /** Gives back what is not needed any more (the tile turned out smaller than reserved). */
  shrink(bytes: number): void;
  release(): void;
}

interface Waiter {
  bytes: number;
  grant: (lease: Lease | undefined) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A count of bytes shared by every request: the per-tile cap alone let 32 clients that refuse
 * gzip hold 32 × 30 MiB at once. A decode reserves the cap, keeps what the tile really takes
 * until its answer is sent (or the client leaves), and waits in line when there is no room.
 */
export class DecodeBudget {
  #free: number;
  readonly #waiting: Waiter[] = [];

  constructor(
    readonly limit: number,
    private readonly waitMs = DECODE_WAIT_MS,
  ) {
    this.#free = limit;
  }

  /** Bytes not leased now. */
  get free(): number {
    return this.#free;
  }

  /** A lease of `bytes` (at most the whole budget), in arrival order; undefined after waitMs without room. */
  acquire(wanted: number): Promise<Lease | undefined> {
    const bytes = Math.min(wanted, this.limit);
    if (this.#waiting.length === 0 && bytes <= this.#free) return Promise.resolve(this.#lease(bytes));
    return new Promise((grant) => {
      const waiter: Waiter = {
        bytes,
        grant,
        timer: setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
          grant(undefined);
          this.#wake(); // a large waiter leaving may let smaller ones behind it in
        }, this.waitMs),
      };
      this.#waiting.push(waiter);
    });
  }

  #lease(bytes: number): Lease {
    this.#free -= bytes;
    let held = bytes;
    return {
      shrink: (to) => {
        const keep = Math.max(0, Math.min(held, to));
        this.#give(held - keep);
        held = keep;
      },
      release: () => {
        this.#give(held);
        held = 0;
      },
    };
  }

  #give(bytes: number): void {
    if (bytes <= 0) return;
    this.#free += bytes;
    this.#wake();
  }

  #wake(): void {
    while (this.#waiting.length > 0 && (this.#waiting[0] as Waiter).bytes <= this.#free) {
      const next = this.#waiting.shift() as Waiter;
      clearTimeout(next.timer);
      next.grant(this.#lease(next.bytes));
    }
  }
}

/**
 * Decompresses a tile for `res` within the budget: 503 with Retry-After when no room came in
 * time; the bytes stay counted until the answer is sent or the client leaves. A tile that does
 * not decode (corrupt, or past MAX_DECODED_BYTES) rejects with a TileDecodeError.
 */
export async function decodeWithinBudget(
  budget: DecodeBudget,
  res: ServerResponse,
  data: Uint8Array,
  encoding: TileEncoding,
): Promise<Buffer> {
  const lease = await budget.acquire(MAX_DECODED_BYTES);
  if (lease === undefined) {
    throw new HttpError(503, 'too many tiles are being decompressed at once; retry shortly', DECODE_RETRY_AFTER);
  }
  let decoded: Buffer;
  try {
    decoded = await decompressTile(data, encoding);
  } catch (error) {
    lease.release();
    throw new TileDecodeError(encoding, error);
  }
  lease.shrink(decoded.length);
  // Already gone (the client left while the tile was decoded): no `close` will come any more.
  if (res.closed || res.destroyed || res.writableFinished) lease.release();
  else res.once('close', () => lease.release());
  return decoded;
}
