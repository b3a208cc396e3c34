import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSet } from '../../src/fonts/file-set.ts';
import { removeDir, tempDir } from '../helpers/fixtures.ts';
import { memoryLogger } from '../helpers/server.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

describe('the files of a font or sprite folder', () => {
  it('are read again after an in-place rewrite that keeps the size and puts the mtime back (cp -p, touch -r)', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, 'icon.svg');
    writeFileSync(path, 'first');
    const when = new Date('2024-01-01T00:00:00Z'); // a time utimes can put back exactly
    utimesSync(path, when, when);
    const files = new FileSet(dir, /\.svg$/, async (name) => readFileSync(join(dir, name), 'utf8'), memoryLogger(), 'icon');
    await files.scan();
    expect(files.entries()).toEqual([['icon.svg', 'first']]);
    const before = statSync(path);
    writeFileSync(path, 'again');
    utimesSync(path, when, when);
    expect([statSync(path).size, statSync(path).mtimeMs]).toEqual([before.size, before.mtimeMs]);
    expect(await files.scan()).toBe(true);
    expect(files.entries()).toEqual([['icon.svg', 'again']]);
  });

  it('say why one cannot be read without naming where the folder lies (/health shows it)', async () => {
    const dir = tempDir();
    dirs.push(dir);
    writeFileSync(join(dir, 'icon.svg'), 'first');
    // As a file removed between the folder listing and its read, or one the server may not open.
    const files = new FileSet(dir, /\.svg$/, (name) => readFile(join(dir, 'gone', name), 'utf8'), memoryLogger(), 'icon');
    await files.scan();
    const [problem] = files.problems();
    expect(problem?.path).toBe('icon.svg');
    expect(problem?.reason).toContain('ENOENT');
    expect(problem?.reason).not.toContain(dir);
  });
});
