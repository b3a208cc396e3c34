// Memory under clients that refuse gzip: 32 concurrent requests, without Accept-Encoding, for one
// tile that inflates to 30 MiB, against a server process. Prints statuses and RSS (MiB); asserts
// nothing. Run with `npm run build && node bench/decode-rss.mjs` (Linux: reads /proc).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';

const CLIENTS = 32;
const DECODED = 30 * 1024 * 1024;
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tilestamp-rss-'));
const db = new Database(join(dir, 'big.mbtiles'));
db.exec(`CREATE TABLE metadata (name TEXT, value TEXT);
  CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
  CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);`);
const metadata = { name: 'big', format: 'pbf', minzoom: '0', maxzoom: '0', json: '{"vector_layers":[{"id":"x","fields":{}}]}' };
for (const [key, value] of Object.entries(metadata)) db.prepare('INSERT INTO metadata VALUES (?, ?)').run(key, value);
db.prepare('INSERT INTO tiles VALUES (0, 0, 0, ?)').run(gzipSync(Buffer.alloc(DECODED)));
db.close();

const child = spawn('node', [cli, 'serve', '--data', dir, '--port', '0', '--host', '127.0.0.1', '--no-watch'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve) => {
  child.stdout.on('data', (chunk) => {
    const match = /"url":"([^"]+)"/.exec(String(chunk));
    if (match) resolve(match[1]);
  });
});
await new Promise((resolve) => setTimeout(resolve, 1500)); // the file is loaded by then
const memory = () => {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]);
  return { rss: Math.round(kib('VmRSS') / 1024), peak: Math.round(kib('VmHWM') / 1024) };
};
const before = memory();
const get = () =>
  new Promise((resolve) => {
    request(`${url}/tiles/big/0/0/0.pbf`, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).end();
  });
const statuses = {};
for (const status of await Promise.all(Array.from({ length: CLIENTS }, get))) statuses[status] = (statuses[status] ?? 0) + 1;
const after = memory();
await new Promise((resolve) => setTimeout(resolve, 2000));
console.log(JSON.stringify({ statuses, rssBeforeMiB: before.rss, peakMiB: after.peak, rssTwoSecondsLaterMiB: memory().rss }));
child.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
