import { HttpError } from './errors.ts';

/** Glyph ranges and sprite sheets generated at once, at most (each is CPU work on the event loop). */
export const MAX_GENERATIONS = 2;
/** Generations waiting for a slot, at most; past that a request is refused (503). */
export const MAX_QUEUED_GENERATIONS = 32;
/** Seconds a refused client should wait before asking again. */
const GENERATION_RETRY_AFTER = 1;

/**
 * A bound on generation shared by the glyph and sprite routes: a range or a sheet is only
 * generated on a cache miss, but distinct misses are cheap to ask for (every range of a font,
 * every list of sheets) and each one holds CPU and memory while it is made. At most `maxActive`
 * run at once, the next `maxQueued` wait in arrival order, anything more is 503 with Retry-After.
 */
export class GenerationGate {
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(
    readonly maxActive = MAX_GENERATIONS,
    readonly maxQueued = MAX_QUEUED_GENERATIONS,
  ) {}

  /** Generations running now. */
  get active(): number {
    return this.#active;
  }

  /** Generations waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Runs `make` when a slot is free; rejects with a 503 HttpError when the queue is full. */
  async run<T>(make: () => Promise<T>): Promise<T> {
    if (this.#active < this.maxActive) {
      this.#active++;
    } else if (this.#queue.length < this.maxQueued) {
      // The slot is handed over by the one that frees it: #active stays counted.
      await new Promise<void>((go) => this.#queue.push(go));
    } else {
      throw new HttpError(
        503,
        'too many glyph ranges and sprite sheets are being generated; retry shortly',
        GENERATION_RETRY_AFTER,
      );
    }
    try {
      return await make();
    } finally {
      const next = this.#queue.shift();
      if (next === undefined) this.#active--;
      else next();
    }
  }
}
