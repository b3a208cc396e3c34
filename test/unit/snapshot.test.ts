import { describe, expect, it } from 'vitest';
import { diffSnapshots, type FileState, type Snapshot, sameFile } from '../../src/source/snapshot.ts';

const file = (path: string, over: Partial<FileState> = {}): FileState => ({
  path,
  size: 1000,
  mtimeMs: 1_700_000_000_000,
  ino: 42,
  busy: false,
  ...over,
});
const snap = (entries: [string, FileState][]): Snapshot => new Map(entries);

describe('diffSnapshots', () => {
  const a = file('/d/a.mbtiles', { ino: 1 });
  const b = file('/d/b.mbtiles', { ino: 2 });
  const subC = file('/d/sub/c.mbtiles', { ino: 3 });

  it.each<[string, Snapshot, Snapshot, { added: string[]; changed: string[]; removed: string[] }]>([
    ['nothing before, nothing now', snap([]), snap([]), { added: [], changed: [], removed: [] }],
    [
      'first scan',
      snap([]),
      snap([
        ['b', b],
        ['a', a],
      ]),
      { added: ['a', 'b'], changed: [], removed: [] },
    ],
    ['no change', snap([['a', a]]), snap([['a', { ...a }]]), { added: [], changed: [], removed: [] }],
    [
      'mtime changed (touch, or rewritten in place)',
      snap([['a', a]]),
      snap([['a', { ...a, mtimeMs: a.mtimeMs + 1 }]]),
      { added: [], changed: ['a'], removed: [] },
    ],
    ['size changed', snap([['a', a]]), snap([['a', { ...a, size: 2000 }]]), { added: [], changed: ['a'], removed: [] }],
    [
      'inode changed (renamed over)',
      snap([['a', a]]),
      snap([['a', { ...a, ino: 99 }]]),
      { added: [], changed: ['a'], removed: [] },
    ],
    [
      'file deleted',
      snap([
        ['a', a],
        ['b', b],
      ]),
      snap([['b', b]]),
      { added: [], changed: [], removed: ['a'] },
    ],
    [
      'file renamed: a removal and an addition',
      snap([['a', a]]),
      snap([['b', { ...a, path: '/d/b.mbtiles' }]]),
      { added: ['b'], changed: [], removed: ['a'] },
    ],
    [
      'subfolder file added',
      snap([['a', a]]),
      snap([
        ['a', a],
        ['sub/c', subC],
      ]),
      { added: ['sub/c'], changed: [], removed: [] },
    ],
    [
      'everything at once',
      snap([
        ['a', a],
        ['b', b],
      ]),
      snap([
        ['b', { ...b, size: 1 }],
        ['sub/c', subC],
      ]),
      { added: ['sub/c'], changed: ['b'], removed: ['a'] },
    ],
  ])('%s', (_, previous, next, expected) => {
    expect(diffSnapshots(previous, next)).toEqual(expected);
  });

  it('does not count a writer beside the file (busy) as a change by itself', () => {
    expect(diffSnapshots(snap([['a', a]]), snap([['a', { ...a, busy: true }]]))).toEqual({ added: [], changed: [], removed: [] });
  });
});

describe('sameFile', () => {
  const a = file('/d/a.mbtiles');
  it.each<[string, FileState | undefined, FileState | undefined, boolean]>([
    ['identical', a, { ...a }, true],
    ['other path', a, { ...a, path: '/d/b.mbtiles' }, false],
    ['other inode', a, { ...a, ino: 7 }, false],
    ['other size', a, { ...a, size: 1 }, false],
    ['other mtime', a, { ...a, mtimeMs: 5 }, false],
    ['missing before', undefined, a, false],
    ['missing after', a, undefined, false],
  ])('%s → %s', (_, x, y, expected) => {
    expect(sameFile(x, y)).toBe(expected);
  });
});
