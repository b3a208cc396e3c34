import { spawnSync } from 'node:child_process';
import { copyFileSync, renameSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, FIXTURES, REPO, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { holdExclusiveLock } from '../helpers/lock.ts';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

const tilesOf = (fixture: string) =>
  new Map(readStoredTiles(join(FIXTURES, fixture)).map((t) => [`${t.z}/${t.x}/${2 ** t.z - 1 - t.y}`, t.data]));
const V1 = tilesOf('countries.mbtiles');
const V2 = tilesOf('countries-v2.mbtiles');

interface Health {
  worker: { id: number; pid: number };
  workers: { id: number; pid: number; restarts: number }[];
  tilesets: Record<string, { state: string; version?: string }>;
}

const DENO = join(REPO, 'node_modules/deno/deno');
const FLAGS = ['--port', '0', '--host', '127.0.0.1', '--workers', '2', '--settle-ms', '100', '--poll-interval', '0.5'];

/** Node runs the built CLI (Deno refuses --workers: see the last test). */
const RUNTIMES: [string, (dir: string) => Promise<ServerProcess>][] = [
  ['Node', (dir) => spawnServer(process.execPath, [join(REPO, 'dist/cli.js'), 'serve', '--data', dir, ...FLAGS])],
];

let dir: string;
let server: ServerProcess;

function get(path: string, agent: Agent | false): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { agent, headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    // A connection the primary handed to a worker just killed is never answered (Node's
    // round-robin cluster): give up on it rather than hang the test.
    req.setTimeout(2_000, () => req.destroy(new Error('no answer within 2 s')));
    req.end();
  });
}

/** /health by worker id, asked on fresh connections until both workers have answered (or 200 tries). */
async function healthByWorker(): Promise<Map<number, Health>> {
  const seen = new Map<number, Health>();
  for (let i = 0; i < 200 && seen.size < 2; i++) {
    const res = await get('/health', false).catch(() => undefined);
    if (res === undefined) continue;
    const health = JSON.parse(res.body.toString()) as Health;
    seen.set(health.worker.id, health);
  }
  return seen;
}

/** /health of both workers; waits while one is still starting (each listens when it is ready). */
async function healthOfEveryWorker(): Promise<Map<number, Health>> {
  let seen = new Map<number, Health>();
  await waitFor(
    async () => {
      seen = await healthByWorker();
      return seen.size === 2;
    },
    `both workers to answer (seen: ${[...seen.keys()]}; log: ${server.stdout.slice(-6).join('\n')})`,
  );
  expect([...seen.keys()].sort()).toEqual([1, 2]);
  return seen;
}

const logged = (message: string) => server.stdout.filter((line) => line.includes(`"msg":"${message}"`));

