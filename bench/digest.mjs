// Digest benchmark (`npm run bench:digest`): prints figures, asserts nothing.
// - content digest MB/s of a 220,000-tile file of 1-9 KiB tiles (about 1.1 GB, made once in
//   $BENCH_DIGEST_DIR, default /tmp/tilestamp-bench), with every core and with one thread;
//   `--version-from file` MB/s; a plain SHA-256 of the file as the physical anchor;
// - the slowest event-loop stall (monitorEventLoopDelay) while the server digests that file and
//   answers tile requests from wrk (its own process), and wrk's latency percentiles;
// - the time until a server is ready over that file, first with an empty state dir, then again
//   (a restart) with the versions it remembered.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, linkSync, mkdirSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseCommandLine } from '../dist/config.js';
import { startServer } from '../dist/server.js';
import { DigestPool } from '../dist/source/digest-pool.js';
import { betterSqliteDriver } from '../dist/storage/sqlite-better.js';
import { makeDigestFile } from './digest-file.mjs';

const TILES = Number(process.env.BENCH_DIGEST_TILES ?? 220_000);
const WORK = process.env.BENCH_DIGEST_DIR ?? '/tmp/tilestamp-bench';
const RUNS = Number(process.env.BENCH_DIGEST_RUNS ?? 3);
const REPO = join(fileURLToPath(import.meta.url), '..', '..');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const mb = (bytes, seconds) => (bytes / 1e6 / seconds).toFixed(0);
const seconds = (since) => Number(process.hrtime.bigint() - since) / 1e9;

/**
 * A server's config as `tilestamp serve` would build it from these flags (every other option at
 * its default): one source of defaults, so options added later are never missing here.
 */
function config(dataDir, stateDir) {
  const flags = ['serve', '--data', dataDir, '--port', '0', '--host', '127.0.0.1', '--no-watch', '--settle-ms', '0'];
  const parsed = parseCommandLine([...flags, '--state-dir', stateDir], {});
  if (!parsed.ok || parsed.command.name !== 'serve') throw new Error(`bench config: ${parsed.error}`);
  return parsed.command.config;
}

function plainSha256(path) {
  const fd = openSync(path, 'r');
  const buffer = Buffer.allocUnsafe(4 << 20);
  const hash = createHash('sha256');
  for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) hash.update(buffer.subarray(0, read));
  closeSync(fd);
}

/** Runs `fn` `runs` times; prints the best and median rate over the file's size and over the bytes digested. */
async function best(label, runs, size, fn) {
  const runsOf = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const bytes = await fn();
    runsOf.push({ s: seconds(started), bytes });
  }
  runsOf.sort((a, b) => a.s - b.s);
  const [top, median] = [runsOf[0], runsOf[runsOf.length >> 1]];
  console.log(
    `${label.padEnd(34)} best ${top.s.toFixed(2)} s = ${mb(size, top.s)} MB/s of file (${mb(top.bytes, top.s)} MB/s of bytes hashed), ` +
      `median ${mb(size, median.s)} MB/s of file (${runs} runs)`,
  );
}

/** Runs wrk for `duration` s against `url`; resolves with its p50/p99/max latency lines. */
function wrk(url, duration) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', '-c16', `-d${duration}s`, '--latency', url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('exit', () => {
      const pick = (re) => out.match(re)?.[1] ?? '?';
      resolve({
        p50: pick(/^\s+50%\s+(\S+)/m),
        p99: pick(/^\s+99%\s+(\S+)/m),
        max: pick(/Latency\s+\S+\s+\S+\s+(\S+)/),
        rps: pick(/Requests\/sec:\s+(\S+)/),
      });
    });
  });
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  const big = join(WORK, 'digest.mbtiles');
  makeDigestFile(big, TILES);
  const size = statSync(big).size;
  const { ino } = statSync(big);
  console.log(
    `file: ${TILES} tiles of 1-9 KiB, ${(size / 1e9).toFixed(2)} GB on disk; page cache warmed by one read; ` +
      `${availableParallelism()} cores, load average ${loadavg()[0].toFixed(1)}`,
  );
  plainSha256(big);

  let started = process.hrtime.bigint();
  plainSha256(big);
  console.log(`${'plain SHA-256 of the file'.padEnd(34)} ${mb(size, seconds(started))} MB/s (the physical anchor)`);
  const pool = new DigestPool();
  const one = new DigestPool({ threads: 1 });
  await best(`content digest, ${pool.threads} threads`, RUNS, size, async () => (await pool.digestContent(big, ino)).bytes);
  await best('content digest, 1 thread', RUNS, size, async () => (await one.digestContent(big, ino)).bytes);
  await best('--version-from file, worker thread', RUNS, size, async () => (await pool.digestFile(big, ino)).bytes);
  await Promise.all([pool.close(), one.close()]);

  // Under load: a server serving a small tileset to wrk while it loads the big file.
  const data = join(WORK, 'data');
  rmSync(data, { recursive: true, force: true });
  mkdirSync(data);
  copyFileSync(join(REPO, 'test/fixtures/countries.mbtiles'), join(data, 'countries.mbtiles'));
  const server = await startServer(config(data, ''), quiet, betterSqliteDriver);
  await server.loaded;
  const url = `${server.url}/tiles/countries/0/0/0.pbf`;
  // The same load without a digest first: on a shared machine, part of any stall is not ours.
  let load = wrk(url, 4);
  await new Promise((r) => setTimeout(r, 500));
  let lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  await new Promise((r) => setTimeout(r, 3000));
  lag.disable();
  let tiles = await load;
  console.log(
    `tile load alone (wrk 1 thread, 16 connections): slowest event-loop stall ${(lag.max / 1e6).toFixed(1)} ms; ` +
      `wrk ${tiles.rps} req/s, p50 ${tiles.p50}, p99 ${tiles.p99}, max ${tiles.max}`,
  );
  load = wrk(url, 4);
  await new Promise((r) => setTimeout(r, 500));
  linkSync(big, join(data, 'big.mbtiles'));
  lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  started = process.hrtime.bigint();
  await server.rescan('bench');
  const digestSeconds = seconds(started);
  lag.disable();
  tiles = await load;
  const loaded = server.registry.get('big');
  console.log(
    `the same load while the server loads the big file: ${digestSeconds.toFixed(2)} s, ${mb(size, digestSeconds)} MB/s of file; ` +
      `slowest event-loop stall ${(lag.max / 1e6).toFixed(1)} ms (p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms); ` +
      `wrk ${tiles.rps} req/s, p50 ${tiles.p50}, p99 ${tiles.p99}, max ${tiles.max}; ` +
      `${loaded?.state === 'ok' ? `version ${loaded.source.version}` : 'not loaded'}`,
  );
  await server.close();

  // Restart: first start with an empty state dir digests; the second finds the version remembered.
  const state = join(WORK, 'state');
  rmSync(state, { recursive: true, force: true });
  for (const label of ['first start (empty state dir)', 'restart (state file)']) {
    started = process.hrtime.bigint();
    const again = await startServer(config(data, state), quiet, betterSqliteDriver);
    await again.loaded;
    const ready = seconds(started);
    const entry = again.registry.get('big');
    console.log(
      `${label.padEnd(34)} ready after ${(ready * 1000).toFixed(0)} ms` +
        ` (${entry?.state === 'ok' && entry.source.digest.remembered ? 'remembered' : 'digested'})`,
    );
    await again.close();
  }
  console.log(`rss: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
}

await main();
process.exit(0);
