import { type ClientRequest, request } from 'node:http';

/** One Server-Sent Event as a browser's EventSource would see it; comments kept apart. */
export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

export interface SseClient {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  events: SseEvent[];
  comments: string[];
  /** Resolves when `predicate` holds for the events so far; rejects after `timeoutMs`. */
  until(predicate: (events: SseEvent[], comments: string[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Opens an event stream and parses it as it arrives (text/event-stream framing). */
export function openSse(url: string): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const comments: string[] = [];
    const waiters = new Set<() => void>();
    let req: ClientRequest | undefined;
    req = request(url, { headers: { Accept: 'text/event-stream' } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = { event: 'message', id: undefined as string | undefined, data: [] as string[] };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) fields.id = line.slice(4);
            else if (line.startsWith('event: ')) {
              fields.event = line.slice(7);
              isEvent = true;
            } else if (line.startsWith('data: ')) {
              fields.data.push(line.slice(6));
              isEvent = true;
            }
          }
          if (isEvent) events.push({ event: fields.event, id: fields.id, data: fields.data.join('\n') });
          end = buffer.indexOf('\n\n');
        }
        for (const wake of waiters) wake();
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        until(predicate, timeoutMs = 10_000) {
          if (predicate(events, comments)) return Promise.resolve();
          return new Promise((done, fail) => {
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`condition not met within ${timeoutMs} ms; events: ${JSON.stringify(events)}`));
            }, timeoutMs);
            const check = () => {
              if (!predicate(events, comments)) return;
              clearTimeout(timer);
              waiters.delete(check);
              done();
            };
            waiters.add(check);
          });
        },
        close: () => req?.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
