import { describe, expect, it } from 'vitest';
import { planSync, type ServedFile, type TilesetSnapshot, type WorkerView } from '../../src/cluster/protocol.ts';

const file = (ino: number, size = 100, mtimeMs = 1) => ({ ino, size, mtimeMs });
const SINCE = new Date('2026-01-01T00:00:00.000Z');
const INFO = { name: 'x', minzoom: 0, maxzoom: 2, bounds: [-180, -85, 180, 85], center: [0, 0, 0] } as ServedFile['info'];
const ok = (id: string, version: string, ino: number, served: Partial<ServedFile> = {}): TilesetSnapshot => ({
  state: 'ok',
  id,
  path: `/d/${id}.mbtiles`,
  source: { version, format: 'pbf', info: INFO, file: file(ino), ...served },
  loadedAt: SINCE,
  warnings: [],
});
const failed = (id: string): TilesetSnapshot => ({
  state: 'failed',
  id,
  path: `/d/${id}.mbtiles`,
  reason: 'broken',
  since: SINCE,
});
const loading = (id: string): TilesetSnapshot => ({ state: 'loading', id, path: `/d/${id}.mbtiles` });

const view = (entries: [string, { state: 'ok' | 'loading' | 'failed'; version?: string; ino?: number }][]): WorkerView =>
  new Map(
    entries.map(([id, e]) => [id, { state: e.state, version: e.version, file: e.ino === undefined ? undefined : file(e.ino) }]),
  );

describe('planSync: what a worker does to serve what the primary decided', () => {
  it.each<[string, WorkerView, TilesetSnapshot[], string[]]>([
    ['nothing yet, one tileset ready', view([]), [ok('a', 'v1', 7)], ['open a']],
    [
      'the same version from the same file: only update',
      view([['a', { state: 'ok', version: 'v1', ino: 7 }]]),
      [ok('a', 'v1', 7)],
      ['update a'],
    ],
    ['a new version', view([['a', { state: 'ok', version: 'v1', ino: 7 }]]), [ok('a', 'v2', 8)], ['open a']],
    [
      'the same version from another inode (rebuilt, renamed in)',
      view([['a', { state: 'ok', version: 'v1', ino: 7 }]]),
      [ok('a', 'v1', 8)],
      ['open a'],
    ],
    [
      'the same inode written in place (size or mtime moved)',
      view([['a', { state: 'ok', version: 'v1', ino: 7 }]]),
      [ok('a', 'v1', 7, { file: file(7, 100, 2) })],
      ['open a'],
    ],
    [
      'the same inode rewritten with size and mtime put back (only the ctime moved)',
      view([['a', { state: 'ok', version: 'v1', ino: 7 }]]),
      [ok('a', 'v1', 7, { file: { ...file(7), ctimeMs: 99 } })],
      ['open a'],
    ],
    ['a file that failed', view([['a', { state: 'ok', version: 'v1', ino: 7 }]]), [failed('a')], ['mark a']],
    ['still loading at start', view([]), [loading('a')], ['mark a']],
    [
      'a removed file goes last, after what was added (a rename)',
      view([['a', { state: 'ok', version: 'v1', ino: 7 }]]),
      [ok('b', 'v1', 7)],
      ['open b', 'remove a'],
    ],
    [
      'a worker that has a failed entry and now gets it served',
      view([['a', { state: 'failed' }]]),
      [ok('a', 'v1', 7)],
      ['open a'],
    ],
  ])('%s', (_name, current, wanted, expected) => {
    expect(planSync(current, wanted).map((step) => `${step.do} ${'id' in step ? step.id : step.tileset.id}`)).toEqual(expected);
  });
});
