import { describe, expect, it } from 'vitest';
import { MbtilesError } from '../../src/storage/mbtiles.ts';
import { needsWriteAccess } from '../../src/storage/read-only-wal.ts';
import { classifySqliteError, transientCause } from '../../src/storage/sqlite-errors.ts';

const better = (code: string, message = code) => Object.assign(new Error(message), { code });
const builtin = (errcode: number, message = 'x') => Object.assign(new Error(message), { code: 'ERR_SQLITE_ERROR', errcode });
const fs = (code: string) => Object.assign(new Error(`${code}: something, open '/data/a.mbtiles'`), { code });

describe('classifySqliteError (better-sqlite3 codes, node:sqlite errcodes)', () => {
  it.each<[string, unknown, string]>([
    ['SQLITE_BUSY', better('SQLITE_BUSY'), 'busy'],
    ['SQLITE_BUSY_SNAPSHOT', better('SQLITE_BUSY_SNAPSHOT'), 'busy'],
    ['SQLITE_LOCKED', better('SQLITE_LOCKED'), 'busy'],
    ['SQLITE_CORRUPT', better('SQLITE_CORRUPT'), 'broken'],
    ['SQLITE_IOERR_SHORT_READ', better('SQLITE_IOERR_SHORT_READ'), 'broken'],
    ['SQLITE_NOTADB', better('SQLITE_NOTADB'), 'broken'],
    ['SQLITE_MISUSE', better('SQLITE_MISUSE'), 'other'],
    ['node:sqlite busy (5)', builtin(5), 'busy'],
    ['node:sqlite corrupt (11)', builtin(11), 'broken'],
    ['node:sqlite IOERR_READ (266)', builtin(266), 'broken'],
    ['node:sqlite error (1)', builtin(1), 'other'],
    ['a file-system error', fs('EACCES'), 'other'],
    ['not an error', 'oops', 'other'],
    ['undefined', undefined, 'other'],
  ])('%s → %s', (_, error, kind) => {
    expect(classifySqliteError(error)).toBe(kind);
  });
});

describe('transientCause (along the cause chain)', () => {
  it.each<[string, unknown, string | undefined]>([
    ['EACCES at open', new MbtilesError('cannot open: …', { cause: fs('EACCES') }), 'EACCES'],
    ['EMFILE', new MbtilesError('cannot open: …', { cause: fs('EMFILE') }), 'EMFILE'],
    ['EIO', fs('EIO'), 'EIO'],
    [
      'a lock at the schema read',
      new MbtilesError('not a readable…', { cause: better('SQLITE_BUSY') }),
      'locked by another process',
    ],
    ['node:sqlite lock', new MbtilesError('x', { cause: builtin(5) }), 'locked by another process'],
    ['SQLITE_CANTOPEN', new MbtilesError('x', { cause: better('SQLITE_CANTOPEN') }), 'SQLITE_CANTOPEN'],
    ['corrupt: a verdict, not transient', new MbtilesError('x', { cause: better('SQLITE_CORRUPT') }), undefined],
    ['a validation error', new MbtilesError('no tiles: the tiles table is empty'), undefined],
    ['ENOENT (gone: the next pass removes it)', fs('ENOENT'), undefined],
  ])('%s → %s', (_, error, cause) => {
    expect(transientCause(error)).toBe(cause);
  });
});

describe('needsWriteAccess', () => {
  it.each<[string, unknown, boolean]>([
    ['better-sqlite3 SQLITE_READONLY_DIRECTORY', better('SQLITE_READONLY_DIRECTORY'), true],
    ['node:sqlite (Deno) SQLITE_READONLY', builtin(8, 'attempt to write a readonly database'), true],
    ['a lock', better('SQLITE_BUSY'), false],
    ['not a database', better('SQLITE_NOTADB'), false],
  ])('%s → %s', (_, error, expected) => {
    expect(needsWriteAccess(error)).toBe(expected);
  });
});
