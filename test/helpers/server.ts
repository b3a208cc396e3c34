import type { Clock } from '../../src/clock.ts';
import type { Config } from '../../src/config.ts';
import type { Logger } from '../../src/log.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { betterSqliteDriver } from '../../src/storage/sqlite-better.ts';

/** A log line as the server emitted it. */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps every line, so tests can check what an operator would read. */
export function memoryLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (fields: object, message: string) => {
    lines.push({ level, fields: fields as Record<string, unknown>, message });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface TestServer extends RunningServer {
  logs: LogLine[];
  /** fetch relative to the server's URL. */
  get(path: string, init?: RequestInit): Promise<Response>;
}

/** Starts the real server on an ephemeral loopback port over `dataDir` and waits for its first scan. */
export async function startTestServer(
  dataDir: string,
  overrides: Partial<Config> = {},
  options: { clock?: Clock } = {},
): Promise<TestServer> {
  const logger = memoryLogger();
  const config: Config = {
    dataDir,
    port: 0,
    host: '127.0.0.1',
    publicUrl: undefined,
    trustProxy: false,
    maxAge: 60,
    corsOrigin: '*',
    logLevel: 'debug',
    versioning: { from: 'content', key: undefined },
    sseHeartbeat: 15,
    watch: false,
    pollMs: 0,
    settleMs: 100,
    cacheBytes: 64 * 1024 * 1024,
    workers: 1,
    shutdownTimeoutMs: 8000,
    ...overrides,
  };
  const server = await startServer(config, logger, betterSqliteDriver, options);
  await server.loaded;
  return { ...server, logs: logger.lines, get: (path, init) => fetch(`${server.url}${path}`, init) };
}
