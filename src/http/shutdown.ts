import type { Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/** How a server closes: gracefully, then by force once the deadline passes. */
export interface GracefulClose {
  /**
   * Stops accepting; ends idle keep-alive sockets at once (after what they still have to send);
   * answers every request after this with `Connection: close`; lets requests in flight finish;
   * destroys whatever is still open after `deadlineMs`. Resolves when every socket is gone.
   */
  close(deadlineMs: number): Promise<void>;
}

/**
 * Tracks the server's sockets and the requests in flight on each, for a shutdown that cuts
 * nothing and still always ends.
 *
 * Why not `server.close()` alone: since Node 19 it also calls `closeIdleConnections()`, which
 * *destroys* every socket whose last response has been handed to it, even when megabytes of that
 * response still sit in the socket's buffer: a large tile in flight was cut at ~4 MiB. Here idle
 * sockets are `end()`ed, which sends what is buffered before the FIN, and the listening socket is
 * closed through `net.Server`'s own close.
 */
export function gracefulClose(server: Server): GracefulClose {
  const inFlight = new Map<Socket, number>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  server.prependListener('request', (req, res) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    if (closing) res.setHeader('Connection', 'close');
    res.once('close', () => {
      const left = (inFlight.get(socket) ?? 1) - 1;
      if (!inFlight.has(socket)) return;
      inFlight.set(socket, left);
      if (closing && left === 0) socket.end();
    });
  });
  return {
    close(deadlineMs: number): Promise<void> {
      closing = true;
      const closed = new Promise<void>((resolve) => {
        NetServer.prototype.close.call(server, () => resolve());
      });
      for (const [socket, requests] of inFlight) if (requests === 0) socket.end();
      const deadline = setTimeout(() => {
        for (const socket of inFlight.keys()) socket.destroy();
      }, deadlineMs);
      return closed.finally(() => clearTimeout(deadline));
    },
  };
}
