// Benchmark: prints figures and ratios, asserts nothing. Run with `npm run bench`
// (BENCH_TILES=… BENCH_TILE_BYTES=… BENCH_REQUESTS=… to change the sizes).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
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

/** A plain-schema MBTiles file of TILES random "tiles" (gzip magic first, so they pass as vector). */
function makeFile(dir) {
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
  const pool = randomBytes(TILE_BYTES * 64);
  db.transaction(() => {
    let written = 0;
    for (let z = 0; z <= 14 && written < TILES; z++) {
      const side = 2 ** z;
      for (let i = 0; i < side * side && written < TILES; i++, written++) {
        const tile = Buffer.from(pool.subarray((written % 63) * TILE_BYTES, (written % 63) * TILE_BYTES + TILE_BYTES));
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

function get(agent, port, path) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { 'accept-encoding': 'gzip' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serveBench(dataDir) {
  const server = await startServer(
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
      watch: false,
      pollMs: 0,
      settleMs: 0,
    },
    quiet,
    betterSqliteDriver,
  );
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
