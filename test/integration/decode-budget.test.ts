import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir, writeDeduplicated } from '../helpers/fixtures.ts';
import { getGzip, header, json, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The bytes decompressed for clients that refuse gzip are bounded across all requests, not per
// request: a tile that inflates to 30 MiB, asked for by clients that do not read, cannot make
// the server hold 30 MiB per client.

const MIB = 1024 * 1024;
const BIG = 30 * MIB;
let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = tempDir();
  const info = {
    name: 'big',
    format: 'pbf',
    minzoom: 0,
    maxzoom: 0,
    json: JSON.stringify({ vector_layers: [{ id: 'x', fields: {} }] }),
  };
  writeDeduplicated(join(dir, 'big.mbtiles'), info, [{ z: 0, x: 0, y: 0, data: gzipSync(Buffer.alloc(BIG)) }]);
  // Room for one such tile at a time.
  server = await startTestServer(dir, { decodeMemory: 40 * MIB });
});

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

/** A client that asks for the tile without gzip and reads only the status line: its answer stays unsent. */
function stalledClient(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      socket.write('GET /tiles/big/0/0/0.pbf HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    });
    socket.once('data', (chunk) => {
      socket.pause();
      expect(chunk.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

describe('decode budget', () => {
  it('a decode beyond the budget answers 503 with Retry-After; gzip clients are unaffected; room comes back when the client leaves', async () => {
    const stalled = await stalledClient();
    try {
      const refused = await rawRequest(`${server.url}/tiles/big/0/0/0.pbf`);
      expect(refused.status).toBe(503);
      expect(header(refused, 'retry-after')).toBe('1');
      expect(header(refused, 'cache-control')).toBe('no-store');
      expect(json<{ error: string }>(refused).error).toMatch(/decompressed at once/);
      const gzip = await getGzip(`${server.url}/tiles/big/0/0/0.pbf`);
      expect(gzip.status).toBe(200);
      expect(header(gzip, 'content-encoding')).toBe('gzip');
    } finally {
      stalled.destroy();
    }
    // The stalled answer's bytes are given back when its client goes; the next one waits for that.
    const served = await rawRequest(`${server.url}/tiles/big/0/0/0.pbf`);
    expect(served.status).toBe(200);
    expect(served.body.length).toBe(BIG);
  });
});
