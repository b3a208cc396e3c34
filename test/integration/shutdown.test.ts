import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

const DENO = join(REPO, 'node_modules/deno/deno');
const BIG = 5 * 1024 * 1024;

let dir: string;
let big: Buffer;

beforeAll(() => {
  dir = tempDir();
  // One 5 MiB tile: larger than the socket buffers, so answering it takes many writes.
  big = Buffer.concat([Buffer.from([0x1f, 0x8b]), randomBytes(BIG - 2)]);
  const db = new Database(join(dir, 'big.mbtiles'));
  db.exec(`CREATE TABLE metadata (name text, value text);
    CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
    CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);
    INSERT INTO metadata VALUES ('name', 'big'), ('format', 'pbf'), ('minzoom', '0'), ('maxzoom', '0'),
      ('json', '{"vector_layers":[{"id":"x","fields":{}}]}');`);
  db.prepare('INSERT INTO tiles VALUES (0, 0, 0, ?)').run(big);
  db.close();
});

afterAll(() => removeDir(dir));

const RUNTIMES: [string, () => Promise<ServerProcess>][] = [
  [
    'Node',
    () =>
      spawnServer(process.execPath, [
        join(REPO, 'dist/cli.js'),
        'serve',
        '--data',
        dir,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--shutdown-timeout',
        '5',
      ]),
  ],
  [
    'Deno',
    () =>
      spawnServer(
        DENO,
        ['task', '--quiet', 'start', '--data', dir, '--port', '0', '--host', '127.0.0.1', '--shutdown-timeout', '5'],
        {},
        120_000,
      ),
  ],
];

/** A GET whose body is read slowly enough that the answer is still in flight when the signal comes. */
function slowGet(
  url: string,
  agent: Agent | false,
  onAnswer: () => void = () => {},
): Promise<{ status: number; bytes: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const req = request(url, { agent, headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      onAnswer();
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        res.pause();
        setTimeout(() => res.resume(), 2);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks) }));
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks), error: error.message }));
    });
    req.on('error', (error) => resolve({ status: 0, bytes: Buffer.concat(chunks), error: error.message }));
    req.end();
  });
}

describe.each(RUNTIMES)('SIGTERM under %s', (_runtime, start) => {
  let server: ServerProcess;
  const exited = () => new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));

  it('lets 50 answers of a 5 MiB tile in flight finish whole, then exits 0', async () => {
    server = await start();
    const gone = exited();
    const started: Promise<{ status: number; bytes: Buffer; error?: string }>[] = [];
    let answering = 0;
    for (let i = 0; i < 50; i++) started.push(slowGet(`${server.url}/tiles/big/0/0/0.pbf`, false, () => answering++));
    // Every answer under way (its headers came; its 5 MiB body is read slowly) when the signal comes.
    await waitFor(() => answering === 50, 'all 50 answers to be under way');
    process.kill(-(server.child.pid as number), 'SIGTERM');
    const answers = await Promise.all(started);
    expect(answers.map((a) => a.error ?? (a.bytes.equals(big) ? 'whole' : `cut at ${a.bytes.length}`))).toEqual(
      Array(50).fill('whole'),
    );
    expect(await gone, `${server.stderr()}\n${server.stdout.slice(-5).join('\n')}`).toBe(0);
  });

  it('ends a socket that never finishes its request headers at the shutdown timeout, and exits 0', async () => {
    server = await start();
    const gone = exited();
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    process.kill(-(server.child.pid as number), 'SIGTERM');
    await closed;
    expect(await gone, `${server.stderr()}\n${server.stdout.slice(-5).join('\n')}`).toBe(0);
  });

  it('closes busy keep-alive connections instead of answering them on and on', async () => {
    server = await start();
    const gone = exited();
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    let signalled = false;
    const afterSignal: string[] = [];
    const client = async () => {
      for (let i = 0; i < 100_000; i++) {
        const answer = await new Promise<{ connection: string } | undefined>((resolve) => {
          const req = request(`${server.url}/health`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ connection: String(res.headers.connection) }));
          });
          req.on('error', () => resolve(undefined));
          req.end();
        });
        if (answer === undefined) {
          if (signalled) return;
          continue;
        }
        if (signalled) afterSignal.push(answer.connection);
      }
    };
    const clients = Array.from({ length: 4 }, client);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(-(server.child.pid as number), 'SIGTERM');
    signalled = true;
    expect(await gone, `${server.stderr()}\n${server.stdout.slice(-5).join('\n')}`).toBe(0);
    await Promise.all(clients);
    agent.destroy();
    // Answers already on their way when the signal was sent may arrive after it: a few per socket,
    // and a request that was in flight gets `Connection: close`; an idle socket is ended.
    expect(afterSignal.length).toBeLessThan(4 * 8);
    expect(afterSignal.filter((c) => c !== 'close' && c !== 'keep-alive')).toEqual([]);
  });
});
