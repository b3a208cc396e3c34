// Benchmark: prints figures and ratios, asserts nothing. Run with `npm run bench`
// (BENCH_TILES=… BENCH_TILE_BYTES=… BENCH_REQUESTS=… to change the sizes).
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, createReadStream, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { startServer } from '../dist/server.js';
import { loadMbtilesSource } from '../dist/source/mbtiles-source.js';
import { betterSqliteDriver } from '../dist/storage/sqlite-better.js';

const TILES = Number(process.env.BENCH_TILES ?? 40_000);
const TILE_BYTES = Number(process.env.BENCH_TILE_BYTES ?? 4_096);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const CONCURRENCY = 16;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const mb = (bytes) => bytes / 1024 / 1024;
const fmt = (n, digits = 1) => n.toFixed(digits);

/** A plain-schema MBTiles file of `tiles` random "tiles" (gzip magic first, so they pass as vector). */
function makeFile(dir, tiles = TILES, tileBytes = TILE_BYTES) {
  const path = join(dir, 'bench.mbtiles');
  const db = new Database(path);
  db.exec(`CREATE TABLE metadata (name text, value text);
    CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
    CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);`);
  const meta = db.prepare('INSERT INTO metadata VALUES (?, ?)');
  for (const [k, v] of [
    ['name', 'bench'],
    ['format', 'pbf'],
    ['minzoom', '0'],
    ['maxzoom', '14'],
    ['bench_build', 'build-1'],
  ])
    meta.run(k, v);
  const insert = db.prepare('INSERT INTO tiles VALUES (?, ?, ?, ?)');
  const pool = randomBytes(tileBytes * 64);
  db.transaction(() => {
    let written = 0;
    for (let z = 0; z <= 14 && written < tiles; z++) {
      const side = 2 ** z;
      for (let i = 0; i < side * side && written < tiles; i++, written++) {
        const tile = Buffer.from(pool.subarray((written % 63) * tileBytes, (written % 63) * tileBytes + tileBytes));
        tile[0] = 0x1f;
        tile[1] = 0x8b;
        tile.writeUInt32BE(written, 4);
        insert.run(z, i % side, Math.floor(i / side), tile);
      }
    }
  })();
  db.close();
  return path;
}

async function fileSha256(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk);
  return hash.digest('hex');
}

async function timed(fn) {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const started = process.hrtime.bigint();
  const result = await fn();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  lag.disable();
  return { result, seconds, maxLagMs: lag.max / 1e6 };
}

/** Resolves with the request's latency in ms (and, with `body`, the body as text). */
function get(agent, port, path, { body = false } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const headers = body ? {} : { 'accept-encoding': 'gzip' }; // bodies are read as plain text
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => body && chunks.push(chunk));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        resolve(body ? { ms, text: Buffer.concat(chunks).toString() } : ms);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The server as `tilestamp serve` runs it over `dataDir`; `reload` turns on the defaults of watching. */
function start(dataDir, { reload = false, logger = quiet } = {}) {
  return startServer(
    {
      dataDir,
      port: 0,
      host: '127.0.0.1',
      publicUrl: undefined,
      trustProxy: false,
      maxAge: 60,
      corsOrigin: '*',
      logLevel: 'silent',
      versioning: { from: 'content', key: undefined },
      sseHeartbeat: 15,
      watch: reload,
      pollMs: reload ? 2_000 : 0,
      settleMs: reload ? 500 : 0,
    },
    logger,
    betterSqliteDriver,
  );
}

async function serveBench(dataDir) {
  const server = await start(dataDir);
  await server.loaded;
  const source = server.registry.source('bench');
  const v = source.version;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies = [];
  let next = 0;
  const deadline = Date.now() + 60_000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS && Date.now() < deadline) {
        const i = next++;
        const z = 4 + (i % 4);
        const side = 2 ** z;
        const x = (i * 7) % side;
        const y = (i * 13) % side;
        latencies.push(await get(agent, server.port, `/tiles/bench/${z}/${x}/${y}.pbf?v=${v}`));
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  await server.close();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))];
  return { count: latencies.length, seconds, p50: pct(50), p99: pct(99) };
}

/**
 * Reload latency as a user meets it: a new file of `tiles` tiles is renamed over the served one;
 * the clock runs until /api/tile-version names its version (default watching: chokidar, 2 s poll,
 * 500 ms settle). A client keeps requesting tiles meanwhile, to show what the reload costs them.
 */
