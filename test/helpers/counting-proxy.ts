import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the origin answered through the proxy. */
export interface Passed {
  path: string;
  status: number;
}

export interface CountingProxy {
  url: string;
  port: number;
  /** Every request passed to the origin, in the order answered. */
  passed: Passed[];
  stop(): Promise<void>;
}

/**
 * A plain HTTP proxy on a loopback port in front of an origin, counting what the origin answers:
 * the server-side count of a test (what a browser or a CDN really fetched, not what it took from
 * its cache). The Host header is passed on, so the origin builds its URLs with the proxy's
 * address. `pages` are answered by the proxy itself (a test page on the same origin as the tiles).
 */
export function startCountingProxy(origin: string, pages: Record<string, string> = {}): Promise<CountingProxy> {
  const target = new URL(origin);
  const passed: Passed[] = [];
  const server = createServer((req, res) => {
    const page = pages[req.url ?? ''];
    if (page !== undefined) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(page);
      return;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        passed.push({ path: req.url ?? '', status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        passed,
        stop: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
