import { backoff } from '../backoff.ts';
import { type Clock, systemClock } from '../clock.ts';

/** First wait before a sync this worker could not complete is tried again; doubles up to the cap. */
export const SYNC_RETRY_MS = 1_000;
export const SYNC_RETRY_CAP_MS = 30_000;

/**
 * Applies the primary's syncs one at a time, the newest only. Each sync carries a sequence
 * number (the primary counts up); a sync older than the newest one seen is dropped, whether it
 * arrives late or is the retry of one that was overtaken, so nothing older ever undoes something
 * newer. `apply` resolves false when the sync could not be done whole (a file this worker could
 * not open): the newest sync is tried again after 1 s, doubling to 30 s, until one goes through.
 */
export function syncQueue<T extends { seq: number }>(
  apply: (message: T) => Promise<boolean>,
  clock: Clock = systemClock,
): (message: T) => void {
  let running = false;
  /** The newest sync seen; undefined once it has been applied. */
  let next: T | undefined;
  let newest = Number.NEGATIVE_INFINITY;
  let retry: unknown;
  let failures = 0;
  const deliver = (message: T) => {
    if (message.seq < newest) return;
    newest = message.seq;
    next = message;
    clock.clearTimeout(retry);
    if (!running) void run();
  };
  const run = async () => {
    running = true;
    while (next !== undefined) {
      const message = next;
      next = undefined;
      const complete = await apply(message);
      if (next !== undefined) continue; // a newer sync came meanwhile: it decides
      if (complete) {
        failures = 0;
        continue;
      }
      failures += 1;
      retry = clock.setTimeout(() => deliver(message), backoff(failures, SYNC_RETRY_MS, SYNC_RETRY_CAP_MS));
    }
    running = false;
  };
  return deliver;
}
