// `npm run bench:manifests`: what hash manifests cost. (1) Building one cold (not in the manifest
// cache), in process, for a full raster block (341 tiles of 50 KB: every byte hashed), a full
// vector block (341 gzip tiles of 20 KB) and a deduplicated vector file (tippecanoe):
// total time and the longest stretch the event loop is held between two turns. (2) Tiles by
// `?h=` beside the same tiles by `?v=`, through the built server, driven by wrk.
// Asserts nothing. Prints a markdown table. Settings (environment): BENCH_ROUNDS (5), BENCH_SECONDS (3).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { httpGet, killChildrenOnExit } from './lib/processes.mjs';
import { median } from './lib/report.mjs';
import { startTilestamp } from './lib/servers.mjs';
import { haveWrk, runWrk } from './lib/wrk.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { blockHashes } = await import(join(ROOT, 'dist/source/hash-manifest.js'));
const { loadMbtilesSource } = await import(join(ROOT, 'dist/source/mbtiles-source.js'));
const { betterSqliteDriver } = await import(join(ROOT, 'dist/storage/sqlite-better.js'));

const rounds = Number(process.env.BENCH_ROUNDS || 5);
const seconds = Number(process.env.BENCH_SECONDS || 3);
const log = (line) => process.stderr.write(`${line}\n`);
killChildrenOnExit();

/** A plain-schema file with a tile of `bytes` random bytes (after `magic`) at every tile of zooms 0–4. */
function writeBlock(path, format, magic, bytes) {
  const db = new Database(path);
  db.exec(`CREATE TABLE metadata (name text, value text);
    CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
    CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);`);
  const meta = db.prepare('INSERT INTO metadata VALUES (?, ?)');
  for (const [name, value] of Object.entries({
    name: format,
    format,
    minzoom: '0',
    maxzoom: '4',
    json: '{"vector_layers":[{"id":"x","fields":{}}]}',
  })) {
    meta.run(name, value);
  }
  const insert = db.prepare('INSERT INTO tiles VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let z = 0; z <= 4; z++) {
      for (let x = 0; x < 2 ** z; x++) {
        for (let y = 0; y < 2 ** z; y++) insert.run(z, x, y, Buffer.concat([magic, randomBytes(bytes - magic.length)]));
      }
    }
  })();
  db.close();
}

const dir = mkdtempSync(join(tmpdir(), 'tilestamp-bench-manifests-'));
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const GZIP = Buffer.from([0x1f, 0x8b]);
writeBlock(join(dir, 'raster.mbtiles'), 'png', PNG, 50 * 1024);
writeBlock(join(dir, 'vector.mbtiles'), 'pbf', GZIP, 20 * 1024);
const sets = [
  ['raster block, 341 × 50 KB', join(dir, 'raster.mbtiles')],
  ['vector block, 341 × 20 KB', join(dir, 'vector.mbtiles')],
  ['vector, deduplicated (countries)', join(ROOT, 'test/fixtures/countries.mbtiles')],
];

log('| block | tiles | build, median ms | longest hold of the loop, wall ms (median) | same, CPU ms (median) |');
log('|---|---:|---:|---:|---:|');
for (const [name, path] of sets) {
  const source = await loadMbtilesSource(betterSqliteDriver, 'bench', path);
  const totals = [];
  const holds = [];
  const cpuHolds = [];
  let tiles = 0;
  for (let round = 0; round < rounds; round++) {
    // Wall time of each stretch, and its CPU time (this process's): on a shared machine the wall
    // time also counts the moments another process had the core.
    let resumed = performance.now();
    let resumedCpu = process.cpuUsage();
    let longest = 0;
    let longestCpu = 0;
    const started = resumed;
    const measure = () => {
      longest = Math.max(longest, performance.now() - resumed);
      const cpu = process.cpuUsage(resumedCpu);
      longestCpu = Math.max(longestCpu, (cpu.user + cpu.system) / 1000);
    };
    const pause = () =>
      new Promise((resolve) => {
        measure();
        setImmediate(() => {
          resumed = performance.now();
          resumedCpu = process.cpuUsage();
          resolve();
        });
      });
    const hashes = await blockHashes(source, { z: 0, x: 0, y: 0 }, pause);
    measure();
    totals.push(performance.now() - started);
    holds.push(longest);
    cpuHolds.push(longestCpu);
    tiles = Object.keys(hashes).length;
  }
  source.close();
  log(`| ${name} | ${tiles} | ${median(totals).toFixed(1)} | ${median(holds).toFixed(2)} | ${median(cpuHolds).toFixed(2)} |`);
}

if (process.env.BENCH_SKIP_WRK === '1' || !(await haveWrk())) {
  log('\n?h= throughput skipped (BENCH_SKIP_WRK=1, or no wrk)');
} else {
  const server = await startTilestamp({ folder: dir });
  try {
    const manifest = JSON.parse((await httpGet(server.port, '/tiles/vector/hashes/0/0/0.json')).body.toString());
    const byV = [];
    const byH = [];
    for (const [key, hash] of Object.entries(manifest.tiles)) {
      byV.push(`/tiles/vector/${key}.pbf?v=${manifest.version}`);
      byH.push(`/tiles/vector/${key}.pbf?h=${hash}`);
    }
    const files = { '?v=': join(dir, 'v.txt'), '?h=': join(dir, 'h.txt') };
    writeFileSync(files['?v='], `${byV.join('\n')}\n`);
    writeFileSync(files['?h='], `${byH.join('\n')}\n`);
    const runs = { '?v=': [], '?h=': [] };
    for (let round = 0; round < rounds; round++) {
      for (const kind of Object.keys(files)) {
        const r = await runWrk(server.port, files[kind], { threads: 1, connections: 50, seconds, acceptEncoding: 'gzip' });
        runs[kind].push(r);
      }
    }
    log(`\n| vector tiles (341, 20 KB, hot cache) | req/s, median | p99 ms, median | errors |`);
    log('|---|---:|---:|---:|');
    for (const [kind, list] of Object.entries(runs)) {
      const errors = list.reduce((sum, r) => sum + r.errors, 0);
      log(
        `| ${kind} | ${Math.round(median(list.map((r) => r.rps)))} | ${median(list.map((r) => r.p99Ms)).toFixed(2)} | ${errors} |`,
      );
    }
  } finally {
    await server.proc.stop();
  }
}
rmSync(dir, { recursive: true, force: true });
