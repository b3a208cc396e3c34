import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TilesetEntry } from '../../src/source/registry.ts';
import type { TileSource } from '../../src/source/tile-source.ts';
import { copyFixture, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, json, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { openSse, type SseClient } from '../helpers/sse.ts';
import { waitFor } from '../helpers/wait.ts';

// Event streams under abuse: a bounded number of them, a client that stops reading is dropped
// instead of buffered without end, each change is serialised once, and a client leaving is not
// an error.

let dir: string;
let server: TestServer;
const opened: SseClient[] = [];

beforeAll(async () => {
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  server = await startTestServer(dir, { maxEventStreams: 3 });
});

afterEach(async () => {
  for (const client of opened.splice(0)) client.close();
  await waitFor(() => server.events.size === 0, 'every stream closed');
});

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

async function open(): Promise<SseClient> {
  const client = await openSse(`${server.url}/api/tile-version/events`);
  opened.push(client);
  return client;
}

/** A serving entry whose source is a stand-in: enough for the registry to announce a version. */
function fakeEntry(id: string, version: string): TilesetEntry {
  const source = { id, version, format: 'pbf', close() {} } as unknown as TileSource;
  return { state: 'ok', id, path: `${id}.mbtiles`, source, loadedAt: new Date(), warnings: [] };
}

describe('event streams', () => {
  it('past --max-event-streams: 503 with Retry-After and the JSON error; room again once one closes', async () => {
    const clients = [await open(), await open(), await open()];
    await Promise.all(clients.map((c) => c.until((events) => events.length >= 1)));
    const refused = await rawRequest(`${server.url}/api/tile-version/events`);
    expect(refused.status).toBe(503);
    expect(header(refused, 'retry-after')).toBe('10'); // as documented for --max-event-streams
    expect(header(refused, 'cache-control')).toBe('no-store');
    expect(json<{ error: string }>(refused).error).toMatch(/too many event streams/);
    clients[0]?.close();
    await waitFor(() => server.events.size === 2, 'one stream closed');
    const again = await open();
    expect(again.status).toBe(200);
  });

  it('a change is serialised once, whatever the number of streams', async () => {
    const clients = [await open(), await open(), await open()];
    await Promise.all(clients.map((c) => c.until((events) => events.length >= 1)));
    const versions = vi.spyOn(server.registry, 'versions');
    try {
      server.registry.set(fakeEntry('once', 'aaaaaaaaaaaaaaaa'));
      await Promise.all(clients.map((c) => c.until((events) => events.length >= 2)));
      expect(versions).toHaveBeenCalledTimes(1);
    } finally {
      versions.mockRestore();
      server.registry.remove('once');
    }
  });

  it('a client that stops reading is dropped once it is 1 MiB behind; the others keep theirs', async () => {
    // Many long ids make each event large, so the socket buffers fill within a bounded number of changes.
    for (let i = 0; i < 2000; i++) server.registry.set(fakeEntry(`t${i}-${'x'.repeat(100)}`, 'bbbbbbbbbbbbbbbb'));
    const reader = await open();
    await reader.until((events) => events.length >= 1);
    const stalled = await new Promise<Socket>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () =>
        socket.write('GET /api/tile-version/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      );
      socket.once('data', () => {
        socket.pause();
        resolve(socket);
      });
      socket.on('error', reject);
    });
    const closed = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
    try {
      expect(server.events.size).toBe(2);
      for (let change = 0; change < 400 && server.events.size === 2; change++) {
        server.registry.set(fakeEntry('moving', change.toString(16).padStart(16, '0')));
        // The reading client takes each event before the next: only the stalled one falls behind.
        await reader.until((events) => events.at(-1)?.data.includes(`"${change.toString(16).padStart(16, '0')}"`) ?? false);
      }
      expect(server.events.size).toBe(1);
      expect(server.logs.some((l) => l.message === 'event stream dropped: its client does not keep up')).toBe(true);
      stalled.resume(); // let the socket see its end
      await closed;
    } finally {
      stalled.destroy();
      for (const entry of server.registry.list()) if (entry.id !== 'countries') server.registry.remove(entry.id);
    }
  }, 60_000);

  it('a client leaving is not an error in the log', async () => {
    const client = await open();
    await client.until((events) => events.length >= 1);
    client.close();
    await waitFor(() => server.events.size === 0, 'the stream closed');
    // A round trip after the close, so anything the close set off has happened.
    await rawRequest(`${server.url}/health`);
    expect(server.logs.filter((l) => l.level === 'error')).toEqual([]);
  });
});
