import { describe, expect, it } from 'vitest';
import type { TilesetEntry } from '../../src/source/registry.ts';
import {
  type Current,
  type Decision,
  decide,
  decideRemoval,
  type LoadedSource,
  type LoadResult,
} from '../../src/source/reload-decision.ts';
import type { FileState } from '../../src/source/snapshot.ts';
import { WAITING_TOO_LONG_MS } from '../../src/source/waiting.ts';

const NOW = 1_000_000;
const DATE = new Date('2026-01-01T00:00:00Z');
const EARLIER = new Date('2025-12-31T00:00:00Z');
const context = { now: NOW, date: DATE, settleMs: 100, versionFrom: 'content' as const };

const file = (over: Partial<FileState> = {}): FileState => ({
  path: '/d/a.mbtiles',
  size: 1000,
  mtimeMs: 1_700_000_000_000,
  ctimeMs: 1_700_000_000_000,
  ino: 1,
  busy: false,
  ...over,
});
const a = file();
const touched = file({ mtimeMs: a.mtimeMs + 1, ctimeMs: a.mtimeMs + 1 });
const renamedIn = file({ ino: 2 });

const source = (version: string, over: { warnings?: string[]; outsideGrid?: number } = {}) =>
  ({
    id: 'a',
    version,
    format: 'pbf',
    warnings: over.warnings ?? [],
    digest: { version, tiles: 10, bytes: 500, ...(over.outsideGrid !== undefined && { outsideGrid: over.outsideGrid }) },
    intact: () => true,
    close: () => {},
  }) as unknown as LoadedSource;
const v1 = source('v1');
const v2 = source('v2');

const loading: TilesetEntry = { state: 'loading', id: 'a', path: a.path };
const serving = (over: Partial<Extract<TilesetEntry, { state: 'ok' }>> = {}): TilesetEntry => ({
  state: 'ok',
  id: 'a',
  path: a.path,
  source: v1,
  loadedAt: EARLIER,
  warnings: [],
  served: a,
  file: a,
  ...over,
});
const waitingOn = (reason: string, over: Partial<Extract<TilesetEntry, { state: 'waiting' }>> = {}): TilesetEntry => ({
  state: 'waiting',
  id: 'a',
  path: a.path,
  reason,
  since: EARLIER,
  file: a,
  waiting: { from: NOW - 5_000, tooLong: false },
  ...over,
});
const now = (entry: TilesetEntry | undefined, intact = entry?.state === 'ok'): Current => ({ entry, intact });

const loaded = (s: LoadedSource, f = a): LoadResult => ({ kind: 'loaded', file: f, source: s, ms: 7 });
const invalid = (f = a): LoadResult => ({ kind: 'invalid', file: f, reason: 'not an MBTiles file' });
const transient = (cause: string): LoadResult => ({ kind: 'transient', file: a, cause, detail: `${cause} at /d/a.mbtiles` });
const HOT = 'hot journal beside the file';
const WAL = 'a -wal file with content beside the file';

/** Every field of the decision (absent ones as undefined), its log lines as `level message`. */
const shown = ({ set, remove, discard, logs, outcome, retryAt }: Decision) => ({
  set,
  remove,
  discard,
  logs: logs.map((l) => `${l.level} ${l.message}`),
  outcome,
  retryAt,
});

type Row = [string, Current, LoadResult, Record<string, unknown>];

