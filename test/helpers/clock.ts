import type { Clock } from '../../src/clock.ts';

/**
 * A clock that moves only when the test says: `advance(ms)` fires the timers that fall due, in
 * order. Timers of 0 ms fire on the next turn, as real ones do.
 */
export class ManualClock implements Clock {
  #now = 0;
  #timers: { at: number; callback: () => void; id: number }[] = [];
  #nextId = 1;

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    if (ms <= 0) {
      setImmediate(callback);
      return id;
    }
    this.#timers.push({ at: this.#now + ms, callback, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** The times (ms from now) at which timers wait. */
  get pending(): number[] {
    return this.#timers.map((t) => t.at - this.#now).sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.callback();
    }
    this.#now = until;
  }
}
