import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as sent on the wire: never decompressed. */
  body: Buffer;
}

/**
 * A plain HTTP request that, unlike fetch, neither adds Accept-Encoding nor decompresses, so
 * tests see the bytes and headers a cache or a browser would get.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET with Accept-Encoding: gzip, as browsers send it. */
export function getGzip(url: string): Promise<RawResponse> {
  return rawRequest(url, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
}

export function header(res: RawResponse, name: string): string | undefined {
  const value = res.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function json<T = unknown>(res: RawResponse): T {
  return JSON.parse(res.body.toString('utf8')) as T;
}