describe.each(RUNTIMES)('--workers 2 under %s', (runtime, start) => {
  beforeAll(async () => {
    dir = tempDir();
    copyFixture('countries.mbtiles', dir);
    server = await start(dir);
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('runs two workers on one port, each listed in /health, serving what the primary versioned once', async () => {
    const workers = await healthOfEveryWorker();
    for (const health of workers.values()) {
      expect(health.workers.map((w) => w.id)).toEqual([1, 2]);
      expect(health.tilesets.countries?.state).toBe('ok');
    }
    expect(new Set([...workers.values()].map((h) => h.tilesets.countries?.version)).size).toBe(1);
    // Digested once, by the primary: one "tileset loaded" line, not one per worker.
    expect(logged('tileset loaded')).toHaveLength(1);
  });

  it('swaps a renamed file under load from several clients: no error, no foreign bytes, both workers on the new version within 1 s', async () => {
    const before = (await healthOfEveryWorker()).values().next().value?.tilesets.countries?.version;
    const agent = new Agent({ keepAlive: true, maxSockets: 6 });
    const paths = [...V1.keys()];
    const problems: string[] = [];
    const versions = new Set<string>();
    let stop = false;
    const client = async (offset: number) => {
      for (let i = offset; !stop && i < offset + 50_000; i++) {
        const path = paths[i % paths.length] as string;
        const res = await get(`/tiles/countries/${path}.pbf`, agent);
        const version = String(res.headers['x-tilestamp-version']);
        versions.add(version);
        // Between the rename and the swap, the replaced inode is not read (its ctime moved): a
        // tile not in the worker's hot-tile cache answers 503, never kept by a cache.
        const retryLater =
          res.status === 503 && res.headers['cache-control'] === 'no-store' && res.headers['retry-after'] === '1';
        if (res.status !== 200 && res.status !== 204 && !retryLater) problems.push(`${res.status} for ${path}`);
        if (res.status !== 200) continue;
        const expected = version === before ? V1.get(path) : V2.get(path);
        if (expected === undefined || !expected.equals(res.body)) problems.push(`foreign bytes for ${path} under ${version}`);
      }
    };
    const running = Array.from({ length: 6 }, (_, i) => client(i * 7));
    await waitFor(() => versions.size > 0, 'the load to start');
    const staged = join(dir, '.countries.tmp');
    copyFileSync(join(FIXTURES, 'countries-v2.mbtiles'), staged);
    renameSync(staged, join(dir, 'countries.mbtiles'));
    await waitFor(() => logged('tileset swapped').length > 0, 'the primary to decide', 15_000);
    const decided = Date.now();
    let after: string | undefined;
    await waitFor(
      async () => {
        const workers = await healthByWorker();
        const now = new Set([...workers.values()].map((h) => h.tilesets.countries?.version));
        after = [...now][0];
        return workers.size === 2 && now.size === 1 && after !== before;
      },
      'both workers on the new version',
      1_000,
    );
    const switched = Date.now() - decided;
    stop = true;
    await Promise.all(running);
    agent.destroy();
    expect(problems).toEqual([]);
    expect(versions).toEqual(new Set([before, after]));
    expect(switched).toBeLessThan(1_000);
  });

  it('aggregates /metrics over the workers: every request counted once', async () => {
    const metricOf = (text: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith('tilestamp_http_requests_total{route="/ready",status="200"}'))
          ?.split(' ')[1] ?? 0,
      );
    const start = metricOf((await get('/metrics', false)).body.toString());
    for (let i = 0; i < 20; i++) await get('/ready', false);
    const text = (await get('/metrics', false)).body.toString();
    expect(metricOf(text) - start).toBe(20);
    expect(text).toContain('tilestamp_tilesets{state="ok"} 1');
  });

  // Node only, as the two below: under Deno a restarted worker was sometimes not seen answering
  // within the test's bounds (by hand it is, within a second); not investigated further yet.
  it.runIf(runtime === 'Node')('restarts a crashed worker, logs it, and lists the new one', async () => {
    const victim = (await healthOfEveryWorker()).get(1)?.worker.pid as number;
    process.kill(victim, 'SIGKILL');
    await waitFor(() => logged('worker exited; restarting it').length > 0, 'the crash to be logged');
    await waitFor(
      async () => {
        const slot = (await healthByWorker()).get(1);
        return slot !== undefined && slot.worker.pid !== victim && slot.tilesets.countries?.state === 'ok';
      },
      'a new worker 1',
      15_000,
    );
    const listed = (await healthOfEveryWorker()).get(2)?.workers.find((w) => w.id === 1);
    expect(listed?.restarts).toBe(1);
  });

  it.runIf(runtime === 'Node')(
    'turns SIGHUP sent to a worker into a rescan by the primary, and the worker lives on',
    async () => {
      const worker = (await healthOfEveryWorker()).get(2)?.worker.pid as number;
      process.kill(worker, 'SIGHUP');
      await waitFor(() => server.stdout.some((l) => l.includes('"reason":"SIGHUP"')), 'the rescan');
      expect((await healthOfEveryWorker()).get(2)?.worker.pid).toBe(worker);
    },
  );

  // Node only: under Deno the restarted worker did not reach `waiting` while the lock was held.
  it.runIf(runtime === 'Node')(
    'a restarted worker that cannot open a file yet (locked) says so with 503, and serves it once it can',
    async () => {
      const lock = await holdExclusiveLock(join(dir, 'countries.mbtiles'));
      try {
        const victim = (await healthOfEveryWorker()).get(1)?.worker.pid as number;
        process.kill(victim, 'SIGKILL');
        await waitFor(
          async () => {
            const slot = (await healthByWorker()).get(1);
            return slot !== undefined && slot.worker.pid !== victim && slot.tilesets.countries?.state === 'waiting';
          },
          'the new worker 1 to wait for the file',
          40_000,
        );
        const answers = new Set<number>();
        for (let i = 0; i < 20; i++) answers.add((await get('/tiles/countries/0/0/0.pbf', false)).status);
        expect([...answers].filter((s) => s !== 200 && s !== 503)).toEqual([]); // never 404 "no tileset"
      } finally {
        await lock.release();
      }
      await waitFor(
        async () => [...(await healthOfEveryWorker()).values()].every((h) => h.tilesets.countries?.state === 'ok'),
        'both workers to serve the file',
        40_000,
      );
      for (let i = 0; i < 10; i++) expect((await get('/tiles/countries/0/0/0.pbf', false)).status).toBe(200);
    },
  );

  it('on SIGTERM to the primary alone, every worker finishes and the group exits 0', async () => {
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    const pids = [...(await healthOfEveryWorker()).values()].map((h) => h.worker.pid);
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('--workers 2 on a port already in use', () => {
  it('stops and exits 1 instead of restarting its workers forever', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = String((busy.address() as AddressInfo).port);
    const data = tempDir();
    copyFixture('world_cities.mbtiles', data);
    try {
      const run = spawnSync(
        process.execPath,
        [join(REPO, 'dist/cli.js'), 'serve', '--data', data, '--host', '127.0.0.1', '--port', port, '--workers', '2'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      const [code, out] = [run.status, run.stdout];
      expect(code).toBe(1);
      expect(out).toContain('worker exited before it could listen');
      expect(out.split('\n').filter((line) => line.includes('restarting it')).length).toBeLessThan(2 * 3); // bounded: a few per slot
    } finally {
      busy.close();
      removeDir(data);
    }
  });
});

describe('--workers 2 under Deno', () => {
  it('exits 2 with one line saying why, and serves nothing', async () => {
    const data = tempDir();
    copyFixture('world_cities.mbtiles', data);
    try {
      const run = spawnSync(DENO, ['task', '--quiet', 'start', '--data', data, ...FLAGS], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 60_000,
      });
      const [code, err] = [run.status, run.stderr];
      expect(code).toBe(2);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(err).toMatch(/--workers 2 is not supported under Deno/);
    } finally {
      removeDir(data);
    }
  }, 120_000);
});
