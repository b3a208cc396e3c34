import { type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorAnswer } from './errors.ts';

/** The status Node's own handler would pick for a request its parser refused. */
function statusOf(error: NodeJS.ErrnoException): number {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 431;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/**
 * Answers requests Node's HTTP parser rejects (malformed, headers too large, too slow) with the
 * error answer every other error gets (errorAnswer: the JSON body, `Cache-Control: no-store`, so
 * no cache keeps them), written to the socket: there is no request for Koa to handle. Node's
 * default handler sends a bare status line without it.
 */
export function installClientErrorHandler(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A client that left, or a socket already answering a request: nothing to say to it.
    const busy = (socket as Duplex & { _httpMessage?: unknown })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || busy) {
      socket.destroy();
      return;
    }
    const status = statusOf(error);
    const { headers, body } = errorAnswer(status, (STATUS_CODES[status] ?? 'bad request').toLowerCase());
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('')}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
