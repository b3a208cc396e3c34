// `npm run bench`: tilestamp side by side with a node:http ceiling, a Koa floor, a SQLite floor
// and tileserver-gl-light, every server in its own process, driven from outside by wrk walking real
// tile URLs at random. Alternating rounds, medians. Prints a markdown table, writes a JSON file.
// Asserts nothing. Settings (environment): see README "Performance".
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bigSet, sampleSet, tileCoords } from './lib/datasets.mjs';
import { groupCpuSeconds, groupRss, httpGet, killAll, killChildrenOnExit } from './lib/processes.mjs';
import { addRatios, describeRun, markdownTable, summarize } from './lib/report.mjs';
import {
  CLI,
  SERVERS,
  startFloor,
  startTileserverGl,
  startTilestamp,
  tileserverGlPaths,
  tilestampPaths,
} from './lib/servers.mjs';
import { installTileserverGl } from './lib/tileserver-gl.mjs';
import { haveWrk, runWrk } from './lib/wrk.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const env = process.env;
const quick = env.BENCH_QUICK === '1';
const num = (name, fallback) => {
  if (env[name] === undefined || env[name] === '') return fallback;
  const value = Number(env[name]);
  if (Number.isInteger(value) && value > 0) return value;
  process.stderr.write(`bench: ${name} must be a whole number above 0, got ${JSON.stringify(env[name])}\n`);
  process.exit(2);
};
const settings = {
  quick,
  // Many short alternating rounds rather than few long ones: on a shared machine a burst of someone
  // else's work then spoils one round of one server, and the median drops it.
  rounds: num('BENCH_ROUNDS', quick ? 1 : 5),
  seconds: num('BENCH_SECONDS', 3),
  seconds304: num('BENCH_304_SECONDS', 2),
  threads: num('BENCH_THREADS', 1),
  connections: num('BENCH_CONNECTIONS', 50),
  acceptEncoding: env.BENCH_ACCEPT_ENCODING ?? 'gzip',
  bigTiles: num('BENCH_BIG_TILES', 230_000),
  bigUrls: num('BENCH_BIG_URLS', 20_000),
  hotUrls: num('BENCH_HOT_URLS', 3_000),
  urls304: num('BENCH_304_URLS', 2_000),
  sets: (env.BENCH_SETS ?? 'vector,raster,big-hot,big').split(','),
  tileserverGl: env.BENCH_TSGL !== '0',
};
const SET_NAMES = ['vector', 'raster', 'big-hot', 'big', 'cities'];
const unknownSet = settings.sets.find((name) => !SET_NAMES.includes(name));
if (unknownSet !== undefined) {
  process.stderr.write(`bench: BENCH_SETS names ${JSON.stringify(unknownSet)}; the data sets are ${SET_NAMES.join(', ')}\n`);
  process.exit(2);
}
const dir = env.BENCH_DIR ?? '/tmp/tilestamp-bench';
const timeoutMs = num('BENCH_TIMEOUT', 30 * 60) * 1000;
const log = (line) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

killChildrenOnExit();
setTimeout(() => {
  log(`bench: over BENCH_TIMEOUT (${timeoutMs / 1000} s), stopping`);
  killAll();
  process.exit(1);
}, timeoutMs).unref();

if (!(await haveWrk())) {
  process.stderr.write('bench: wrk is not installed. On Debian/Ubuntu: apt-get install wrk (with sudo if not root)\n');
  process.exit(1);
}

mkdirSync(dir, { recursive: true });
const work = mkdtempSync(join(dir, 'run-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const result = {
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    loadAverage: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  },
  settings,
  tilestamp: env.BENCH_CLI ? `${gitDescribe(dirname(dirname(CLI)))} (${CLI})` : gitDescribe(ROOT),
  startedAt: new Date().toISOString(),
  sets: [],
};

const tsgl = settings.tileserverGl ? await installTileserverGl(dir, log) : { error: 'skipped: BENCH_TSGL=0' };
if (tsgl.error) log(`tileserver-gl-light: ${tsgl.error}`);

const makers = {
  vector: () => sampleSet(dir, 'vector', join(ROOT, 'data', 'countries.mbtiles')),
  raster: () => sampleSet(dir, 'raster', join(ROOT, 'data', 'land.mbtiles')),
  // The big file walked at 3,000 random tiles (~15 MiB, within the default hot-tile cache): the hot
  // set of a real map, as the issue first measured it. `big` walks 20,000 (~100 MiB): misses too.
  'big-hot': () => ({ ...bigSet(dir, settings.bigTiles, log), name: 'big-hot' }),
  big: () => bigSet(dir, settings.bigTiles, log),
  // not run by default: the tippecanoe file the first figures came from, to compare with them
  cities: () => sampleSet(dir, 'cities', join(ROOT, 'test', 'fixtures', 'world_cities.mbtiles')),
};
for (const name of settings.sets) {
  const set = makers[name]();
  try {
    result.sets.push(await benchSet(set));
  } catch (error) {
    log(`${name}: ${error.message}`);
    result.sets.push({ name, error: `failed: ${error.message}` });
  } finally {
    killAll();
  }
}

