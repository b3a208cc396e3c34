import type { KeyRange, RangeDigest } from './digest-ranges.ts';

/** One unit of work for a digest worker. */
export type DigestTask = { kind: 'ranges' } | { kind: 'range'; range: KeyRange } | { kind: 'file' };

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
  | { type: 'error'; job: number; message: string };
