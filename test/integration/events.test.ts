import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMbtilesSource } from '../../src/source/mbtiles-source.ts';
import { betterSqliteDriver } from '../../src/storage/sqlite-better.ts';
import { copyFixture, removeDir, tempDir } from '../helpers/fixtures.ts';
import { json, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { openSse, type SseEvent } from '../helpers/sse.ts';
import { waitFor } from '../helpers/wait.ts';

interface VersionsEvent {
  version: string;
  tilesets: Record<string, string>;
  changed?: { id: string; version: string | null; previous: string | null };
}

let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  copyFixture('world_cities.mbtiles', dir);
  copyFixture('countries-v2.mbtiles', join(dir, 'staging'));
  server = await startTestServer(dir, { sseHeartbeat: 1 });
});

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

const parse = (e: SseEvent) => JSON.parse(e.data) as VersionsEvent;

/** Swaps the countries tileset to another file through the registry, as a reload does. */
async function swapCountries(file: string): Promise<string> {
  const source = await loadMbtilesSource(betterSqliteDriver, 'countries', file);
  server.registry.set({ state: 'ok', id: 'countries', path: file, source, loadedAt: new Date(), warnings: [] });
  return source.version;
}

describe('GET /api/tile-version/events', () => {
  it('sends the current versions on connect, as /api/tile-version has them', async () => {
    const client = await openSse(`${server.url}/api/tile-version/events`);
    try {
      expect(client.status).toBe(200);
      expect(client.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(client.headers['cache-control']).toBe('no-cache');
      expect(client.headers['content-encoding']).toBeUndefined();
      await client.until((events) => events.length >= 1);
      const first = client.events[0]!;
      expect(first.event).toBe('versions');
      expect(parse(first)).toEqual(json(await rawRequest(`${server.url}/api/tile-version`)));
      expect(first.id).toBe(parse(first).version);
    } finally {
      client.close();
    }
  });

  it('sends heartbeats so proxies keep the stream open', async () => {
    const client = await openSse(`${server.url}/api/tile-version/events`);
    try {
      await client.until((_, comments) => comments.filter((c) => c === 'heartbeat').length >= 2, 5_000);
    } finally {
      client.close();
    }
  });

  it('sends one event per change to every one of many clients, then cleans up when they leave', async () => {
    await waitFor(() => server.events.size === 0, 'the earlier tests’ streams to close');
    const clients = await Promise.all(Array.from({ length: 50 }, () => openSse(`${server.url}/api/tile-version/events`)));
    try {
      await Promise.all(clients.map((c) => c.until((events) => events.length >= 1)));
      expect(server.events.size).toBe(50);
      const before = parse(clients[0]!.events[0]!).tilesets.countries;
      const next = await swapCountries(join(dir, 'staging/countries-v2.mbtiles'));
      expect(next).not.toBe(before);
      for (const client of clients) {
        await client.until((events) => events.length >= 2);
        const change = parse(client.events[1]!);
        expect(change.changed).toEqual({ id: 'countries', version: next, previous: before });
        expect(change.tilesets.countries).toBe(next);
        expect(change.version).toBe(json<{ version: string }>(await rawRequest(`${server.url}/api/tile-version`)).version);
      }
      // Swapping in a file with the same version is no change: no event.
      await swapCountries(join(dir, 'staging/countries-v2.mbtiles'));
      server.registry.remove('world_cities');
      await clients[0]!.until((events) => events.length >= 3);
      expect(parse(clients[0]!.events[2]!).changed).toMatchObject({ id: 'world_cities', version: null });
      expect(parse(clients[0]!.events[2]!).tilesets.world_cities).toBeUndefined();
    } finally {
      for (const client of clients) client.close();
    }
    await waitFor(() => server.events.size === 0, 'every stream to be cleaned up');
  });
});