result.finishedAt = new Date().toISOString();
result.machine.loadAverageAtEnd = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const out = env.BENCH_OUT ?? join(dir, `bench-${result.startedAt.replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`\n${describeRun(result)}\n\n${markdownTable(result)}\n\n${describeSets(result)}\nJSON: ${out}\n`);
process.exit(0);

/** Starts every server over one data set, warms each up, then runs the alternating rounds. */
async function benchSet(set) {
  const id = basename(set.file, '.mbtiles');
  const limit = { big: settings.bigUrls, 'big-hot': settings.hotUrls }[set.name] ?? Number.POSITIVE_INFINITY;
  const coords = tileCoords(set.file, limit);
  log(`${set.name}: ${set.file}, walking ${coords.length} tiles; starting the servers`);
  const rows = SERVERS.map((s) => ({ ...s }));
  const row = (key) => rows.find((r) => r.key === key);

  const one = await startTilestamp(set);
  Object.assign(row('tilestamp'), one);
  const paths = await tilestampPaths(one.port, id, coords);
  const first = await httpGet(one.port, paths[0], headers());
  const contentType = first.headers['content-type'];
  const ext = /\.(\w+)(\?|$)/.exec(paths[0])[1];
  const ownUrls = writeUrls(`${set.name}-tilestamp`, paths);
  row('tilestamp').urls = ownUrls;

  const starts = {
    ceiling: async () => ({
      ...(await startFloor('bare', set, paths, coords, contentType, settings.acceptEncoding, work)),
      urls: ownUrls,
    }),
    koa: async () => ({
      ...(await startFloor('koa', set, paths, coords, contentType, settings.acceptEncoding, work)),
      urls: ownUrls,
    }),
    sqlite: async () => ({
      ...(await startFloor('sqlite', set, paths, coords, contentType, settings.acceptEncoding, work)),
      urls: ownUrls,
    }),
    'tilestamp-w2': async () => {
      const two = await startTilestamp(set, ['--workers', '2']);
      return two.unavailable ? { status: two.unavailable } : { ...two, urls: ownUrls };
    },
    'tilestamp-base': async () => {
      const base = await startTilestamp(set, [], env.BENCH_BASELINE_CLI);
      return { ...base, urls: writeUrls(`${set.name}-base`, await tilestampPaths(base.port, id, coords)) };
    },
    tsgl: async () => {
      if (tsgl.error) return { status: `n/a (${tsgl.error})` };
      const started = await startTileserverGl(tsgl, set, id, work);
      return { ...started, urls: writeUrls(`${set.name}-tsgl`, tileserverGlPaths(id, ext, coords)) };
    },
  };
  // Started together (nothing is measured yet): each digests or loads the data set meanwhile.
  await Promise.all(
    Object.entries(starts)
      .filter(([key]) => row(key))
      .map(([key, start]) =>
        start().then(
          (started) => Object.assign(row(key), started),
          (error) => {
            row(key).status = `failed to start: ${error.message}`;
          },
        ),
      ),
  );
  const pathsOf = (r) => readFileSync(r.urls, 'utf8').trim().split('\n');
  for (const r of rows.filter((r) => r.port)) {
    const bad = await checkAnswers(r.port, pathsOf(r));
    if (bad) {
      r.status = bad;
      await r.proc.stop();
      r.port = undefined;
    }
  }
  const live = rows.filter((r) => r.port);

  const warmUp = (r) => runWrk(r.port, r.urls, { ...wrkOptions(), seconds: 1 });
  await alternate(live, 1, warmUp, `${set.name} warm-up (not kept)`);
  const rounds = await alternate(
    live,
    settings.rounds,
    (r) => measured(r, () => runWrk(r.port, r.urls, wrkOptions())),
    `${set.name} 200`,
  );

  await Promise.all(
    live
      .filter((r) => !r.failed)
      .map(async (r) => {
        const etags = await etagFile(r, pathsOf(r)).catch((error) => `n/a (${error.message})`);
        if (typeof etags === 'string') r.status304 = etags;
        else r.urls304 = etags.file;
      }),
  );
  const live304 = live.filter((r) => r.urls304);
  const rounds304 = await alternate(
    live304,
    settings.rounds,
    (r) => runWrk(r.port, r.urls304, { ...wrkOptions(), seconds: settings.seconds304 }),
    `${set.name} 304`,
  );

  for (const r of live.filter((r) => !r.failed)) {
    r.rss = groupRss(r.proc.pid);
    if (r.key.startsWith('tilestamp')) r.cache = await cacheRatio(r.port);
  }
  for (const r of live) await r.proc.stop();

  const out = rows.map((r) => ({
    key: r.key,
    label: r.label,
    status: r.status,
    status304: r.status304,
    rounds: rounds.get(r),
    rounds304: rounds304.get(r),
    summary: r.status ? undefined : summarize(rounds.get(r) ?? []),
    summary304: r.status304 ? undefined : summarize(rounds304.get(r) ?? []),
    rss: r.rss,
    cache: r.cache,
  }));
  addRatios(out);
  return { name: set.name, file: set.file, tilesWalked: coords.length, zooms: zoomRange(coords), rows: out };
}

/** One wrk round, with the CPU time the server's processes spent on it per request (µs). */
async function measured(r, run) {
  const before = groupCpuSeconds(r.proc.pid);
  const one = await run();
  one.cpuUsPerRequest = one.requests > 0 ? ((groupCpuSeconds(r.proc.pid) - before) * 1e6) / one.requests : undefined;
  return one;
}

/** `rounds` rounds over `rows`, each round starting one row later, so no server always goes first. */
async function alternate(rows, count, run, what) {
  const results = new Map(rows.map((r) => [r, []]));
  for (let round = 0; round < count; round++) {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[(i + round) % rows.length];
      if (r.failed) continue;
      let one;
      try {
        one = await run(r);
      } catch (error) {
        // A server that dies or hangs under load is a finding, not a reason to lose the others' figures.
        r.failed = true;
        const why = `failed under load (${what}): ${error.message}`;
        if (what.endsWith('304')) r.status304 = why;
        else r.status = why;
        log(`${what} ${r.label}: ${why}`);
        continue;
      }
      one.loadAverage = loadavg()[0]; // the machine is shared: a busy minute shows here
      results.get(r).push(one);
      const errors = one.errors ? `, ${one.errors} errors` : '';
      log(
        `${what} round ${round + 1}/${count} ${r.label}: ${Math.round(one.rps)} req/s, p99 ${one.p99Ms.toFixed(1)} ms${errors}`,
      );
    }
  }
  return results;
}

function wrkOptions() {
  const { threads, connections, seconds, acceptEncoding } = settings;
  return { threads, connections, seconds, acceptEncoding };
}

function headers() {
  return settings.acceptEncoding ? { 'accept-encoding': settings.acceptEncoding } : {};
}

function writeUrls(name, lines) {
  const file = join(work, `${name}.urls`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** A few walked URLs must answer 200 with a body before a server is measured; else why not. */
async function checkAnswers(port, paths) {
  for (const path of paths.slice(0, 5)) {
    const res = await httpGet(port, path, headers()).catch((e) => ({ status: e.message }));
    if (res.status !== 200 || res.body.length === 0) return `answers ${path} with ${res.status}`;
  }
  return undefined;
}

/**
 * The 304 walk's URL file: the first BENCH_304_URLS paths, each with the ETag the server sent for
 * it; or why the server cannot be measured (no ETag, or no 304 for a matching If-None-Match).
 */
async function etagFile(r, paths) {
  const some = paths.slice(0, settings.urls304);
  const lines = new Array(some.length);
  let next = 0;
  let missing = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < some.length) {
        const i = next++;
        const res = await httpGet(r.port, some[i], headers());
        if (res.headers.etag) lines[i] = `${some[i]}\t${res.headers.etag}`;
        else missing += 1;
      }
    }),
  );
  if (missing > 0) return `n/a (no ETag on ${missing} tiles)`;
  const [path, etag] = lines[0].split('\t');
  const again = await httpGet(r.port, path, { ...headers(), 'if-none-match': etag });
  if (again.status !== 304) return `n/a (If-None-Match answered ${again.status})`;
  return { file: writeUrls(`${r.key}-304-${Date.now()}`, lines) };
}

/** The hot-tile cache's hit ratio from /metrics, when it exposes the counters. */
async function cacheRatio(port) {
  const res = await httpGet(port, '/metrics').catch(() => undefined);
  if (res?.status !== 200) return { ratio: undefined };
  const text = res.body.toString();
  const total = (name) => {
    const values = text
      .split('\n')
      .filter((l) => l.startsWith(name) && /^[\w]+(\{[^}]*\})? /.test(l))
      .map((l) => Number(l.split(' ').at(-1)));
    return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
  };
  const hits = total('tilestamp_tile_cache_hits_total');
  const misses = total('tilestamp_tile_cache_misses_total');
  if (hits === undefined || misses === undefined || hits + misses === 0) return { ratio: undefined };
  return { hits, misses, ratio: hits / (hits + misses) };
}

function zoomRange(coords) {
  const zooms = coords.map(([z]) => z);
  return [Math.min(...zooms), Math.max(...zooms)];
}

function describeSets(res) {
  return res.sets
    .filter((s) => !s.error)
    .map((s) => `- ${s.name}: ${s.file}, ${s.tilesWalked} tiles walked at random, zooms ${s.zooms[0]}–${s.zooms[1]}`)
    .join('\n');
}

/** The commit of the measured checkout, `-dirty` when it has uncommitted changes. */
function gitDescribe(cwd) {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}
