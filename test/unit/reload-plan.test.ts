import { describe, expect, it } from 'vitest';
import { planReload, type Served } from '../../src/source/reload-plan.ts';
import type { FileState, Snapshot } from '../../src/source/snapshot.ts';

const file = (path: string, over: Partial<FileState> = {}): FileState => ({
  path,
  size: 1000,
  mtimeMs: 1_700_000_000_000,
  ino: 42,
  busy: false,
  ...over,
});
const a = file('/d/a.mbtiles', { ino: 1 });
const b = file('/d/b.mbtiles', { ino: 2 });
const subC = file('/d/sub/c.mbtiles', { ino: 3 });
const folder = (entries: [string, FileState][]): Snapshot => new Map(entries);
const served = (entries: [string, Served][]): Map<string, Served> => new Map(entries);
const ok = (f: FileState): Served => ({ state: 'ok', file: f });

type Row = [
  string,
  Map<string, Served>,
  Snapshot,
  { removed: string[]; candidates: string[] },
  { full?: boolean; now?: number }?,
];

describe('planReload: what is served (the registry) against what the folder holds now', () => {
  it.each<Row>([
    ['nothing served, nothing there', served([]), folder([]), { removed: [], candidates: [] }],
    [
      'first scan: every file',
      served([]),
      folder([
        ['b', b],
        ['a', a],
      ]),
      { removed: [], candidates: ['a', 'b'] },
    ],
    ['no change', served([['a', ok(a)]]), folder([['a', { ...a }]]), { removed: [], candidates: [] }],
    [
      'touched (mtime)',
      served([['a', ok(a)]]),
      folder([['a', { ...a, mtimeMs: a.mtimeMs + 1 }]]),
      { removed: [], candidates: ['a'] },
    ],
    ['size changed', served([['a', ok(a)]]), folder([['a', { ...a, size: 2000 }]]), { removed: [], candidates: ['a'] }],
    ['renamed over (inode)', served([['a', ok(a)]]), folder([['a', { ...a, ino: 99 }]]), { removed: [], candidates: ['a'] }],
    [
      'a writer beside a served file is no change by itself',
      served([['a', ok(a)]]),
      folder([['a', { ...a, busy: true }]]),
      { removed: [], candidates: [] },
    ],
    [
      'deleted',
      served([
        ['a', ok(a)],
        ['b', ok(b)],
      ]),
      folder([['b', b]]),
      { removed: ['a'], candidates: [] },
    ],
    [
      'renamed: a removal and an addition',
      served([['a', ok(a)]]),
      folder([['b', { ...a, path: '/d/b.mbtiles' }]]),
      { removed: ['a'], candidates: ['b'] },
    ],
    [
      'still loading (never decided on): looked at again',
      served([['a', { state: 'loading' }]]),
      folder([['a', a]]),
      { removed: [], candidates: ['a'] },
    ],
    // The bug of issue 8, item 10: busy at start, then deleted, stayed "loading" forever.
    [
      'still loading, then deleted: removed',
      served([['a', { state: 'loading' }]]),
      folder([]),
      { removed: ['a'], candidates: [] },
    ],
    [
      'waiting, then deleted: removed',
      served([['a', { state: 'waiting', file: a, retry: { at: 5_000, attempts: 1, reason: 'EACCES' } }]]),
      folder([]),
      { removed: ['a'], candidates: [] },
    ],
    [
      'failed, same file: left alone',
      served([['a', { state: 'failed', file: a }]]),
      folder([['a', a]]),
      { removed: [], candidates: [] },
    ],
    [
      'failed, file replaced: looked at again',
      served([['a', { state: 'failed', file: a }]]),
      folder([['a', { ...a, ino: 7 }]]),
      { removed: [], candidates: ['a'] },
    ],
    [
      'transient failure, retry not due yet',
      served([['a', { state: 'waiting', file: a, retry: { at: 5_000, attempts: 3, reason: 'EACCES' } }]]),
      folder([['a', a]]),
      { removed: [], candidates: [] },
      { now: 4_999 },
    ],
    [
      'transient failure, retry due: looked at again without any change of the file',
      served([['a', { state: 'waiting', file: a, retry: { at: 5_000, attempts: 3, reason: 'EACCES' } }]]),
      folder([['a', a]]),
      { removed: [], candidates: ['a'] },
      { now: 5_000 },
    ],
    [
      'transient failure, file changed: looked at before the retry is due',
      served([['a', { state: 'waiting', file: a, retry: { at: 5_000, attempts: 3, reason: 'EACCES' } }]]),
      folder([['a', { ...a, mtimeMs: 1 }]]),
      { removed: [], candidates: ['a'] },
      { now: 0 },
    ],
    [
      'SIGHUP (full): every file, changed or not',
      served([
        ['a', ok(a)],
        ['b', { state: 'failed', file: b }],
      ]),
      folder([
        ['a', a],
        ['b', b],
        ['sub/c', subC],
      ]),
      { removed: [], candidates: ['a', 'b', 'sub/c'] },
      { full: true },
    ],
  ])('%s', (_, before, now, expected, options = {}) => {
    expect(planReload(before, now, { full: options.full ?? false, now: options.now ?? 0 })).toEqual(expected);
  });
});
