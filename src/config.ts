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
  /** Bytes of generated glyph ranges kept (default 32 MiB). */
  glyphCacheBytes?: number;
  /** Open event streams at most; more get 503 (default 10,000). */
  maxEventStreams?: number;
  /** Where computed versions are remembered across restarts; undefined: nowhere. */
  stateDir?: string | undefined;
}

export type Command =
  | { name: 'serve'; config: Config }
  | { name: 'version'; files: string[]; versioning: VersionOptions }
  | { name: 'stamp'; files: string[]; check: boolean }
  | { name: 'help' };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

/**
 * What a value must look like, said once beside its option: the check and the error sentence
 * both come from here.
 */
export type OptionCheck =
  /** A number from `min` to `max`; `unit` names what it counts in the error, `word` is also taken. */
  | { number: { min: number; max: number; unit?: string; fraction?: boolean; word?: string } }
  | { oneOf: readonly string[] }
  /** A free value matching `pattern`; `expects` says what that is, for the error. */
  | { pattern: RegExp; expects: string };

export interface OptionSpec {
  flag: string;
  env?: string;
  value?: string;
  help: string;
  fallback?: string;
  check?: OptionCheck;
  /** An empty value (flag or variable) turns the feature off; elsewhere an empty variable is unset. */
  emptyTurnsOff?: boolean;
}

const seconds = (min: number, max: number, fraction = false): OptionCheck => ({
  number: { min, max, unit: 'seconds', fraction },
});
const wholeNumber = (min: number, max: number, unit?: string): OptionCheck => ({ number: { min, max, unit } });

