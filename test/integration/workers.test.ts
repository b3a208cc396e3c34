import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFiles } from '../helpers/fds.ts';
import { copyFixture, FIXTURES, REPO, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { holdExclusiveLock } from '../helpers/lock.ts';
import { processTree, type ServerProcess, spawnServer } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

const tilesOf = (fixture: string) =>
  new Map(readStoredTiles(join(FIXTURES, fixture)).map((t) => [`${t.z}/${t.x}/${2 ** t.z - 1 - t.y}`, t.data]));
const V1 = tilesOf('countries.mbtiles');
const V2 = tilesOf('countries-v2.mbtiles');

interface Health {
  status: string;
  primary?: { tilesets: Record<string, unknown> };
  worker: { id: number; pid: number };
  workers: { id: number; pid: number; restarts: number }[];
  tilesets: Record<string, { state: string; version?: string; rejected?: unknown }>;
}

const DENO = join(REPO, 'node_modules/deno/deno');
const FLAGS = ['--port', '0', '--host', '127.0.0.1', '--workers', '2', '--settle-ms', '100', '--poll-interval', '0.5'];

/** Node runs the built CLI (Deno refuses --workers: see the last test). */
const RUNTIMES: [string, (dir: string) => Promise<ServerProcess>][] = [
  ['Node', (dir) => spawnServer(process.execPath, [join(REPO, 'dist/cli.js'), 'serve', '--data', dir, ...FLAGS])],
];

let dir: string;
let server: ServerProcess;

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: Buffer;
  /** The connection it came on: with keep-alive, always the same worker. */
  socket: Socket;
}

/** A GET; fails with "no answer within 2 s" when neither an answer nor a closed connection came by then. */
function get(path: string, agent: Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { agent, headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      const socket = res.socket; // gone from `res` once the answer has ended
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), socket }));
    });
    req.on('error', reject);
    req.setTimeout(2_000, () => req.destroy(new Error(NO_ANSWER)));
    req.end();
  });
}

const NO_ANSWER = 'no answer within 2 s';

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
  await waitFor(async () => {
    seen = await healthByWorker();
    return seen.size === 2;
  }, 'both workers to answer').catch((error: Error) => {
    throw new Error(`${error.message} (seen: ${[...seen.keys()]}); ${stateOfServer()}`);
  });
  expect([...seen.keys()].sort()).toEqual([1, 2]);
  return seen;
}

/** For a timeout's message: the server's processes (state, CPU, kernel wait) and its last log lines. */
function stateOfServer(): string {
  const { exitCode, signalCode } = server.child;
  const exited = exitCode !== null || signalCode !== null ? `primary exited (code ${exitCode}, signal ${signalCode}); ` : '';
  return `${exited}processes:\n${processTree(server.child.pid as number)}\nstderr:\n${server.stderr().slice(-2000)}\nlog:\n${server.stdout.slice(-12).join('\n')}`;
}

