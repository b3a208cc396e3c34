// The servers compared by the benchmark, each started in its own process and given one data set.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, httpGet, startProcess, waitReady } from './processes.mjs';
import { writeTileserverGlConfig } from './tileserver-gl.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The tilestamp measured: this checkout's build, or another one's (`BENCH_CLI=…/dist/cli.js`). */
export const CLI = process.env.BENCH_CLI || join(ROOT, 'dist', 'cli.js');
const FLOOR = join(ROOT, 'bench', 'floor-server.mjs');
const READY_MS = 180_000;

/** The rows of the table, in order. `key` names them in the JSON. */
export const SERVERS = [
  { key: 'ceiling', label: 'node:http, bytes from memory (ceiling)' },
  { key: 'koa', label: 'Koa, one middleware, bytes from memory (Koa floor)' },
  { key: 'sqlite', label: 'Koa, one middleware, one prepared statement, no cache (SQLite floor)' },
  { key: 'tilestamp', label: 'tilestamp, 1 worker' },
  { key: 'tilestamp-w2', label: 'tilestamp --workers 2' },
  { key: 'tsgl', label: 'tileserver-gl-light 5.6.0' },
];
if (process.env.BENCH_BASELINE_CLI) {
  // Before and after a change in one run: another build of tilestamp, 1 worker.
  SERVERS.splice(5, 0, { key: 'tilestamp-base', label: `tilestamp baseline (${process.env.BENCH_BASELINE_CLI}), 1 worker` });
}

/**
 * Starts tilestamp over `set.folder`; resolves `{ proc, port }`, or `{ unavailable }` when this
 * checkout rejects `extraArgs` (exit code 2 at start: an option it does not know yet).
 */
export async function startTilestamp(set, extraArgs = [], cli = CLI) {
  const port = await freePort();
  const args = [cli, 'serve', '--data', set.folder, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn'];
  // BENCH_CPU_PROF=DIR: every tilestamp process (cluster workers inherit it) writes a .cpuprofile
  // there when stopped; profiling slows it, so such a run's figures are for the profile only.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const proc = startProcess(process.execPath, [...profile, ...args, ...extraArgs]);
  try {
    await waitReady(proc, port, '/ready', READY_MS);
  } catch (error) {
    await proc.stop();
    const code = await proc.exited;
    if (code === 2 && extraArgs.length > 0) return { unavailable: `n/a (no ${extraArgs[0]})` };
    throw error;
  }
  return { proc, port };
}

/** The walked paths of tilestamp: its TileJSON's versioned template, filled with each tile. */
export async function tilestampPaths(port, id, coords) {
  const res = await httpGet(port, `/tiles/${id}.json`);
  if (res.status !== 200) throw new Error(`TileJSON of ${id}: HTTP ${res.status}`);
  const path = JSON.parse(res.body.toString()).tiles[0].replace(/^https?:\/\/[^/]+/, '');
  return coords.map(([z, x, y]) => path.replace('{z}', z).replace('{x}', x).replace('{y}', y));
}

/** The node:http ceiling, the Koa floor or the SQLite floor over the same paths and bytes (`kind`: bare, koa or sqlite). */
export async function startFloor(kind, set, paths, coords, contentType, acceptEncoding, workDir) {
  const manifest = join(workDir, `${set.name}-floor.json`);
  const tiles = coords.map(([z, x, , row], i) => [paths[i], z, x, row]);
  writeFileSync(manifest, JSON.stringify({ file: set.file, contentType, acceptEncoding, tiles }));
  const port = await freePort();
  const proc = startProcess(process.execPath, [FLOOR, kind, manifest, String(port)]);
  await waitReady(proc, port, '/ready', READY_MS);
  return { proc, port };
}

/** tileserver-gl-light serving `set.file` as data `id` from a config.json (`--file` is broken in 5.6.0). */
export async function startTileserverGl(tsgl, set, id, workDir) {
  const config = join(workDir, `${set.name}-tsgl.json`);
  writeTileserverGlConfig(config, tsgl.root, id, set.folder, set.file.split('/').at(-1));
  const port = await freePort();
  const proc = startProcess(
    process.execPath,
    [tsgl.main, '--config', config, '--port', String(port), '--bind', '127.0.0.1', '--silent'],
    {
      cwd: workDir,
    },
  );
  await waitReady(proc, port, '/health', READY_MS);
  return { proc, port };
}

/** tileserver-gl-light's paths for the same tiles. */
export function tileserverGlPaths(id, ext, coords) {
  return coords.map(([z, x, y]) => `/data/${id}/${z}/${x}/${y}.${ext}`);
}