/** Every option, in the order --help lists them. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'data',
    env: 'TILESTAMP_DATA',
    value: 'DIR',
    help: 'folder of .mbtiles files (and one level of subfolders)',
    fallback: './data',
  },
  {
    flag: 'port',
    env: 'TILESTAMP_PORT',
    value: 'N',
    help: 'TCP port to listen on (0 picks a free one)',
    fallback: '8080',
    check: wholeNumber(0, 65535),
  },
  { flag: 'host', env: 'TILESTAMP_HOST', value: 'H', help: 'address to listen on', fallback: '0.0.0.0' },
  {
    flag: 'public-url',
    env: 'TILESTAMP_PUBLIC_URL',
    value: 'URL',
    help: 'base of published URLs (default: from the request)',
    check: { pattern: /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, expects: 'an http(s) URL without query or fragment' },
  },
  { flag: 'trust-proxy', env: 'TILESTAMP_TRUST_PROXY', help: 'honour X-Forwarded-Proto/-Host/-Prefix' },
  {
    flag: 'max-age',
    env: 'TILESTAMP_MAX_AGE',
    value: 'S',
    help: 'max-age of tiles requested without ?v=',
    fallback: '60',
    check: seconds(0, 31_536_000),
  },
  {
    flag: 'cors',
    env: 'TILESTAMP_CORS',
    value: 'ORIGIN',
    help: 'Access-Control-Allow-Origin value',
    fallback: '*',
    check: { pattern: /^[\x21-\x7e]+$/, expects: '* or an origin in visible ASCII' },
  },
  {
    flag: 'log-level',
    env: 'TILESTAMP_LOG_LEVEL',
    value: 'L',
    help: LOG_LEVELS.join('|'),
    fallback: 'info',
    check: { oneOf: LOG_LEVELS },
  },
  {
    flag: 'version-from',
    env: 'TILESTAMP_VERSION_FROM',
    value: 'SRC',
    help: 'content (tiles) | file (raw bytes) | metadata (agg_tiles_hash or --version-key)',
    fallback: 'content',
    check: { oneOf: VERSION_SOURCES },
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
    check: seconds(0, 3600, true),
  },
  {
    flag: 'settle-ms',
    env: 'TILESTAMP_SETTLE_MS',
    value: 'MS',
    help: 'how long a changed file must hold still before it is taken',
    fallback: '500',
    check: wholeNumber(0, 60_000, 'milliseconds'),
  },
  { flag: 'no-watch', env: 'TILESTAMP_NO_WATCH', help: 'do not watch or poll the data folder (SIGHUP still rescans)' },
  {
    flag: 'sse-heartbeat',
    env: 'TILESTAMP_SSE_HEARTBEAT',
    value: 'S',
    help: 'seconds between keep-alives on the events stream',
    fallback: '15',
    check: seconds(1, 3600),
  },
  {
    flag: 'cache-size',
    env: 'TILESTAMP_CACHE_SIZE',
    value: 'MiB',
    help: 'hot-tile cache per process, least recently used out (0: off)',
    fallback: '64',
    check: wholeNumber(0, 1_048_576, 'MiB'),
  },
  {
    flag: 'glyph-cache',
    env: 'TILESTAMP_GLYPH_CACHE',
    value: 'MiB',
    help: 'generated glyph ranges kept per process, least recently used out (0: off)',
    fallback: '32',
    check: wholeNumber(0, 65_536, 'MiB'),
  },
  {
    flag: 'workers',
    env: 'TILESTAMP_WORKERS',
    value: 'N',
    help: 'HTTP worker processes on the one port, or auto (one per core)',
    fallback: '1',
    check: { number: { min: 1, max: 256, word: 'auto' } },
  },
  {
    flag: 'shutdown-timeout',
    env: 'TILESTAMP_SHUTDOWN_TIMEOUT',
    value: 'S',
    help: 'on SIGTERM, seconds for requests in flight before the rest is cut',
    fallback: '8',
    check: seconds(0, 3600, true),
  },
  {
    flag: 'max-event-streams',
    env: 'TILESTAMP_MAX_EVENT_STREAMS',
    value: 'N',
    help: 'open /api/tile-version/events streams at most (more get 503)',
    fallback: '10000',
    check: wholeNumber(1, 1_000_000),
  },
  {
    flag: 'decode-memory',
    env: 'TILESTAMP_DECODE_MEMORY',
    value: 'MIB',
    help: 'MiB of tiles decompressed at once for clients without gzip (more wait, then 503)',
    fallback: '256',
    check: wholeNumber(1, 65_536, 'MiB'),
  },
  {
    flag: 'state-dir',
    env: 'TILESTAMP_STATE_DIR',
    value: 'DIR',
    help: "where computed versions are remembered across restarts ('': nowhere)",
    fallback: '$XDG_CACHE_HOME/tilestamp or ~/.cache/tilestamp',
    emptyTurnsOff: true,
  },
  { flag: 'check', help: 'with stamp: compare agg_tiles_hash instead of writing it (exit 1 on a mismatch)' },
  { flag: 'help', help: 'print this help and exit' },
];

export const USAGE = `Usage (from a clone, after npm start or npm run build: npx tilestamp COMMAND):
  tilestamp serve [options]      serve every .mbtiles file in the data folder
  tilestamp [options]            the same: serve is the default, a bare \`tilestamp\` starts the server
  tilestamp version FILE...      print "version  id  path" for each file, as the server derives it
                                 (with --version-from and --version-key as given)
  tilestamp stamp FILE... [--check]
                                 write martin's agg_tiles_hash into each file's metadata
                                 and print "hash  path" (--check: compare, do not write)
  tilestamp --help               print this help

Options (each also from its environment variable; a flag wins):
${OPTIONS.map((o) => `  --${`${o.flag}${o.value ? ` ${o.value}` : ''}`.padEnd(18)} ${o.help}${o.fallback ? ` [${o.fallback}]` : ''}${o.env ? `  (${o.env})` : ''}`).join('\n')}
`;

/** The options as parseArgs takes them. */
const PARSE_OPTIONS = Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: o.value ? 'string' : 'boolean' }])) as Record<
  string,
  { type: 'string' | 'boolean' }
>;

/** A value that fails its option's check; caught once, in `parseCommandLine`. */
class BadOption extends Error {}

/** Parses argv (without node and script) and the environment. Pure: never exits, never prints. */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cores = 1,
): ParseResult {
  const args = joinNegativeValues(argv);
  const unknown = unknownOption(args);
  if (unknown !== undefined) return { ok: false, error: unknown };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: PARSE_OPTIONS,
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
  /** The option's value (flag, else variable, else default), checked against its spec. */
  const pick = (flag: string): string | undefined => {
    const spec = OPTIONS.find((o) => o.flag === flag) as OptionSpec;
    const value = values[flag];
    const fromEnv = spec.env ? env[spec.env] : undefined;
    const text =
      typeof value === 'string'
        ? value
        : value === true
          ? 'true'
          : fromEnv !== undefined && (fromEnv !== '' || spec.emptyTurnsOff)
            ? fromEnv
            : flag === 'state-dir'
              ? defaultStateDir(env)
              : spec.fallback;
    const problem = checkValue(spec, text);
    if (problem !== undefined) throw new BadOption(problem);
    return text;
  };
  try {
    const versioning = buildVersioning(pick);
    if (typeof versioning === 'string') return { ok: false, error: versioning };
    if (name === 'version') {
      if (rest.length === 0) return { ok: false, error: 'version needs at least one FILE' };
      return { ok: true, command: { name, files: rest, versioning } };
    }
    if (rest.length > 0) return { ok: false, error: `unexpected argument ${JSON.stringify(rest[0])}` };
    return { ok: true, command: { name: 'serve', config: buildConfig(pick, versioning, cores) } };
  } catch (error) {
    if (error instanceof BadOption) return { ok: false, error: error.message };
    throw error;
  }
}

