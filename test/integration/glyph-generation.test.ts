import { cpSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FontStore } from '../../src/fonts/font-store.ts';
import { buildGlyphRange } from '../../src/fonts/glyph-range.ts';
import { errorMiddleware } from '../../src/http/errors.ts';
import { glyphsHandler } from '../../src/http/font-routes.ts';
import { GenerationGate } from '../../src/http/generation-gate.ts';
import { REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, json, rawRequest } from '../helpers/http.ts';
import { memoryLogger } from '../helpers/server.ts';

let dir: string;
let store: FontStore;
const servers: Server[] = [];

beforeAll(async () => {
  dir = tempDir();
  cpSync(join(REPO, 'data', 'fonts'), join(dir, 'fonts'), { recursive: true });
  store = new FontStore(dir, memoryLogger());
  await store.ready;
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  removeDir(dir);
});

/**
 * The glyph route alone on a loopback port, its generations counted (and the most at once);
 * `before` runs as each generation starts and may hold it.
 */
async function glyphServer(
  gate?: GenerationGate,
  before: () => Promise<void> = async () => {},
): Promise<{ url: string; generated: string[]; most: () => number }> {
  const generated: string[] = [];
  let running = 0;
  let most = 0;
  const koa = new Koa();
  koa.use(errorMiddleware(memoryLogger()));
  koa.use(
    glyphsHandler(store, 8 * 1024 * 1024, {
      ...(gate && { gate }),
      build: async (name, faces, start) => {
        generated.push(`${name} ${start}`);
        most = Math.max(most, ++running);
        try {
          await before();
          return await buildGlyphRange(name, faces, start);
        } finally {
          running--;
        }
      },
    }),
  );
  const server = createServer(koa.callback());
  servers.push(server);
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, generated, most: () => most };
}

describe('glyph generation', () => {
  it('is keyed by the fonts known here: unknown extra names in a stack do not make a new range', async () => {
    const { url, generated } = await glyphServer();
    const first = await rawRequest(`${url}/fonts/Noto%20Sans%20Regular,Nope%20One/0-255.pbf`);
    const second = await rawRequest(`${url}/fonts/Nope%20Two,Noto%20Sans%20Regular,Nope%20Three/0-255.pbf`);
    const plain = await rawRequest(`${url}/fonts/Noto%20Sans%20Regular/0-255.pbf`);
    expect([first.status, second.status, plain.status]).toEqual([200, 200, 200]);
    expect(second.body).toEqual(first.body);
    expect(generated).toEqual(['Noto Sans Regular 0']);
  });

  it('runs no more generations at once than the gate allows, however many ranges are asked for', async () => {
    const { url, generated, most } = await glyphServer(new GenerationGate(1, 16));
    const ranges = ['0-255', '256-511', '512-767', '768-1023'];
    const answers = await Promise.all(ranges.map((range) => rawRequest(`${url}/fonts/Noto%20Sans%20Regular/${range}.pbf`)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(generated).toHaveLength(4);
    expect(most()).toBe(1);
  });

  it('answers 503, Retry-After, no-store when the queue is full', async () => {
    let started!: () => void;
    const running = new Promise<void>((done) => {
      started = done;
    });
    let finish!: () => void;
    const held = new Promise<void>((done) => {
      finish = done;
    });
    const { url } = await glyphServer(new GenerationGate(1, 0), () => {
      started();
      return held;
    });
    const first = rawRequest(`${url}/fonts/Noto%20Sans%20Regular/0-255.pbf`);
    await running;
    const refused = await rawRequest(`${url}/fonts/Noto%20Sans%20Regular/256-511.pbf`);
    expect(refused.status).toBe(503);
    expect(header(refused, 'retry-after')).toBe('1');
    expect(header(refused, 'cache-control')).toBe('no-store');
    expect(json<{ error: string }>(refused).error).toMatch(/retry/);
    finish();
    expect((await first).status).toBe(200);
  });
});
