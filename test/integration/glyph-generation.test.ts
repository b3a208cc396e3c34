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
import { REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { rawRequest } from '../helpers/http.ts';
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

/** The glyph route alone on a loopback port, its generations counted. */
async function glyphServer(): Promise<{ url: string; generated: string[] }> {
  const generated: string[] = [];
  const koa = new Koa();
  koa.use(errorMiddleware(memoryLogger()));
  koa.use(
    glyphsHandler(store, 8 * 1024 * 1024, {
      build: (name, faces, start) => {
        generated.push(`${name} ${start}`);
        return buildGlyphRange(name, faces, start);
      },
    }),
  );
  const server = createServer(koa.callback());
  servers.push(server);
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, generated };
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
});
