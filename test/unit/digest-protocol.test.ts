import { describe, expect, it } from 'vitest';
import { DigestError, type DigestFailure, failureOf, ReplacedError } from '../../src/source/digest-protocol.ts';
import { classifySqliteError, transientCause } from '../../src/storage/sqlite-errors.ts';

const better = (code: string) => Object.assign(new Error('x'), { code });
const builtin = (errcode: number) => Object.assign(new Error('x'), { code: 'ERR_SQLITE_ERROR', errcode });

describe('failureOf (worker side) and DigestError (pool side)', () => {
  it.each<[string, unknown, DigestFailure, string, string | undefined]>([
    ['another inode at the path', new ReplacedError('x'), { kind: 'replaced', message: 'x' }, 'other', undefined],
    [
      'better-sqlite3 SQLITE_BUSY',
      better('SQLITE_BUSY'),
      { kind: 'sqlite', message: 'x', code: 'SQLITE_BUSY' },
      'busy',
      'locked by another process',
    ],
    [
      'better-sqlite3 SQLITE_CORRUPT',
      better('SQLITE_CORRUPT'),
      { kind: 'sqlite', message: 'x', code: 'SQLITE_CORRUPT' },
      'broken',
      undefined,
    ],
    ['node:sqlite busy (5)', builtin(5), { kind: 'sqlite', message: 'x', errcode: 5 }, 'busy', 'locked by another process'],
    [
      'node:sqlite LOCKED_SHAREDCACHE (262)',
      builtin(262),
      { kind: 'sqlite', message: 'x', errcode: 262 },
      'busy',
      'locked by another process',
    ],
    ['node:sqlite IOERR_READ (266)', builtin(266), { kind: 'sqlite', message: 'x', errcode: 266 }, 'broken', undefined],
    ['a file-system error', better('EMFILE'), { kind: 'other', message: 'x', code: 'EMFILE' }, 'other', 'EMFILE'],
    [
      'a plain error whose message looks like a lock',
      new Error('database is locked'),
      { kind: 'other', message: 'database is locked' },
      'other',
      undefined,
    ],
  ])('%s', (_, error, failure, kind, transient) => {
    expect(failureOf(error)).toEqual(failure);
    // Through structured clone, as postMessage sends it, and back into an error.
    const back = new DigestError(structuredClone(failureOf(error)));
    expect(back.kind).toBe(failure.kind);
    expect(classifySqliteError(back)).toBe(kind);
    expect(transientCause(back)).toBe(transient);
  });
});
