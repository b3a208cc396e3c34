import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogLevel } from './log.ts';
import { VERSION_SOURCES, type VersionFrom, type VersionOptions } from './source/version.ts';

/** Everything `tilestamp serve` can be told, after flags and environment are merged. */
export interface Config {
  dataDir: string;
  port: number;
  host: string;
  /** Base of every published URL, instead of one built from the request. No trailing slash. */
  publicUrl: string | undefined;
  /** Honour X-Forwarded-Proto, -Host and -Prefix (only behind a proxy you run). */
  trustProxy: boolean;
  /** max-age in seconds for tiles requested without `v`. */
  maxAge: number;
  /** Value of Access-Control-Allow-Origin. */
  corsOrigin: string;
  logLevel: LogLevel;
  /** How each tileset's version is derived. */
  versioning: VersionOptions;
  /** Seconds between keep-alive comments on the Server-Sent Events stream. */
  sseHeartbeat: number;
  /** Watch the data folder with file-system events (inotify); SIGHUP rescans either way. */
  watch: boolean;
  /** Milliseconds between stat polls of the data folder; 0: no polling. */
  pollMs: number;
  /** Milliseconds a changed file's size and mtime must hold still before it is taken. */
  settleMs: number;
  /** Bytes of the hot-tile cache shared by every tileset; 0: no cache. */
  cacheBytes: number;
  /** HTTP worker processes on the one port (node:cluster); 1: everything in this process. */
  workers: number;
  /** On SIGTERM/SIGINT, how long requests in flight may take before what is left is cut. */
  shutdownTimeoutMs: number;
  /** Bytes of decompressed tiles held at once for clients that refuse gzip (default 256 MiB). */
  decodeMemory?: number;
  /** Open event streams at most; more get 503 (default 10,000). */
  maxEventStreams?: number;
  /** Bytes of generated glyph ranges kept (default 32 MiB). */
  glyphCacheBytes?: number;
  /** Where computed versions are remembered across restarts; undefined: nowhere. */
  stateDir?: string | undefined;
}

export type Command =
  | { name: 'serve'; config: Config }
  | { name: 'version'; files: string[]; versioning: VersionOptions }
  | { name: 'stamp'; files: string[]; check: boolean }
  | { name: 'help' };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

interface OptionSpec {
  flag: string;
  env?: string;
  value?: string;
  help: string;
  fallback?: string;
}