/**
 * `--max-age -1` as `--max-age=-1`: parseArgs refuses a value that starts with a dash as
 * "ambiguous", which hides the range the number is out of. Only numbers are joined.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const takesValue = new Set(OPTIONS.filter((o) => o.value).map((o) => `--${o.flag}`));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (takesValue.has(arg) && next !== undefined && /^-[0-9.]/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  return args;
}

/** One sentence for the first option we do not have, with the nearest one we do; or undefined. */
function unknownOption(args: string[]): string | undefined {
  const { tokens } = parseArgs({ args, allowPositionals: true, strict: false, tokens: true, options: PARSE_OPTIONS });
  for (const token of tokens) {
    if (token.kind !== 'option' || OPTIONS.some((o) => o.flag === token.name)) continue;
    const [near] = OPTIONS.map((o) => ({ flag: o.flag, distance: editDistance(o.flag, token.name) }))
      .filter((o) => o.distance <= 2)
      .sort((a, b) => a.distance - b.distance);
    return `unknown option ${token.rawName}${near ? ` (did you mean --${near.flag}?)` : ''}`;
  }
  return undefined;
}

/** Levenshtein distance: enough to suggest --port for --prot. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        (row[j] as number) + 1,
        (next[j - 1] as number) + 1,
        (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length] as number;
}

/** The error sentence for a value its option does not take, or undefined when it is fine. */
function checkValue(spec: OptionSpec, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!spec.value) {
    // A boolean flag carries no value; its variable says true or false.
    return ['true', 'false', '1', '0'].includes(text) ? undefined : `${spec.env} must be true, false, 1 or 0, got ${text}`;
  }
  if (text === '') return spec.emptyTurnsOff ? undefined : `--${spec.flag} must not be empty`;
  const check = spec.check;
  if (check === undefined) return undefined;
  const name = `--${spec.flag}`;
  if ('oneOf' in check) {
    return check.oneOf.includes(text) ? undefined : `${name} must be one of ${check.oneOf.join(', ')}, got ${text}`;
  }
  if ('pattern' in check) return check.pattern.test(text) ? undefined : `${name} must be ${check.expects}, got ${text}`;
  const { min, max, unit, fraction, word } = check.number;
  if (text === word) return undefined;
  const shape = fraction ? /^[0-9]+(\.[0-9]+)?$/ : /^[0-9]+$/;
  if (shape.test(text) && Number(text) >= min && Number(text) <= max) return undefined;
  const what = `${fraction ? '' : 'whole '}${unit ?? 'number'}`;
  return `${name} must be ${word ? `${word} or ` : ''}${unit ? what : `a ${what}`} from ${min} to ${max}, got ${text}`;
}

/** The version options, or an error sentence. */
function buildVersioning(pick: (flag: string) => string | undefined): VersionOptions | string {
  const from = pick('version-from') as VersionFrom;
  const key = pick('version-key');
  if (key !== undefined && from !== 'metadata') return '--version-key only applies with --version-from metadata';
  return { from, key };
}

/** The serve config from checked values (`pick` throws on a bad one). */
function buildConfig(pick: (flag: string) => string | undefined, versioning: VersionOptions, cores: number): Config {
  const number = (flag: string) => Number(pick(flag));
  const on = (flag: string) => pick(flag) === 'true' || pick(flag) === '1';
  const noWatch = on('no-watch');
  return {
    dataDir: pick('data') as string,
    port: number('port'),
    host: pick('host') as string,
    publicUrl: pick('public-url')?.replace(/\/+$/, ''),
    trustProxy: on('trust-proxy'),
    maxAge: number('max-age'),
    corsOrigin: pick('cors') as string,
    logLevel: pick('log-level') as LogLevel,
    versioning,
    sseHeartbeat: number('sse-heartbeat'),
    watch: !noWatch,
    // --no-watch turns polling off too: only SIGHUP reloads then.
    pollMs: noWatch ? 0 : Math.round(number('poll-interval') * 1000),
    settleMs: number('settle-ms'),
    cacheBytes: number('cache-size') * 1024 * 1024,
    glyphCacheBytes: number('glyph-cache') * 1024 * 1024,
    workers: pick('workers') === 'auto' ? Math.max(1, cores) : number('workers'),
    shutdownTimeoutMs: Math.round(number('shutdown-timeout') * 1000),
    maxEventStreams: number('max-event-streams'),
    decodeMemory: number('decode-memory') * 1024 * 1024,
    stateDir: pick('state-dir'),
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
