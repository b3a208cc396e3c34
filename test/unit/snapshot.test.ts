import { describe, expect, it } from 'vitest';
import { ctimeMayRepeat, type FileState, sameFile } from '../../src/source/snapshot.ts';

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
    // A rewrite that put size and mtime back, or a rename over the file: only the ctime tells.
    ['other ctime', { ...a, ctimeMs: 1 }, { ...a, ctimeMs: 2 }, false],
    ['missing before', undefined, a, false],
    ['missing after', a, undefined, false],
  ])('%s → %s', (_, x, y, expected) => {
    expect(sameFile(x, y)).toBe(expected);
  });
});

describe('ctimeMayRepeat', () => {
  it.each<[string, number | undefined, number, number, boolean]>([
    ['nanosecond ctimes (Node): never', 1_000_000, 1_000_000, 0, false],
    ['whole-second ctimes (Deno), same second', 1_000_000, 1_000_999, 1000, true],
    ['whole-second ctimes (Deno), the second is over', 1_000_000, 1_001_000, 1000, false],
    ['no ctime known', undefined, 0, 1000, false],
  ])('%s', (_, ctimeMs, now, resolution, expected) => {
    expect(ctimeMayRepeat(ctimeMs === undefined ? {} : { ctimeMs }, now, resolution)).toBe(expected);
  });
});