async function reloadBench(tiles, tileBytes) {
  const dir = mkdtempSync(join(tmpdir(), 'tilestamp-reload-'));
  try {
    const served = makeFile(dir, tiles, tileBytes);
    const staged = join(dir, '.bench.mbtiles.tmp');
    copyFileSync(served, staged);
    const db = new Database(staged);
    db.prepare('UPDATE tiles SET tile_data = ? WHERE zoom_level = 0').run(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    db.close();
    const size = statSync(served).size;
    const logged = [];
    const logger = { ...quiet, info: (fields, msg) => msg === 'tileset swapped' && logged.push(fields) };
    const server = await start(dir, { reload: true, logger });
    await server.loaded;
    const before = server.registry.source('bench').version;
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const versionNow = async () =>
      JSON.parse((await get(agent, server.port, '/api/tile-version', { body: true })).text).tilesets.bench;

    let done = false;
    const during = [];
    const client = (async () => {
      for (let i = 0; !done && i < 1_000_000; i++)
        during.push(await get(agent, server.port, `/tiles/bench/4/${i % 16}/${(i * 7) % 16}.pbf`));
    })();
    const started = performance.now();
    renameSync(staged, served);
    let after = before;
    while (after === before && performance.now() - started < 600_000) {
      await new Promise((r) => setTimeout(r, 5));
      after = await versionNow();
    }
    const latency = performance.now() - started;
    done = true;
    await client;
    agent.destroy();
    await server.close();
    during.sort((a, b) => a - b);
    return { size, latency, loadMs: logged[0]?.ms, changed: after !== before, requests: during.length, worst: during.at(-1) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tilestamp-bench-'));
try {
  const path = makeFile(dir);
  const size = statSync(path).size;
  console.log(`file: ${TILES} tiles of ${TILE_BYTES} B, ${fmt(mb(size))} MiB on disk`);

  // Each version source through the loader, as the server runs it (open, validate, version).
  const load = (from) =>
    timed(async () => {
      const source = await loadMbtilesSource(betterSqliteDriver, 'bench', path, { from, key: 'bench_build' });
      source.close();
      return source.digest;
    });
  const rows = { content: await load('content'), file: await load('file'), metadata: await load('metadata') };
  for (const [from, run] of Object.entries(rows)) {
    const bytes = from === 'content' ? run.result.bytes : size;
    const rate = from === 'metadata' ? '' : `, ${fmt(mb(bytes) / run.seconds)} MiB/s`;
    console.log(
      `--version-from ${from.padEnd(8)} ${fmt(run.seconds * 1000, 1).padStart(7)} ms${rate}, max event-loop stall ${fmt(run.maxLagMs)} ms`,
    );
  }
  const raw = await timed(() => fileSha256(path));
  console.log(`(plain streamed SHA-256 of the file, for reference: ${fmt(raw.seconds * 1000, 1)} ms)`);
  console.log(`ratio content/file: ${fmt(rows.content.seconds / rows.file.seconds, 2)}x`);

  const rssBefore = process.memoryUsage().rss;
  const serve = await serveBench(dir);
  console.log(
    `serving: ${serve.count} tile requests, ${CONCURRENCY} keep-alive connections: ${fmt(serve.count / serve.seconds, 0)} req/s, ` +
      `p50 ${fmt(serve.p50, 2)} ms, p99 ${fmt(serve.p99, 2)} ms`,
  );
  console.log(`rss: ${fmt(mb(rssBefore))} MiB before serving, ${fmt(mb(process.memoryUsage().rss))} MiB after`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const BIG_MIB = Number(process.env.BENCH_RELOAD_MIB ?? 1024);
for (const [tiles, tileBytes] of [
  [100, 1_024],
  [Math.round((BIG_MIB * 1024 * 1024) / 4_096), 4_096],
]) {
  const r = await reloadBench(tiles, tileBytes);
  console.log(
    `reload: ${fmt(mb(r.size))} MiB file renamed in → new version served after ${fmt(r.latency, 0)} ms ` +
      `(validate + version ${r.loadMs} ms; ${r.changed ? 'changed' : 'NOT CHANGED'}); ` +
      `${r.requests} tile requests meanwhile, slowest ${fmt(r.worst, 1)} ms`,
  );
}
