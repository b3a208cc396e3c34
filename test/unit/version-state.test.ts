import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  STATE_ENTRIES_LIMIT,
  STATE_FILE,
  STATE_FILE_MAX_BYTES,
  type StateKey,
  VersionState,
} from '../../src/source/version-state.ts';
import { removeDir, tempDir } from '../helpers/fixtures.ts';
import { memoryLogger } from '../helpers/server.ts';

const KEY: StateKey = {
  dev: '2049',
  ino: '1234567',
  size: '1295450112',
  mtimeNs: '1764187000123456789',
  ctimeNs: '1764187000223456789',
  source: 'content',
  formula: 'tilestamp-content-2/columns-64',
};
const VALUE = { version: '0123456789abcdef', tiles: 220000, bytes: 1130000000 };

let dir: string;

beforeEach(() => {
  dir = tempDir();
});

afterEach(() => removeDir(dir));

async function remembered(key: StateKey): Promise<unknown> {
  const logger = memoryLogger();
  return new VersionState(dir, logger).lookup(key);
}

describe('VersionState', () => {
  it('gives back, after a restart (a new instance), what it remembered under the same key', async () => {
    await new VersionState(dir, memoryLogger()).remember(KEY, VALUE);
    expect(await remembered({ ...KEY })).toEqual(VALUE);
  });

  it.each(['dev', 'ino', 'size', 'mtimeNs', 'ctimeNs', 'source', 'formula'] as const)(
    'trusts nothing when %s differs',
    async (field) => {
      await new VersionState(dir, memoryLogger()).remember(KEY, VALUE);
      expect(await remembered({ ...KEY, [field]: `${KEY[field]}1` })).toBeUndefined();
    },
  );

  it('trusts nothing when a time differs by one nanosecond only', async () => {
    await new VersionState(dir, memoryLogger()).remember(KEY, VALUE);
    expect(await remembered({ ...KEY, ctimeNs: '1764187000223456790' })).toBeUndefined();
  });

  it('knows nothing without a state file', async () => {
    expect(await remembered(KEY)).toBeUndefined();
  });

  it.each([
    ['a corrupt state file', '{"format":"tilestamp-versions/1","entries":[{"dev"'],
    ['a foreign state file', JSON.stringify({ format: 'something-else', entries: [{ ...KEY, ...VALUE, at: 1 }] })],
    ['a state file of another shape', JSON.stringify([{ ...KEY, ...VALUE, at: 1 }])],
  ])('ignores %s, with a warning, and writes a good one over it', async (_name, text) => {
    writeFileSync(join(dir, STATE_FILE), text);
    const logger = memoryLogger();
    const state = new VersionState(dir, logger);
    expect(await state.lookup(KEY)).toBeUndefined();
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'state file ignored: every version is computed again',
    ]);
    await state.remember(KEY, VALUE);
    // The write reads the file again first: the same bad file is not warned about twice.
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(await remembered(KEY)).toEqual(VALUE);
  });

  /** A well-formed state file holding KEY, padded with spaces to exactly `bytes` bytes. */
  function paddedStateFile(bytes: number): string {
    const text = JSON.stringify({ format: 'tilestamp-versions/1', entries: [{ ...KEY, ...VALUE, at: 1 }] });
    return text.slice(0, -1) + ' '.repeat(bytes - text.length) + text.slice(-1);
  }

  it(`reads a state file of exactly ${STATE_FILE_MAX_BYTES} bytes`, async () => {
    writeFileSync(join(dir, STATE_FILE), paddedStateFile(STATE_FILE_MAX_BYTES));
    expect(await remembered(KEY)).toEqual(VALUE);
  });

  it('does not parse a state file past the cap: one warning naming it, and a good file written over it', async () => {
    writeFileSync(join(dir, STATE_FILE), paddedStateFile(STATE_FILE_MAX_BYTES + 1));
    const logger = memoryLogger();
    const state = new VersionState(dir, logger);
    expect(await state.lookup(KEY)).toBeUndefined();
    await state.remember({ ...KEY, ino: '2' }, VALUE);
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => [l.message, l.fields.reason])).toEqual([
      [
        'state file ignored: every version is computed again',
        `larger than ${STATE_FILE_MAX_BYTES} bytes, the most a state file may have`,
      ],
    ]);
    expect(readFileSync(join(dir, STATE_FILE)).length).toBeLessThan(1000);
    expect(await remembered({ ...KEY, ino: '2' })).toEqual(VALUE);
  });

  it('keeps its own file under the cap, dropping the oldest entries, whatever the entries hold', async () => {
    const source = `metadata:${'k'.repeat(1000)}`;
    const entry = (i: number) => ({ ...KEY, source, ino: String(i).padStart(5, '0'), ...VALUE, at: 1_000_000 + i });
    // As many entries as fit under the cap: one more does not.
    const size = JSON.stringify(entry(0)).length + 1;
    const count = Math.floor((STATE_FILE_MAX_BYTES - 100) / size);
    const entries = Array.from({ length: count }, (_, i) => entry(i));
    writeFileSync(join(dir, STATE_FILE), JSON.stringify({ format: 'tilestamp-versions/1', entries }));
    await new VersionState(dir, memoryLogger(), () => 2_000_000).remember({ ...entry(count), ino: 'new' }, VALUE);
    const written = readFileSync(join(dir, STATE_FILE));
    expect(written.length).toBeLessThanOrEqual(STATE_FILE_MAX_BYTES);
    const kept = (JSON.parse(written.toString()) as { entries: { ino: string }[] }).entries.map((e) => e.ino);
    expect(kept[0]).toBe('new');
    expect(kept).not.toContain('00000');
    expect(kept).toContain(String(count - 1).padStart(5, '0'));
    expect(await remembered({ ...KEY, source, ino: 'new' })).toEqual(VALUE);
  });

  it.each([
    ['a version unfit for a URL', { version: '../../x' }],
    ['a key field that is a number', { size: 1295450112 }],
    ['no bytes', { bytes: undefined }],
  ])('ignores an entry with %s', async (_name, broken) => {
    const entry = { ...KEY, ...VALUE, at: 1, ...broken };
    writeFileSync(join(dir, STATE_FILE), JSON.stringify({ format: 'tilestamp-versions/1', entries: [entry] }));
    expect(await remembered(KEY)).toBeUndefined();
  });

  it('writes atomically: no temporary file is left, and the file always parses', async () => {
    const state = new VersionState(dir, memoryLogger());
    await Promise.all([state.remember(KEY, VALUE), state.remember({ ...KEY, ino: '2' }, VALUE)]);
    expect(readdirSync(dir)).toEqual([STATE_FILE]);
    const parsed = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as { entries: unknown[] };
    expect(parsed.entries).toHaveLength(2);
  });

  it('keeps one entry per file and source: a newer version replaces the older', async () => {
    const state = new VersionState(dir, memoryLogger());
    await state.remember(KEY, VALUE);
    const touched = { ...KEY, mtimeNs: '1764187999000000000', ctimeNs: '1764187999000000000' };
    await state.remember(touched, { ...VALUE, version: 'fedcba9876543210' });
    const parsed = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as { entries: unknown[] };
    expect(parsed.entries).toHaveLength(1);
    expect(await remembered(touched)).toEqual({ ...VALUE, version: 'fedcba9876543210' });
    expect(await remembered(KEY)).toBeUndefined();
  });

  it(`keeps the newest ${STATE_ENTRIES_LIMIT} entries`, async () => {
    const entries = Array.from({ length: STATE_ENTRIES_LIMIT }, (_, i) => ({ ...KEY, ino: String(i), ...VALUE, at: i + 1 }));
    writeFileSync(join(dir, STATE_FILE), JSON.stringify({ format: 'tilestamp-versions/1', entries }));
    await new VersionState(dir, memoryLogger(), () => STATE_ENTRIES_LIMIT + 10).remember({ ...KEY, ino: 'new' }, VALUE);
    const parsed = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as { entries: { ino: string }[] };
    expect(parsed.entries).toHaveLength(STATE_ENTRIES_LIMIT);
    expect(parsed.entries.map((e) => e.ino)).toContain('new');
    expect(parsed.entries.map((e) => e.ino)).not.toContain('0');
  });

  it('warns once when the state dir cannot be written, and keeps working without it', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const logger = memoryLogger();
    const state = new VersionState(join(dir, 'a-file', 'state'), logger);
    await state.remember(KEY, VALUE);
    await state.remember({ ...KEY, ino: '2' }, VALUE);
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => l.message)).toEqual(['state dir not writable: versions will be computed again after a restart']);
    expect(readdirSync(dir)).toEqual(['a-file']);
  });
});
