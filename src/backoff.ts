/**
 * Exponential backoff: the wait before try `attempt + 1` after `attempt` failures in a row
 * (`firstMs`, twice that, … up to `maxMs`). Used by every retry: transient file errors, crashed
 * workers, files a worker could not open.
 */
export function backoff(attempt: number, firstMs: number, maxMs: number): number {
  return Math.min(firstMs * 2 ** Math.max(0, attempt - 1), maxMs);
}
