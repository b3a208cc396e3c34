/** Something made once and kept: its bytes (and any text beside them), what the cache counts. */
export interface Made {
  body: Uint8Array;
  index?: string;
}

/**
 * A least-recently-used cache bounded by bytes, with single-flight making: however many requests
 * ask for a key at once, `make` runs once and they all get its result. A result larger than the
 * bound is handed out but not kept; a failed `make` is not kept either (the next ask retries).
 */
export class ByteCache<T extends Made> {
  readonly #entries = new Map<string, T>();
  readonly #pending = new Map<string, Promise<T>>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.#bytes;
  }

  get(key: string, make: () => Promise<T>): Promise<T> {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      // Most recently used last: Map order is the eviction order.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return Promise.resolve(hit);
    }
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = make().then(
        (value) => {
          this.#pending.delete(key);
          this.#keep(key, value);
          return value;
        },
        (error: unknown) => {
          this.#pending.delete(key);
          throw error;
        },
      );
      this.#pending.set(key, pending);
    }
    return pending;
  }

  /** Drops everything kept (what is being made still completes). */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #keep(key: string, value: T): void {
    const size = byteSize(value);
    if (size > this.maxBytes) return;
    this.#entries.set(key, value);
    this.#bytes += size;
    for (const [oldest, old] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= byteSize(old);
    }
  }
}

function byteSize(value: Made): number {
  return value.body.byteLength + (value.index?.length ?? 0);
}