describe('decide: one load result against what serves now', () => {
  it.each<Row>([
    [
      'first load: added',
      now(loading),
      loaded(v1),
      {
        set: { state: 'ok', source: v1, loadedAt: DATE, served: a, file: a, warnings: [] },
        logs: ['info tileset loaded'],
        outcome: 'added',
        discard: undefined,
        retryAt: undefined,
      },
    ],
    [
      'first load with warnings and rows off the grid: each warning logged, outside_grid kept',
      now(loading),
      loaded(source('v1', { warnings: ['12 rows off the grid'], outsideGrid: 12 })),
      {
        set: { state: 'ok', warnings: ['12 rows off the grid'], outsideGrid: 12 },
        logs: ['warn 12 rows off the grid', 'info tileset loaded'],
        outcome: 'added',
      },
    ],
    [
      'the same file again (SIGHUP): the loaded handle is closed, nothing changes',
      now(serving()),
      loaded(v1),
      { discard: true, set: undefined, logs: ['debug tileset unchanged'], outcome: 'unchanged' },
    ],
    [
      'the same file back after a rejected newer one: rejection and retry cleared, served handle kept',
      now(serving({ rejected: { reason: 'bad', since: EARLIER }, retry: { at: NOW, attempts: 1, reason: 'x' }, file: touched })),
      loaded(v1),
      {
        discard: true,
        set: { state: 'ok', source: v1, rejected: undefined, retry: undefined, file: a, loadedAt: EARLIER },
        logs: ['debug tileset unchanged'],
        outcome: 'unchanged',
      },
    ],
    [
      'touched (same version, the file moved on): a fresh handle swaps in quietly',
      now(serving()),
      loaded(source('v1'), touched),
      {
        discard: undefined,
        set: { state: 'ok', served: touched, file: touched },
        logs: ['info tileset unchanged'],
        outcome: 'unchanged',
      },
    ],
    [
      'same version renamed in (another inode): a fresh handle, unchanged',
      now(serving()),
      loaded(source('v1'), renamedIn),
      { discard: undefined, set: { state: 'ok', served: renamedIn }, outcome: 'unchanged' },
    ],
    [
      'same version, same file state, but the served handle is no longer intact: a fresh handle',
      now(serving(), false),
      loaded(source('v1')),
      { discard: undefined, set: { state: 'ok', loadedAt: DATE }, logs: ['info tileset unchanged'], outcome: 'unchanged' },
    ],
    [
      'new version: swapped',
      now(serving()),
      loaded(v2, touched),
      { set: { state: 'ok', source: v2, served: touched }, logs: ['info tileset swapped'], outcome: 'swapped' },
    ],
    [
      'new version while a rejection stood: swapped, the rejection gone with the old entry',
      now(serving({ rejected: { reason: 'bad', since: EARLIER } })),
      loaded(v2, touched),
      { set: expect.not.objectContaining({ rejected: expect.anything() }), logs: ['info tileset swapped'], outcome: 'swapped' },
    ],
    [
      'invalid with nothing served: failed',
      now(loading),
      invalid(touched),
      {
        set: { state: 'failed', reason: 'not an MBTiles file', since: DATE, file: touched },
        logs: ['error tileset failed to load'],
        outcome: 'failed',
      },
    ],
    [
      'invalid newer file while one serves: rejected, the entry stays ok and serving',
      now(serving({ retry: { at: NOW, attempts: 2, reason: 'x' } })),
      invalid(touched),
      {
        set: {
          state: 'ok',
          source: v1,
          served: a,
          file: touched,
          retry: undefined,
          rejected: { reason: 'not an MBTiles file', since: DATE },
        },
        logs: ['warn newer file rejected'],
        outcome: 'rejected',
      },
    ],
    [
      'the served inode moved (not intact) and the newer file is invalid: still rejected, the tileset is kept',
      now(serving(), false),
      invalid(renamedIn),
      { set: { state: 'ok', source: v1, rejected: { reason: 'not an MBTiles file' } }, outcome: 'rejected' },
    ],
    [
      'transient error on a new file: waiting, retried after 1 s, warned once, with the hint',
      now(loading),
      transient('EACCES'),
      {
        set: {
          state: 'waiting',
          reason: 'cannot be opened for now (EACCES)',
          since: DATE,
          retry: { at: NOW + 1_000, attempts: 1 },
          waiting: { from: NOW, tooLong: false },
          hint: 'the server may not read the file: check its owner and mode',
        },
        logs: ['warn file cannot be read for now; retrying'],
        outcome: undefined,
      },
    ],
    [
      'transient error again: the backoff doubles, the wait and its start go on, no new warning',
      now(waitingOn('cannot be opened for now (SQLITE_BUSY)', { retry: { at: NOW, attempts: 1, reason: 'x' } })),
      transient('SQLITE_BUSY'),
      {
        set: {
          state: 'waiting',
          since: EARLIER,
          retry: { at: NOW + 2_000, attempts: 2 },
          waiting: { from: NOW - 5_000 },
        },
        logs: [],
      },
    ],
    [
      'transient error past the waiting bound: waiting too long, warned once',
      now(
        waitingOn('cannot be opened for now (SQLITE_BUSY)', {
          retry: { at: NOW, attempts: 5, reason: 'x' },
          waiting: { from: NOW - WAITING_TOO_LONG_MS, tooLong: false },
        }),
      ),
      transient('SQLITE_BUSY'),
      { set: { state: 'waiting', waiting: { tooLong: true } }, logs: ['warn tileset waiting too long'] },
    ],
    [
      'transient error, already waiting too long: not warned again',
      now(
        waitingOn('cannot be opened for now (SQLITE_BUSY)', {
          retry: { at: NOW, attempts: 6, reason: 'x' },
          waiting: { from: NOW - WAITING_TOO_LONG_MS - 1, tooLong: true },
        }),
      ),
      transient('SQLITE_BUSY'),
      { set: { state: 'waiting', waiting: { tooLong: true } }, logs: [] },
    ],
    [
      'transient error while one serves: it keeps serving, with a retry',
      now(serving()),
      transient('SQLITE_BUSY'),
      {
        set: {
          state: 'ok',
          source: v1,
          retry: { at: NOW + 1_000, attempts: 1, reason: 'cannot be opened for now (SQLITE_BUSY)' },
        },
        logs: ['warn file cannot be read for now; retrying'],
        outcome: undefined,
      },
    ],
    [
      'a hot journal beside a new file: waiting, warned, retried a settle time later',
      now(loading),
      { kind: 'busy', file: file({ busy: true, busyWith: '-journal' }) },
      {
        set: {
          state: 'waiting',
          reason: HOT,
          since: DATE,
          retry: { at: NOW + 100, attempts: 0 },
          hint: expect.stringMatching(/rolls the journal back/),
        },
        logs: ['warn tileset waiting'],
        outcome: undefined,
      },
    ],
    [
      'still the same writer: the wait goes on, not warned again',
      now(waitingOn(WAL)),
      { kind: 'busy', file: file({ busy: true, busyWith: '-wal' }) },
      { set: { state: 'waiting', reason: WAL, since: EARLIER, waiting: { from: NOW - 5_000 } }, logs: [] },
    ],
    [
      'another reason to wait: since starts again, warned',
      now(waitingOn('cannot be opened for now (SQLITE_BUSY)')),
      { kind: 'busy', file: file({ busy: true, busyWith: '-wal' }) },
      { set: { state: 'waiting', reason: WAL, since: DATE }, logs: ['warn tileset waiting'] },
    ],
    [
      'a writer beside a served file: it keeps serving, with a retry',
      now(serving()),
      { kind: 'busy', file: file({ busy: true, busyWith: '-wal' }) },
      {
        set: { state: 'ok', source: v1, file: a, retry: { at: NOW + 100, attempts: 0, reason: WAL } },
        logs: ['debug file not complete yet'],
      },
    ],
    [
      'moved between the two looks: not complete yet, nothing changes, looked at a settle time later',
      now(serving()),
      { kind: 'unsettled', file: touched },
      { set: undefined, logs: ['debug file not complete yet'], outcome: undefined, retryAt: NOW + 100 },
    ],
    [
      'torn while digested (a new file): not complete yet, it stays loading',
      now(loading),
      { kind: 'unsettled', file: a, reason: 'changed while being versioned' },
      { set: undefined, logs: ['debug file not complete yet'], outcome: undefined, retryAt: NOW + 100 },
    ],
    [
      'gone meanwhile: nothing now, the next pass removes it',
      now(serving()),
      { kind: 'gone' },
      { set: undefined, logs: [], retryAt: NOW + 100 },
    ],
  ])('%s', (_, current, result, expected) => {
    expect(shown(decide('a', current, result, context))).toMatchObject(expected);
  });

  it('logs what an operator needs: the versions, the torn-read reason, the serving version of a rejection', () => {
    const swap = decide('a', now(serving()), loaded(v2, touched), context).logs[0];
    expect(swap?.fields).toMatchObject({ tileset: 'a', version: 'v2', previous: 'v1', versionFrom: 'content', tiles: 10, ms: 7 });
    const torn = decide('a', now(loading), { kind: 'unsettled', file: a, reason: 'changed while being versioned' }, context)
      .logs[0];
    expect(torn?.fields).toMatchObject({ reason: 'changed while being versioned' });
    const rejected = decide('a', now(serving()), invalid(touched), context).logs[0];
    expect(rejected?.fields).toMatchObject({ serving: 'v1', reason: 'not an MBTiles file' });
  });
});

describe('decideRemoval', () => {
  it.each<[string, TilesetEntry, string | undefined]>([
    ['a serving tileset', serving(), 'v1'],
    ['one still loading', loading, undefined],
    ['a failed one', { state: 'failed', id: 'a', path: a.path, reason: 'x', since: EARLIER }, undefined],
  ])('%s: removed, logged with its last version', (_, entry, previous) => {
    const decision = decideRemoval(entry);
    expect(shown(decision)).toMatchObject({ remove: true, set: undefined, outcome: 'removed', logs: ['info tileset removed'] });
    expect(decision.logs[0]?.fields).toMatchObject({ tileset: 'a', previous });
  });
});
