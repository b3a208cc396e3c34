import { cpSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorMiddleware } from '../../src/http/errors.ts';
import { GenerationGate } from '../../src/http/generation-gate.ts';
import { spritesHandler } from '../../src/http/sprite-routes.ts';
import { SpriteStore } from '../../src/sprites/sprite-store.ts';
import { REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, rawRequest } from '../helpers/http.ts';
import { memoryLogger } from '../helpers/server.ts';

/** A gate that counts what it is given to run. */
class CountingGate extends GenerationGate {
  runs = 0;
  override run<T>(make: () => Promise<T>): Promise<T> {
    this.runs++;
    return super.run(make);
  }
}

let dir: string;
let server: Server;
let url: string;
const gate = new CountingGate(1, 0);

beforeAll(async () => {
  dir = tempDir();
  cpSync(join(REPO, 'data', 'sprites'), join(dir, 'sprites'), { recursive: true });
  const store = new SpriteStore(dir, memoryLogger());
  await store.ready;
  const koa = new Koa();
  koa.use(errorMiddleware(memoryLogger()));
  koa.use(spritesHandler(store, gate));
  server = createServer(koa.callback());
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((done) => server.close(done));
  removeDir(dir);
});

describe('sprite generation', () => {
  it('goes through the generation gate once per sheet built, not for an answer already built', async () => {
    expect((await rawRequest(`${url}/sprites/maki.png`)).status).toBe(200);
    expect((await rawRequest(`${url}/sprites/maki.json`)).status).toBe(200);
    expect(gate.runs).toBe(1);
    expect((await rawRequest(`${url}/sprites/maki@2x.png`)).status).toBe(200);
    expect(gate.runs).toBe(2);
  });

  it('answers 503, Retry-After, no-store while the gate is full', async () => {
    let release!: () => void;
    const hold = gate.run(() => new Promise<void>((done) => (release = done)));
    const refused = await rawRequest(`${url}/sprites/maki.sdf.png`);
    expect(refused.status).toBe(503);
    expect(header(refused, 'retry-after')).toBe('1');
    expect(header(refused, 'cache-control')).toBe('no-store');
    release();
    await hold;
    expect((await rawRequest(`${url}/sprites/maki.sdf.png`)).status).toBe(200);
  });
});
