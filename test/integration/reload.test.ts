import {
  closeSync,
  copyFileSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.ts';
import { openFiles } from '../helpers/fds.ts';
import {
  copyFixture,
  execSql,
  FIXTURES,
  REPO,
  readStoredTiles,
  removeDir,
  tempDir,
  truncatedCopy,
  writeBytes,
} from '../helpers/fixtures.ts';
import { getGzip, header, json, rawRequest } from '../helpers/http.ts';
import { spawnServer } from '../helpers/process.ts';
import { rewriteInPlace, sha1 } from '../helpers/rewrite.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { openSse } from '../helpers/sse.ts';
import { sleep, waitFor } from '../helpers/wait.ts';

interface HealthEntry {
  state: string;
  version?: string;
  reason?: string;
  rejected?: { reason: string; since: string };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A temporary data folder with `files` (fixture names, or [fixture, as]) and a watching server over it. */
async function setup(
  files: (string | [string, string])[],
  overrides: Parameters<typeof startTestServer>[1] = {},
  clock?: ManualClock,
) {
  const dir = tempDir();
  for (const f of files) Array.isArray(f) ? copyFixture(f[0], dir, f[1]) : copyFixture(f, dir);
  const server = await startTestServer(dir, { watch: true, pollMs: 0, settleMs: 150, ...overrides }, { clock });
  cleanups.push(() => removeDir(dir));
  cleanups.push(() => server.close());
  return { dir, server };
}

/** Writes a fixture beside the target under a hidden name, then renames it over: an atomic replace. */
function renameOver(fixture: string, target: string): void {
  const staged = join(target, '..', `.staged-${process.hrtime.bigint()}.tmp`);
  copyFileSync(join(FIXTURES, fixture), staged);
  renameSync(staged, target);
}

async function health(server: TestServer): Promise<Record<string, HealthEntry>> {
  return json<{ tilesets: Record<string, HealthEntry> }>(await rawRequest(`${server.url}/health`)).tilesets;
}

const versionOf = async (server: TestServer, id: string) => (await health(server))[id]?.version;

describe('reload triggers', () => {
  it('swaps in a file renamed over the served one, and announces it', async () => {
    const { dir, server } = await setup([['countries.mbtiles', 'countries.mbtiles']]);
    const before = await versionOf(server, 'countries');
    const events = await openSse(`${server.url}/api/tile-version/events`);
    cleanups.push(() => events.close());
    await events.until((e) => e.length >= 1);
    renameOver('countries-v2.mbtiles', join(dir, 'countries.mbtiles'));
    await waitFor(async () => (await versionOf(server, 'countries')) !== before, 'the new version');
    const after = await versionOf(server, 'countries');
    await events.until((e) => e.length >= 2);
    expect(JSON.parse(events.events[1]!.data).changed).toEqual({ id: 'countries', version: after, previous: before });
    const tile = await getGzip(`${server.url}/tiles/countries/0/0/0.pbf?v=${after}`);
    expect(tile.body.equals(readStoredTiles(join(FIXTURES, 'countries-v2.mbtiles')).find((t) => t.z === 0)!.data)).toBe(true);
    expect(header(tile, 'cache-control')).toBe('public, max-age=31536000, immutable');
    expect(server.logs.some((l) => l.message === 'tileset swapped' && l.fields.previous === before)).toBe(true);
  });

  it.each([
    ['while nobody asks for tiles', 0, undefined],
    ['while clients ask for tiles all along (no cache: every read checks the file)', 4, 0],
    ['while clients ask for tiles all along (hot-tile cache: hits never look at the file)', 4, undefined],
  ])('does nothing visible for a touch %s: same version, no event, no 503', async (_, clients, cacheBytes) => {
    const { dir, server } = await setup(['world_cities.mbtiles'], cacheBytes === undefined ? {} : { cacheBytes });
    const before = await versionOf(server, 'world_cities');
    const events = await openSse(`${server.url}/api/tile-version/events`);
    cleanups.push(() => events.close());
    const statuses = new Map<number, number>();
    let stop = false;
    const ask = async () => {
      for (let i = 0; !stop && i < 20_000; i++) {
        const res = await getGzip(`${server.url}/tiles/world_cities/${i % 3}/0/0.pbf`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    const running = Array.from({ length: clients }, ask);
    await sleep(100);
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(dir, 'world_cities.mbtiles'), later, later);
    await waitFor(
      () =>
        server.logs.some(
          (l) => l.fields.tileset === 'world_cities' && l.fields.version === before && l.message !== 'tileset loaded',
        ),
      'the touched file to be re-checked',
    );
    await server.rescan('test'); // a regular pass (with its settle time) has looked too
    stop = true;
    await Promise.all(running);
    expect(await versionOf(server, 'world_cities')).toBe(before);
    expect(events.events).toHaveLength(1);
    expect((await getGzip(`${server.url}/tiles/world_cities/0/0/0.pbf`)).status).toBe(200);
    if (clients > 0) {
      expect([...statuses.keys()].filter((status) => status !== 200 && status !== 204)).toEqual([]);
      expect(statuses.get(200)).toBeGreaterThan(20);
      // Without the cache a read notices the write and re-checks at once; with it, the hits are
      // bytes read before the write, and the regular pass takes the touched file.
      if (cacheBytes === 0) {
        expect(server.logs.some((l) => l.message === 'tileset reopened after an in-place write')).toBe(true);
      }
    }
  });

  it('counts a touch as unchanged, never as swapped, and logs no swap', async () => {
    const { dir, server } = await setup(['world_cities.mbtiles']);
    const before = await versionOf(server, 'world_cities');
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(dir, 'world_cities.mbtiles'), later, later);
    const reloads = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const count = (outcome: string) =>
        Number(new RegExp(`^tilestamp_reloads_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { unchanged: count('unchanged'), swapped: count('swapped') };
    };
    await waitFor(async () => {
      const { unchanged, swapped } = await reloads();
      return unchanged + swapped > 0;
    }, 'the touched file to be decided on');
    expect(await reloads()).toEqual({ unchanged: 1, swapped: 0 });
    expect(server.logs.filter((l) => l.message === 'tileset swapped')).toEqual([]);
    expect(server.logs.some((l) => l.message === 'tileset unchanged' && l.fields.version === before)).toBe(true);
    expect(await versionOf(server, 'world_cities')).toBe(before);
  });

  it('adds new files and removes deleted ones (404, handle closed); a rename is both', async () => {
    const { dir, server } = await setup(['world_cities.mbtiles']);
    copyFixture('countries.mbtiles', dir, 'sub/new.mbtiles');
    await waitFor(async () => (await health(server))['sub/new']?.state === 'ok', 'the added file');
    expect((await getGzip(`${server.url}/tiles/sub/new/0/0/0.pbf`)).status).toBe(200);
    unlinkSync(join(dir, 'world_cities.mbtiles'));
    await waitFor(async () => (await health(server)).world_cities === undefined, 'the removed file');
    const gone = await rawRequest(`${server.url}/tiles/world_cities/0/0/0.pbf`);
    expect(gone.status).toBe(404);
    expect(openFiles().some((l) => l.startsWith(join(dir, 'world_cities.mbtiles')))).toBe(false);
    renameSync(join(dir, 'sub/new.mbtiles'), join(dir, 'renamed.mbtiles'));
    await waitFor(async () => {
      const h = await health(server);
      return h['sub/new'] === undefined && h.renamed?.state === 'ok';
    }, 'the rename');
  });

  it.each([
    [
      'garbage',
      (path: string) => writeBytes(path, 'not a tileset at all\n'.repeat(500)),
      /cannot open as SQLite|not a database|no metadata/i,
    ],
    [
      'truncated',
      (path: string) => truncatedCopy(join(FIXTURES, 'countries-v2.mbtiles'), path, 150_000),
      /malformed|cannot be read|not a database/i,
    ],
    ['zero bytes', (path: string) => writeBytes(path, ''), /no metadata table/],
  ])('never lets a %s file replace the served one, shows why, and takes the next good file', async (_, write, reason) => {
    const { dir, server } = await setup(['countries.mbtiles']);
    const before = await versionOf(server, 'countries');
    const events = await openSse(`${server.url}/api/tile-version/events`);
    const staged = join(dir, '.bad.tmp');
    write(staged);
    renameSync(staged, join(dir, 'countries.mbtiles'));
    await waitFor(async () => (await health(server)).countries?.rejected !== undefined, 'the rejection');
    await events.until((all) => all.some((e) => e.event === 'rejected'));
    const announced = events.events.filter((e) => e.event === 'rejected').map((e) => JSON.parse(e.data));
    events.close();
    expect(announced).toEqual([{ id: 'countries', reason: expect.stringMatching(reason), serving: before }]);
    expect(events.events.filter((e) => e.event === 'versions')).toHaveLength(1); // the one on connect
    const entry = (await health(server)).countries!;
    expect(entry).toMatchObject({ state: 'ok', version: before });
    expect(entry.rejected?.reason).toMatch(reason);
    // The rename moved the served inode's ctime, as a rewrite in place would have: a tile not
    // read before is not read from it any more (503, no-store) until a good file is taken.
    const tile = await getGzip(`${server.url}/tiles/countries/0/0/0.pbf?v=${before}`);
    expect(tile.status).toBe(503);
    expect(header(tile, 'cache-control')).toBe('no-store');
    expect(header(tile, 'retry-after')).toBe('1');
    expect(
      server.logs.some((l) => l.level === 'warn' && l.message === 'newer file rejected' && l.fields.serving === before),
    ).toBe(true);
    const metrics = (await rawRequest(`${server.url}/metrics`)).body.toString();
    expect(metrics).toMatch(/tilestamp_reloads_total\{outcome="rejected"\} 1/);
    renameOver('countries-v2.mbtiles', join(dir, 'countries.mbtiles'));
    await waitFor(async () => (await versionOf(server, 'countries')) !== before, 'the good file after the bad one');
    expect((await health(server)).countries?.rejected).toBeUndefined();
  });

  it('lists a file that was never good as failed, and serves it once it is fixed', async () => {
    const { dir, server } = await setup([]);
    const events = await openSse(`${server.url}/api/tile-version/events`);
    writeBytes(join(dir, 'late.mbtiles'), 'garbage');
    await waitFor(async () => (await health(server)).late?.state === 'failed', 'the failure');
    await events.until((all) => all.some((e) => e.event === 'rejected'));
    expect(JSON.parse(events.events.find((e) => e.event === 'rejected')!.data)).toMatchObject({ id: 'late', serving: null });
    events.close();
    renameOver('world_cities.mbtiles', join(dir, 'late.mbtiles'));
    await waitFor(async () => (await health(server)).late?.state === 'ok', 'the fix');
  });

  it('waits for a file written slowly in chunks, and never takes it half-written', async () => {
    // The reloader's clock moves only here, by half the settle time per chunk: however slow the
    // machine, a write always falls between two looks that would otherwise take the file.
    const clock = new ManualClock();
    const { dir, server } = await setup([], { settleMs: 500 }, clock);
    const bytes = readFileSync(join(FIXTURES, 'countries.mbtiles'));
    const fd = openSync(join(dir, 'slow.mbtiles'), 'w');
    const chunk = Math.ceil(bytes.length / 12);
    for (let offset = 0; offset < bytes.length; offset += chunk) {
      writeSync(fd, bytes, offset, Math.min(chunk, bytes.length - offset));
      clock.advance(250);
      const entry = (await health(server)).slow;
      expect(entry?.state, `after ${offset + chunk} of ${bytes.length} bytes`).not.toBe('failed');
      expect(entry?.state).not.toBe('ok');
    }
    closeSync(fd);
    await waitFor(async () => {
      clock.advance(500);
      return (await health(server)).slow?.state === 'ok';
    }, 'the finished file');
    expect(server.logs.some((l) => l.fields.tileset === 'slow' && l.level === 'error')).toBe(false);
  });

  it('shows a file with a hot -journal beside it as waiting (warned once), and takes it when the journal goes', async () => {
    const { dir, server } = await setup([]);
    writeBytes(join(dir, 'busy.mbtiles-journal'), 'a hot journal');
    copyFixture('world_cities.mbtiles', dir, 'busy.mbtiles');
    await waitFor(async () => (await health(server)).busy?.state === 'waiting', 'the file to be waiting');
    expect((await health(server)).busy?.reason).toBe('hot journal beside the file');
    await server.rescan('test', true); // looked at again: still waiting, no second warning
    expect((await health(server)).busy?.state).toBe('waiting');
    expect(server.logs.filter((l) => l.level === 'warn' && l.fields.tileset === 'busy')).toHaveLength(1);
    expect((await rawRequest(`${server.url}/tiles/busy/0/0/0.pbf`)).status).toBe(503);
    unlinkSync(join(dir, 'busy.mbtiles-journal'));
    await waitFor(async () => (await health(server)).busy?.state === 'ok', 'the file once the journal is gone');
  });

  it('forgets a file that was busy at start once it is deleted (never "loading" forever)', async () => {
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    copyFixture('world_cities.mbtiles', dir, 'busy.mbtiles');
    copyFixture('countries.mbtiles', dir);
    writeBytes(join(dir, 'busy.mbtiles-journal'), 'a hot journal');
    const server = await startTestServer(dir, { watch: true, settleMs: 150 });
    cleanups.push(() => server.close());
    expect((await health(server)).busy?.state).toBe('waiting');
    unlinkSync(join(dir, 'busy.mbtiles'));
    unlinkSync(join(dir, 'busy.mbtiles-journal'));
    await waitFor(async () => (await health(server)).busy === undefined, 'the deleted file to leave /health');
    expect((await rawRequest(`${server.url}/tiles/busy/0/0/0.pbf`)).status).toBe(404);
    expect((await health(server)).countries?.state).toBe('ok');
  });

  it('lists skipped names and dangling symbolic links in /health, with reasons', async () => {
    const { dir, server } = await setup(['world_cities.mbtiles']);
    copyFixture('countries.mbtiles', dir, 'bad name.mbtiles');
    symlinkSync(join(dir, 'nowhere.mbtiles'), join(dir, 'dangling.mbtiles'));
    await server.rescan('test');
    const seen = json<{ skipped?: { name: string; reason: string }[] }>(await rawRequest(`${server.url}/health`));
    expect(seen.skipped).toEqual([
      { name: 'bad name.mbtiles', reason: expect.stringMatching(/not a valid id/) },
      { name: 'dangling.mbtiles', reason: 'dangling symbolic link' },
    ]);
    unlinkSync(join(dir, 'dangling.mbtiles'));
    await server.rescan('test');
    expect(json<{ skipped?: unknown[] }>(await rawRequest(`${server.url}/health`)).skipped).toHaveLength(1);
  });

  it('finds changes by polling alone when file events do not arrive (bind mounts, NFS)', async () => {
    const { dir, server } = await setup(['countries.mbtiles'], { watch: false, pollMs: 250 });
    const before = await versionOf(server, 'countries');
    renameOver('countries-v2.mbtiles', join(dir, 'countries.mbtiles'));
    await waitFor(async () => (await versionOf(server, 'countries')) !== before, 'the poll to see the change');
  });

  it('reloads on SIGHUP only, with --no-watch', async () => {
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    copyFixture('countries.mbtiles', dir);
    const proc = await spawnServer(
      'node',
      [join(REPO, 'dist/cli.js'), 'serve', '--no-watch', '--settle-ms', '100', '--log-level', 'debug'],
      {
        TILESTAMP_DATA: dir,
        TILESTAMP_PORT: '0',
        TILESTAMP_HOST: '127.0.0.1',
      },
    );
    cleanups.push(async () => void (await proc.stop()));
    const version = async () =>
      json<{ tilesets: Record<string, string> }>(await rawRequest(`${proc.url}/api/tile-version`)).tilesets.countries;
    const before = await version();
    renameOver('countries-v2.mbtiles', join(dir, 'countries.mbtiles'));
    expect(await version()).toBe(before);
    proc.child.kill('SIGHUP');
    await waitFor(async () => (await version()) !== before, 'the SIGHUP rescan');
    // No pass but the first and the one SIGHUP asked for looked at anything.
    const passes = proc.stdout.map((l) => JSON.parse(l)).filter((l) => l.msg === 'rescan');
    expect(passes.map((l) => l.reason)).toEqual(['start', 'SIGHUP']);
  });
});

describe('in-place overwrite', () => {
  it('rewritten in place with the same tiles in another page layout: only true tiles, then the same version', async () => {
    // countries-rebuilt.mbtiles: the same tiles as countries.mbtiles in a file of the same size
    // whose pages differ. Written over the served file without truncating (rsync --inplace,
    // dd conv=notrunc), nothing but the mtime tells; a stale page cache would mix the layouts.
    const { dir, server } = await setup(['countries.mbtiles']);
    const before = await versionOf(server, 'countries');
    const events = await openSse(`${server.url}/api/tile-version/events`);
    cleanups.push(() => events.close());
    const tiles = new Map(readStoredTiles(join(FIXTURES, 'countries.mbtiles')).map((t) => [`${t.z}/${t.x}/${t.y}`, t.data]));
    const bytes = readFileSync(join(FIXTURES, 'countries-rebuilt.mbtiles'));
    expect(bytes.length).toBe(readFileSync(join(FIXTURES, 'countries.mbtiles')).length);
    const statuses = new Map<number, number>();
    const wrong: string[] = [];
    let done = false;
    const client = async (n: number) => {
      for (let i = n; !done && i < 20_000; i += 3) {
        const z = i % 4;
        const x = i % 2 ** z;
        const y = (i >> 1) % 2 ** z;
        const res = await getGzip(`${server.url}/tiles/countries/${z}/${x}/${y}.pbf`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const key = `${z}/${x}/${2 ** z - 1 - y}`;
        if (res.status === 200 && !res.body.equals(tiles.get(key) ?? Buffer.alloc(0))) wrong.push(`${key}: not its tile`);
        if (res.status === 204 && tiles.has(key)) wrong.push(`${key}: 204 for a stored tile`);
        if (res.status === 200 || res.status === 204) expect(header(res, 'x-tilestamp-version')).toBe(before);
      }
    };
    const clients = [0, 1, 2].map(client);
    await sleep(100);
    const fd = openSync(join(dir, 'countries.mbtiles'), 'r+');
    for (let offset = 0; offset < bytes.length; offset += 32_768) {
      writeSync(fd, bytes, offset, Math.min(32_768, bytes.length - offset), offset);
      await sleep(20);
    }
    closeSync(fd);
    await server.rescan('test'); // a regular pass, settle time included, has looked at the result
    done = true;
    await Promise.all(clients);
    expect(wrong).toEqual([]);
    expect([...statuses.keys()].filter((s) => s !== 200 && s !== 204 && s !== 503)).toEqual([]);
    expect(await versionOf(server, 'countries')).toBe(before);
    expect((await getGzip(`${server.url}/tiles/countries/0/0/0.pbf`)).status).toBe(200);
    expect(events.events.filter((e) => e.event === 'versions')).toHaveLength(1);
  });

  it('sees a rewrite that keeps the size and puts the mtime back (cp -p, touch -r): the ctime moved', async () => {
    const { dir, server } = await setup(['world_cities.mbtiles'], { pollMs: 200 });
    const target = join(dir, 'world_cities.mbtiles');
    const before = await versionOf(server, 'world_cities');
    // The same file with one byte of the z0 tile changed: same size, other tiles, other version.
    const edited = copyFixture('world_cities.mbtiles', tempDir(), 'edited.mbtiles');
    const stored = readStoredTiles(edited).find((t) => t.z === 0)!;
    const changed = Buffer.from(stored.data);
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 0xff;
    execSql(edited, `UPDATE tiles SET tile_data = X'${changed.toString('hex')}' WHERE zoom_level = 0`);
    const bytes = readFileSync(edited);
    expect(bytes.length).toBe(statSync(target).size);
    const { atime, mtime } = statSync(target);
    writeFileSync(target, bytes); // same inode, same size
    utimesSync(target, atime, mtime); // and the mtime put back
    await waitFor(async () => (await versionOf(server, 'world_cities')) !== before, 'the rewrite to be seen');
    const after = await versionOf(server, 'world_cities');
    const tile = await getGzip(`${server.url}/tiles/world_cities/0/0/0.pbf?v=${after}`);
    expect(tile.body.equals(changed)).toBe(true);
    expect(header(tile, 'x-tilestamp-version')).toBe(after);
  });

  it('rewritten in place (mtime put back), then renamed over: every tile is the one of the version it names (SHA-1)', async () => {
    const { dir, server } = await setup([], { cacheBytes: 0 });
    const target = join(dir, 'countries.mbtiles');
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    utimesSync(copyFixture('countries.mbtiles', dir), mtime, mtime);
    await server.rescan('test');
    const before = (await versionOf(server, 'countries')) as string;
    const sums = (fixture: string) =>
      new Map(readStoredTiles(join(FIXTURES, fixture)).map((t) => [`${t.z}/${t.x}/${t.y}`, sha1(t.data)]));
    const byVersion = new Map([[before, sums('countries.mbtiles')]]);
    const answers: { key: string; status: number; version?: string; sha1: string; cacheControl?: string }[] = [];
    let done = false;
    const client = (async () => {
      for (let i = 0; !done && i < 20_000; i++) {
        const z = i % 3;
        const x = i % 2 ** z;
        const y = (i >> 1) % 2 ** z;
        const res = await getGzip(`${server.url}/tiles/countries/${z}/${x}/${y}.pbf`);
        const key = `${z}/${x}/${2 ** z - 1 - y}`;
        answers.push({
          key,
          status: res.status,
          version: header(res, 'x-tilestamp-version'),
          sha1: sha1(res.body),
          cacheControl: header(res, 'cache-control'),
        });
      }
    })();
    await waitFor(() => answers.length >= 20, 'answers before the rewrite');
    const { after } = rewriteInPlace(target);
    renameOver('countries-v2.mbtiles', target);
    await waitFor(async () => (await versionOf(server, 'countries')) !== before, 'the renamed file to be taken');
    const next = (await versionOf(server, 'countries')) as string;
    byVersion.set(next, sums('countries-v2.mbtiles'));
    const counted = answers.length;
    await waitFor(() => answers.length >= counted + 20, 'answers after the swap');
    done = true;
    await client;
    const wrong = answers.filter(({ key, status, version, sha1: got, cacheControl }) => {
      if (status === 503) return cacheControl !== 'no-store';
      const want = byVersion.get(version ?? '')?.get(key);
      return got === after || (status === 200 ? want !== got : status !== 204 || want !== undefined);
    });
    expect(wrong).toEqual([]);
    expect(answers.filter((a) => a.version === next && a.status === 200).length).toBeGreaterThan(0);
  });

  it('never crashes, never answers 500, never passes off bytes of neither file as a tile', async () => {
    const { dir, server } = await setup(['countries.mbtiles']);
    const before = await versionOf(server, 'countries');
    const v1 = new Map(readStoredTiles(join(FIXTURES, 'countries.mbtiles')).map((t) => [`${t.z}/${t.x}/${t.y}`, t.data]));
    const v2 = new Map(readStoredTiles(join(FIXTURES, 'countries-v2.mbtiles')).map((t) => [`${t.z}/${t.x}/${t.y}`, t.data]));
    const statuses = new Map<number, number>();
    let done = false;
    const client = (async () => {
      let i = 0;
      while (!done && i < 5_000) {
        const z = i % 4;
        const x = i % 2 ** z;
        const y = (i >> 1) % 2 ** z;
        i++;
        const res = await getGzip(`${server.url}/tiles/countries/${z}/${x}/${y}.pbf`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const key = `${z}/${x}/${2 ** z - 1 - y}`;
        if (res.status === 200) {
          expect(res.body.equals(v1.get(key)!) || res.body.equals(v2.get(key)!), `tile ${key}`).toBe(true);
        } else if (res.status === 204) {
          expect(v1.has(key) && v2.has(key), `204 for ${key}, which one of the files has`).toBe(false);
        } else {
          expect(res.status).toBe(503);
          expect(header(res, 'retry-after')).toBe('1');
        }
      }
    })();
    // cp over the served file: same inode, truncated then rewritten, in chunks.
    await sleep(100);
    const bytes = readFileSync(join(FIXTURES, 'countries-v2.mbtiles'));
    const fd = openSync(join(dir, 'countries.mbtiles'), 'r+');
    ftruncateSync(fd, 0);
    for (let offset = 0; offset < bytes.length; offset += 65_536) {
      writeSync(fd, bytes, offset, Math.min(65_536, bytes.length - offset), offset);
      await sleep(30);
    }
    closeSync(fd);
    await waitFor(async () => (await versionOf(server, 'countries')) !== before, 'the new version after the overwrite');
    done = true;
    await client;
    expect(
      [...statuses.keys()].every((s) => s === 200 || s === 204 || s === 503),
      JSON.stringify([...statuses]),
    ).toBe(true);
    expect(statuses.get(200)).toBeGreaterThan(0);
  });
});