/** The samples of counters and histograms in a Prometheus text, by series (name and labels). */
function monotonicSamples(text: string): Map<string, number> {
  const kinds = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const series = line.slice(0, line.lastIndexOf(' '));
    const name = series.split('{')[0] as string;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (kinds.get(name) === 'counter' || kinds.get(family) === 'histogram') {
      samples.set(series, Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
  }
  return samples;
}

/** Waits until worker `slot` answers /health from another process than `victim` (restarted after it died). */
async function replaced(slot: number, victim: number): Promise<void> {
  await waitFor(
    async () => {
      const health = (await healthByWorker()).get(slot);
      return health !== undefined && health.worker.pid !== victim;
    },
    `a new worker ${slot}`,
    20_000,
  );
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

  it('swaps a renamed file under load from several clients: no error, no foreign bytes, each worker moves to the new version once and never back', async () => {
    const before = (await healthOfEveryWorker()).values().next().value?.tilesets.countries?.version;
    const agent = new Agent({ keepAlive: true, maxSockets: 6 });
    const paths = [...V1.keys()];
    const problems: string[] = [];
    const versions = new Set<string>();
    /** Per connection (so per worker), whether it has answered with the new version yet. */
    const moved = new WeakSet<Socket>();
    let stop = false;
    const client = async (offset: number) => {
      for (let i = offset; !stop && i < offset + 50_000; i++) {
        const path = paths[i % paths.length] as string;
        const res = await get(`/tiles/countries/${path}.pbf`, agent);
        const version = String(res.headers['x-tilestamp-version']);
        versions.add(version);
        if (version !== before) moved.add(res.socket);
        else if (moved.has(res.socket)) problems.push(`${path} under the old version after the new one on the same connection`);
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
    let after: string | undefined;
    await waitFor(async () => {
      const workers = await healthByWorker();
      const now = new Set([...workers.values()].map((h) => h.tilesets.countries?.version));
      after = [...now][0];
      return workers.size === 2 && now.size === 1 && after !== before;
    }, 'both workers on the new version');
    stop = true;
    await Promise.all(running);
    agent.destroy();
    expect(problems).toEqual([]);
    expect(versions).toEqual(new Set([before, after]));
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

  it("/metrics counters never go back when a worker is restarted, and the fd limit is one process's", async () => {
    for (let i = 0; i < 20; i++) await get('/ready', false);
    const before = monotonicSamples((await get('/metrics', false)).body.toString());
    expect(before.size).toBeGreaterThan(10);
    const victim = (await healthOfEveryWorker()).get(2)?.worker.pid as number;
    process.kill(victim, 'SIGKILL');
    await replaced(2, victim);
    const text = (await get('/metrics', false)).body.toString();
    const after = monotonicSamples(text);
    const wentBack = [...before].filter(([series, value]) => (after.get(series) ?? 0) < value);
    expect(wentBack).toEqual([]);
    const limit = readFileSync(`/proc/${server.child.pid}/limits`, 'utf8').match(/^Max open files\s+(\d+)/m)?.[1];
    expect(text).toContain(`tilestamp_process_max_fds ${limit}\n`);
  });

  it('a worker stopped then killed under load: every client gets an answer or a closed connection within 2 s, and the primary keeps no descriptor', async () => {
    const primary = server.child.pid as number;
    // Sockets only: the listening one and one channel per worker (digest threads come and go).
    const sockets = () => openFiles(primary).filter((file) => file.startsWith('socket:')).length;
    const baseline = sockets();
    const victim = (await healthOfEveryWorker()).get(2)?.worker.pid as number;
    const crashes = logged('worker exited; restarting it').length;
    let answered = 0;
    let closed = 0;
    const hung: string[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        try {
          await get('/tiles/countries/0/0/0.pbf', false);
          answered += 1;
        } catch (error) {
          if ((error as Error).message === NO_ANSWER) hung.push(`request ${answered + closed + hung.length}`);
          else closed += 1; // the connection the killed worker had: closed, which a client can retry
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await waitFor(() => answered >= 100, 'the load to run');
    // Stopped first, then killed: whatever is handed to it meanwhile (by the primary, under
    // Node's round-robin) would be lost with it; the kernel's queue gives it to the other.
    process.kill(victim, 'SIGSTOP');
    const atStop = answered;
    const stoppedAt = Date.now();
    // Killed soon after the other worker has answered meanwhile: the requests the stopped one had
    // already accepted wait for the kill, which must come well within their 2 s on a busy machine.
    await waitFor(
      () => answered >= atStop + 20 || (answered > atStop && Date.now() - stoppedAt > 500),
      'the other worker to answer meanwhile',
    );
    process.kill(victim, 'SIGKILL');
    const atKill = answered;
    await waitFor(() => logged('worker exited; restarting it').length > crashes, 'the crash to be noticed');
    await waitFor(() => answered >= atKill + 200, 'the load to go on');
    await replaced(2, victim);
    stop = true;
    await Promise.all(clients);
    expect(hung).toEqual([]);
    // The new worker's channel replaces the old one: as many sockets as before, none left in CLOSE-WAIT.
    await waitFor(() => sockets() <= baseline, `the primary's sockets back to ${baseline} (now ${sockets()})`);
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
        let last: unknown;
        await waitFor(
          async () => {
            const slot = (await healthByWorker()).get(1);
            last = slot && { pid: slot.worker.pid, countries: slot.tilesets.countries };
            return slot !== undefined && slot.worker.pid !== victim && slot.tilesets.countries?.state === 'waiting';
          },
          'the new worker 1 to wait for the file',
          40_000,
        ).catch((error: Error) => {
          throw new Error(`${error.message}; victim ${victim}, worker 1 last seen: ${JSON.stringify(last)}; ${stateOfServer()}`);
        });
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

  it('on SIGTERM to the primary alone, every worker finishes and the group exits 0, each saying why once', async () => {
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    const pids = [...(await healthOfEveryWorker()).values()].map((h) => h.worker.pid);
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(logged('listening')).toHaveLength(1); // said by the primary, for every worker
    const stops = logged('shutting down: finishing requests in flight').map((line) => JSON.parse(line));
    expect(stops.map((line) => [line.worker ?? 'primary', line.signal]).sort()).toEqual([
      [1, 'SIGTERM'],
      [2, 'SIGTERM'],
      ['primary', 'SIGTERM'],
    ]);
  });
});

/** For a describe block: a server of its own (Node, 2 workers) over a copy of countries.mbtiles. */
function serveCountriesUnderNode(): void {
  beforeAll(async () => {
    dir = tempDir();
    copyFixture('countries.mbtiles', dir);
    server = await (RUNTIMES[0] as (typeof RUNTIMES)[number])[1](dir);
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    removeDir(dir);
  });
}

describe('--workers 2 with workers killed while the primary sends to them', () => {
  serveCountriesUnderNode();

  it('the primary outlives workers killed while it is sending to them (metrics gathered without pause)', async () => {
    // Each /metrics makes the primary ask every worker for its figures: a worker killed a
    // moment ago still looks connected, and the write to it fails later (EPIPE), which used
    // to crash the primary and the whole server with it.
    let stop = false;
    const scrape = async () => {
      while (!stop) await get('/metrics', false).catch(() => undefined);
    };
    const scrapers = Array.from({ length: 8 }, scrape);
    try {
      for (let round = 0; round < 6; round++) {
        const slot = 1 + (round % 2); // each slot's restart waits 1 s, then 2, 4…: take turns
        const victim = (await healthOfEveryWorker()).get(slot)?.worker.pid as number;
        process.kill(victim, 'SIGKILL');
        await replaced(slot, victim);
        expect(server.child.exitCode, `the primary after ${round + 1} kills: ${stateOfServer()}`).toBeNull();
      }
    } finally {
      stop = true;
      await Promise.all(scrapers);
    }
    expect(server.child.exitCode).toBeNull();
    expect((await healthOfEveryWorker()).size).toBe(2);
  });
});

describe('--workers 2 while a newer file is rejected', () => {
  serveCountriesUnderNode();

  it("a worker restarted then, which cannot open the file the others serve, is not ready and shows the primary's view", async () => {
    const served = (await healthOfEveryWorker()).get(2)?.tilesets.countries?.version;
    const staged = join(dir, '.countries.tmp');
    writeFileSync(staged, 'not an MBTiles file, renamed over the served one');
    renameSync(staged, join(dir, 'countries.mbtiles'));
    await waitFor(() => logged('newer file rejected').length > 0, 'the primary to reject the file', 15_000);
    await waitFor(
      async () => [...(await healthOfEveryWorker()).values()].every((h) => h.tilesets.countries?.rejected !== undefined),
      'both workers to show the rejection',
    );
    const victim = (await healthOfEveryWorker()).get(1)?.worker.pid as number;
    process.kill(victim, 'SIGKILL');
    let restarted: Health | undefined;
    await waitFor(
      async () => {
        restarted = (await healthByWorker()).get(1);
        return restarted !== undefined && restarted.worker.pid !== victim && restarted.tilesets.countries?.state === 'waiting';
      },
      'a new worker 1 that has tried to open the file',
      20_000,
    );
    expect(restarted?.status).toBe('degraded');
    expect(restarted?.primary?.tilesets.countries).toMatchObject({
      state: 'ok',
      version: served,
      rejected: { reason: expect.any(String) },
    });
    // Its /ready says so (503), while the other worker's is 200.
    const ready = new Set<string>();
    await waitFor(
      async () => {
        const res = await get('/ready', false);
        ready.add(res.status === 200 ? '200' : `${res.status} ${res.body.toString()}`);
        return ready.size >= 2;
      },
      `both workers' /ready (seen: ${[...ready]})`,
    );
    expect([...ready].sort()).toEqual(['200', expect.stringMatching(/^503 .*cannot open what the primary serves/)]);
    // Never the new file's 404 or a 500: the old bytes under their version, or 503 + Retry-After.
    for (let i = 0; i < 20; i++) {
      const res = await get('/tiles/countries/0/0/0.pbf', false);
      if (res.status === 200) expect(res.body.equals(V1.get('0/0/0') as Buffer)).toBe(true);
      else expect([res.status, res.headers['retry-after']]).toEqual([503, expect.any(String)]);
    }
  });

  it('serves again from every worker, and is ready, once a good newer file is taken', async () => {
    const staged = join(dir, '.countries.tmp');
    copyFileSync(join(FIXTURES, 'countries-v2.mbtiles'), staged);
    renameSync(staged, join(dir, 'countries.mbtiles'));
    await waitFor(
      async () =>
        [...(await healthOfEveryWorker()).values()].every((h) => h.status === 'ok' && h.tilesets.countries?.state === 'ok'),
      'both workers to serve the new file',
      20_000,
    );
    for (let i = 0; i < 10; i++) expect((await get('/ready', false)).status).toBe(200);
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
