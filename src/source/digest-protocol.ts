import type { KeyRange, RangeDigest } from './digest-ranges.ts';

/** One unit of work for a digest worker. */
export type DigestTask = { kind: 'ranges' } | { kind: 'range'; range: KeyRange } | { kind: 'file' };

/**
 * Why a digest task failed, as data that crosses the thread boundary whole (an Error loses its
 * class and its fields on the way): the file at the path is not the inode the job names; an
 * SQLite error with its code (better-sqlite3's `code`, node:sqlite's extended `errcode`); or
 * anything else. The pool turns it back into a DigestError that carries the same fields.
 */
export type DigestFailure =
  | { kind: 'replaced'; message: string }
  | { kind: 'sqlite'; message: string; code?: string; errcode?: number }
  | { kind: 'other'; message: string; code?: string };

/** Messages from the pool to a digest worker. */
export type ToWorker =
  | { type: 'task'; job: number; path: string; ino: number; task: DigestTask }
  /** The job is over: close its connection. */
  | { type: 'end'; job: number };

/** Messages from a digest worker to the pool: one answer per task, progress in between. */
export type ToMain =
  | { type: 'ranges'; job: number; ranges: KeyRange[] }
  | { type: 'range'; job: number; range: RangeDigest }
  | { type: 'file'; job: number; digest: string; bytes: number }
  | { type: 'progress'; job: number; bytes: number }
  | { type: 'error'; job: number; failure: DigestFailure };

/** Thrown by a digest worker when the path holds another inode than the one the job names. */
export class ReplacedError extends Error {
  override name = 'ReplacedError';
}

/** What a caught error says, as a DigestFailure (worker side). */
export function failureOf(error: unknown): DigestFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ReplacedError) return { kind: 'replaced', message };
  const e = error as { code?: unknown; errcode?: unknown } | undefined;
  if (typeof e?.errcode === 'number') return { kind: 'sqlite', message, errcode: e.errcode };
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_')) return { kind: 'sqlite', message, code: e.code };
  return typeof e?.code === 'string' ? { kind: 'other', message, code: e.code } : { kind: 'other', message };
}

/**
 * A failed digest on the pool's side: the failure's kind, and its SQLite or file-system code as
 * the fields the error classifiers read (`code`, `errcode`), so a lock is told from a broken file
 * by its code, never by matching a message.
 */
export class DigestError extends Error {
  override name = 'DigestError';
  readonly kind: DigestFailure['kind'];
  readonly code: string | undefined;
  readonly errcode: number | undefined;

  constructor(failure: DigestFailure) {
    super(failure.message);
    this.kind = failure.kind;
    this.code = 'code' in failure ? failure.code : undefined;
    this.errcode = 'errcode' in failure ? failure.errcode : undefined;
  }
}