/** Every option, in the order --help lists them. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'data',
    env: 'TILESTAMP_DATA',
    value: 'DIR',
    help: 'folder of .mbtiles files (and one level of subfolders)',
    fallback: './data',
  },
  { flag: 'port', env: 'TILESTAMP_PORT', value: 'N', help: 'TCP port to listen on (0 picks a free one)', fallback: '8080' },
  { flag: 'host', env: 'TILESTAMP_HOST', value: 'H', help: 'address to listen on', fallback: '0.0.0.0' },
  { flag: 'public-url', env: 'TILESTAMP_PUBLIC_URL', value: 'URL', help: 'base of published URLs (default: from the request)' },
  { flag: 'trust-proxy', env: 'TILESTAMP_TRUST_PROXY', help: 'honour X-Forwarded-Proto/-Host/-Prefix' },
  { flag: 'max-age', env: 'TILESTAMP_MAX_AGE', value: 'S', help: 'max-age of tiles requested without ?v=', fallback: '60' },
  { flag: 'cors', env: 'TILESTAMP_CORS', value: 'ORIGIN', help: 'Access-Control-Allow-Origin value', fallback: '*' },
  { flag: 'log-level', env: 'TILESTAMP_LOG_LEVEL', value: 'L', help: LOG_LEVELS.join('|'), fallback: 'info' },
  {
    flag: 'version-from',
    env: 'TILESTAMP_VERSION_FROM',
    value: 'SRC',
    help: 'content (tiles) | file (raw bytes) | metadata (agg_tiles_hash or --version-key)',
    fallback: 'content',
  },
  {
    flag: 'version-key',
    env: 'TILESTAMP_VERSION_KEY',
    value: 'KEY',
    help: 'metadata key to use when a file has no agg_tiles_hash',
  },
  {
    flag: 'poll-interval',
    env: 'TILESTAMP_POLL_INTERVAL',
    value: 'S',
    help: 'seconds between stat polls of the data folder (0: off)',
    fallback: '2',
  },
  {
    flag: 'settle-ms',
    env: 'TILESTAMP_SETTLE_MS',
    value: 'MS',
    help: 'how long a changed file must hold still before it is taken',
    fallback: '500',
  },
  { flag: 'no-watch', env: 'TILESTAMP_NO_WATCH', help: 'do not watch or poll the data folder (SIGHUP still rescans)' },
  {
    flag: 'sse-heartbeat',
    env: 'TILESTAMP_SSE_HEARTBEAT',
    value: 'S',
    help: 'seconds between keep-alives on the events stream',
    fallback: '15',
  },
  {
    flag: 'cache-size',
    env: 'TILESTAMP_CACHE_SIZE',
    value: 'MiB',
    help: 'hot-tile cache per process, least recently used out (0: off)',
    fallback: '64',
  },
  {
    flag: 'glyph-cache',
    env: 'TILESTAMP_GLYPH_CACHE',
    value: 'MiB',
    help: 'generated glyph ranges kept per process, least recently used out (0: off)',
    fallback: '32',
  },
  {
    flag: 'workers',
    env: 'TILESTAMP_WORKERS',
    value: 'N',
    help: 'HTTP worker processes on the one port, or auto (one per core)',
    fallback: '1',
  },
  {
    flag: 'shutdown-timeout',
    env: 'TILESTAMP_SHUTDOWN_TIMEOUT',
    value: 'S',
    help: 'on SIGTERM, seconds for requests in flight before the rest is cut',
    fallback: '8',
  },
  {
    flag: 'max-event-streams',
    env: 'TILESTAMP_MAX_EVENT_STREAMS',
    value: 'N',
    help: 'open /api/tile-version/events streams at most (more get 503)',
    fallback: '10000',
  },
  {
    flag: 'decode-memory',
    env: 'TILESTAMP_DECODE_MEMORY',
    value: 'MIB',
    help: 'MiB of tiles decompressed at once for clients without gzip (more wait, then 503)',
    fallback: '256',
  },
  {
    flag: 'state-dir',
    env: 'TILESTAMP_STATE_DIR',
    value: 'DIR',
    help: 'where computed versions are remembered across restarts',
    fallback: '$XDG_CACHE_HOME/tilestamp or ~/.cache/tilestamp',
  },
  { flag: 'check', help: 'with stamp: compare agg_tiles_hash instead of writing it (exit 1 on a mismatch)' },
  { flag: 'help', help: 'print this help and exit' },
];

export const USAGE = `Usage (from a clone, after npm start or npm run build: npx tilestamp COMMAND):
  tilestamp serve [options]      serve every .mbtiles file in the data folder
  tilestamp version FILE...      print "version  id  path" for each file, as the server derives it
                                 (with --version-from and --version-key as given)
  tilestamp stamp FILE... [--check]
                                 write martin's agg_tiles_hash into each file's metadata
                                 and print "hash  path" (--check: compare, do not write)
  tilestamp --help               print this help

Options (each also from its environment variable; a flag wins):
${OPTIONS.map((o) => `  --${`${o.flag}${o.value ? ` ${o.value}` : ''}`.padEnd(18)} ${o.help}${o.fallback ? ` [${o.fallback}]` : ''}${o.env ? `  (${o.env})` : ''}`).join('\n')}
`;

/** Parses argv (without node and script) and the environment. Pure: never exits, never prints. */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cores = 1,
): ParseResult {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: o.value ? 'string' : 'boolean' }])) as Record<
        string,
        { type: 'string' | 'boolean' }
      >,
    });
  } catch (error) {
    return { ok: false, error: (error as Error).message.split('\n')[0] as string };
  }
  const { values, positionals } = parsed;
  if (values.help) return { ok: true, command: { name: 'help' } };
  const [name = 'serve', ...rest] = positionals;
  if (name !== 'serve' && name !== 'version' && name !== 'stamp') {
    return { ok: false, error: `unknown command ${JSON.stringify(name)}` };
  }
  if (values.check && name !== 'stamp') return { ok: false, error: '--check only applies to stamp' };
  if (name === 'stamp') {
    if (rest.length === 0) return { ok: false, error: 'stamp needs at least one FILE' };
    return { ok: true, command: { name, files: rest, check: values.check === true } };
  }
  const pick = (flag: string): string | undefined => {
    const spec = OPTIONS.find((o) => o.flag === flag) as OptionSpec;
    const value = values[flag];
    if (typeof value === 'string') return value;
    if (value === true) return 'true';
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    return flag === 'state-dir' ? defaultStateDir(env) : spec.fallback;
  };
  const versioning = buildVersioning(pick);
  if (typeof versioning === 'string') return { ok: false, error: versioning };
  if (name === 'version') {
    if (rest.length === 0) return { ok: false, error: 'version needs at least one FILE' };
    return { ok: true, command: { name, files: rest, versioning } };
  }
  if (rest.length > 0) return { ok: false, error: `unexpected argument ${JSON.stringify(rest[0])}` };
  return buildConfig(pick, versioning, cores);
}

