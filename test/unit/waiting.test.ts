import { describe, expect, it } from 'vitest';
import { WAITING_TOO_LONG_MS, waitingFor, waitingHint } from '../../src/source/waiting.ts';

describe('waitingFor', () => {
  it.each([
    ['a new wait', undefined, 5_000, { from: 5_000, tooLong: false }],
    ['a wait going on', { from: 5_000, tooLong: false }, 5_000 + WAITING_TOO_LONG_MS - 1, { from: 5_000, tooLong: false }],
    ['a wait at the bound', { from: 5_000, tooLong: false }, 5_000 + WAITING_TOO_LONG_MS, { from: 5_000, tooLong: true }],
  ])('%s', (_, previous, now, expected) => {
    expect(waitingFor(previous, now)).toEqual(expected);
  });
});

describe('waitingHint', () => {
  it.each([
    ['-wal', /PRAGMA journal_mode=DELETE/],
    ['SQLITE_CANTOPEN', /PRAGMA journal_mode=DELETE/],
    ['-journal', /rolls the journal back/],
    ['EACCES', /owner and mode/],
    ['locked by another process', undefined],
  ])('%s', (cause, hint) => {
    if (hint === undefined) expect(waitingHint(cause)).toBeUndefined();
    else expect(waitingHint(cause)).toMatch(hint);
  });
});
