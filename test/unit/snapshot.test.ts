import { describe, expect, it } from 'vitest';
import { type FileState, sameFile } from '../../src/source/snapshot.ts';

const file = (path: string, over: Partial<FileState> = {}): FileState => ({
  path,
  size: 1000,
  mtimeMs: 1_700_000_000_000,
  ino: 42,
  busy: false,
  ...over,
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