/** The version options, or an error sentence. */
function buildVersioning(pick: (flag: string) => string | undefined): VersionOptions | string {
  const from = pick('version-from') as VersionFrom;
  if (!VERSION_SOURCES.includes(from)) return `--version-from must be one of ${VERSION_SOURCES.join(', ')}, got ${from}`;
  const key = pick('version-key');
  if (key !== undefined && from !== 'metadata') return '--version-key only applies with --version-from metadata';
  return { from, key };
}

function buildConfig(pick: (flag: string) => string | undefined, versioning: VersionOptions, cores: number): ParseResult {
  const port = integer(pick('port'), 0, 65535);
  if (port === undefined) return { ok: false, error: `--port must be a whole number from 0 to 65535, got ${pick('port')}` };
  const maxAge = integer(pick('max-age'), 0, 31_536_000);
  if (maxAge === undefined)
    return { ok: false, error: `--max-age must be whole seconds from 0 to 31536000, got ${pick('max-age')}` };
  const sseHeartbeat = integer(pick('sse-heartbeat'), 1, 3600);
  if (sseHeartbeat === undefined) {
    return { ok: false, error: `--sse-heartbeat must be whole seconds from 1 to 3600, got ${pick('sse-heartbeat')}` };
  }
  const pollSeconds = Number(pick('poll-interval'));
  if (!/^[0-9]+(\.[0-9]+)?$/.test(pick('poll-interval') as string) || pollSeconds > 3600) {
    return { ok: false, error: `--poll-interval must be seconds from 0 to 3600, got ${pick('poll-interval')}` };
  }
  const settleMs = integer(pick('settle-ms'), 0, 60_000);
  if (settleMs === undefined) {
    return { ok: false, error: `--settle-ms must be whole milliseconds from 0 to 60000, got ${pick('settle-ms')}` };
  }
  const cacheMiB = integer(pick('cache-size'), 0, 1_048_576);
  if (cacheMiB === undefined) {
    return { ok: false, error: `--cache-size must be whole MiB from 0 to 1048576, got ${pick('cache-size')}` };
  }
  const glyphCacheMiB = integer(pick('glyph-cache'), 0, 65_536);
  if (glyphCacheMiB === undefined) {
    return { ok: false, error: `--glyph-cache must be whole MiB from 0 to 65536, got ${pick('glyph-cache')}` };
  }
  const workers = pick('workers') === 'auto' ? Math.max(1, cores) : integer(pick('workers'), 1, 256);
  if (workers === undefined)
    return { ok: false, error: `--workers must be auto or a whole number from 1 to 256, got ${pick('workers')}` };
  const shutdownSeconds = Number(pick('shutdown-timeout'));
  if (!/^[0-9]+(\.[0-9]+)?$/.test(pick('shutdown-timeout') as string) || shutdownSeconds > 3600) {
    return { ok: false, error: `--shutdown-timeout must be seconds from 0 to 3600, got ${pick('shutdown-timeout')}` };
  }
  const maxEventStreams = integer(pick('max-event-streams'), 1, 1_000_000);
  if (maxEventStreams === undefined) {
    return { ok: false, error: `--max-event-streams must be a whole number from 1 to 1000000, got ${pick('max-event-streams')}` };
  }
  const decodeMiB = integer(pick('decode-memory'), 1, 65_536);
  if (decodeMiB === undefined) {
    return { ok: false, error: `--decode-memory must be whole MiB from 1 to 65536, got ${pick('decode-memory')}` };
  }
  const noWatch = pick('no-watch');
  if (noWatch !== undefined && !['true', 'false', '1', '0'].includes(noWatch)) {
    return { ok: false, error: `TILESTAMP_NO_WATCH must be true, false, 1 or 0, got ${noWatch}` };
  }
  const logLevel = pick('log-level') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) return { ok: false, error: `--log-level must be one of ${LOG_LEVELS.join(', ')}` };
  const publicUrl = pick('public-url');
  if (publicUrl !== undefined && !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(publicUrl)) {
    return { ok: false, error: `--public-url must be an http(s) URL without query or fragment, got ${publicUrl}` };
  }
  const trustProxy = pick('trust-proxy');
  if (trustProxy !== undefined && !['true', 'false', '1', '0'].includes(trustProxy)) {
    return { ok: false, error: `TILESTAMP_TRUST_PROXY must be true, false, 1 or 0, got ${trustProxy}` };
  }
  const corsOrigin = pick('cors') as string;
  if (!/^[\x21-\x7e]+$/.test(corsOrigin))
    return { ok: false, error: `--cors must be * or an origin in visible ASCII, got ${corsOrigin}` };
  const host = pick('host') as string;
  const dataDir = pick('data') as string;
  if (host === '' || dataDir === '') return { ok: false, error: '--host and --data must not be empty' };
  return {
    ok: true,
    command: {
      name: 'serve',
      config: {
        dataDir,
        port,
        host,
        publicUrl: publicUrl?.replace(/\/+$/, ''),
        trustProxy: trustProxy === 'true' || trustProxy === '1',
        maxAge,
        corsOrigin,
        logLevel,
        versioning,
        sseHeartbeat,
        watch: !(noWatch === 'true' || noWatch === '1'),
        // --no-watch turns polling off too: only SIGHUP reloads then.
        pollMs: noWatch === 'true' || noWatch === '1' ? 0 : Math.round(pollSeconds * 1000),
        settleMs,
        cacheBytes: cacheMiB * 1024 * 1024,
        glyphCacheBytes: glyphCacheMiB * 1024 * 1024,
        workers,
        shutdownTimeoutMs: Math.round(shutdownSeconds * 1000),
        maxEventStreams,
        decodeMemory: decodeMiB * 1024 * 1024,
        stateDir: pick('state-dir'),
      },
    },
  };
}

/** The XDG cache folder (`$XDG_CACHE_HOME/tilestamp`, else `~/.cache/tilestamp`); undefined without either. */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec: a relative path there is invalid and is ignored.
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'tilestamp');
  const home = env.HOME;
  return home !== undefined && isAbsolute(home) ? join(home, '.cache', 'tilestamp') : undefined;
}

function integer(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}
