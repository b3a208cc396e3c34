/**
 * How long a tileset may wait (a writer's journal beside it, a lock, a permission, a file SQLite
 * cannot open for now) before /health says `degraded`: long enough for a writer to finish and a
 * lock to pass, short enough that a file that will never open by itself is noticed. Measured on
 * the reloader's clock, so tests move it on by hand.
 */
export const WAITING_TOO_LONG_MS = 120_000;

/** The clock time a wait began, and whether it has lasted longer than WAITING_TOO_LONG_MS. */
export interface WaitingFor {
  /** The reloader's clock time when the tileset started waiting. */
  from: number;
  tooLong: boolean;
}

/** The wait that `previous` (if any) began, as of clock time `now`. */
export function waitingFor(previous: WaitingFor | undefined, now: number): WaitingFor {
  const from = previous?.from ?? now;
  return { from, tooLong: now - from >= WAITING_TOO_LONG_MS };
}

/**
 * What an operator can do about a tileset that keeps waiting, by what it waits for (a `-wal` or
 * hot `-journal` beside the file, or the transient cause of a failed open); undefined when only
 * time helps (a lock held by another process is theirs to release).
 */
export function waitingHint(cause: string): string | undefined {
  if (cause === '-wal' || cause === 'SQLITE_CANTOPEN' || cause.startsWith('SQLITE_CANTOPEN')) {
    return "a WAL-mode file SQLite cannot finish here: where the folder can be written, convert it with sqlite3 FILE 'PRAGMA journal_mode=DELETE'";
  }
  if (cause === '-journal') {
    return 'a journal left by a writer: when no writer is at work, open the file once with sqlite3 where the folder can be written (it rolls the journal back)';
  }
  if (cause === 'EACCES' || cause === 'EPERM') return 'the server may not read the file: check its owner and mode';
  return undefined;
}
