import { describe, expect, it } from 'vitest';
import { type Config, OPTIONS, parseCommandLine, USAGE } from '../../src/config.ts';

const DEFAULTS: Config = {
  dataDir: './data',
  port: 8080,
  host: '0.0.0.0',
  publicUrl: undefined,
  trustProxy: false,
  maxAge: 60,
  corsOrigin: '*',
  logLevel: 'info',
  versioning: { from: 'content', key: undefined },
  sseHeartbeat: 15,
  watch: true,
  pollMs: 2000,
  settleMs: 500,
  cacheBytes: 64 * 1024 * 1024,
  glyphCacheBytes: 32 * 1024 * 1024,
  workers: 1,
  shutdownTimeoutMs: 8000,
  maxEventStreams: 10_000,
  decodeMemory: 256 * 1024 * 1024,
};

/** The config of a `serve` command, or a failed expectation showing what came back instead. */
function serveConfig(argv: string[], env: Record<string, string | undefined> = {}): Config {
  const result = parseCommandLine(argv, env);
  expect(result).toMatchObject({ ok: true, command: { name: 'serve' } });
  if (!result.ok || result.command.name !== 'serve') throw new Error('unreachable');
  return result.command.config;
}

/** The error of a failed parse, checked to be one line. */
function parseError(argv: string[], env: Record<string, string | undefined> = {}): string {
  const result = parseCommandLine(argv, env);
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error).not.toBe('');
  expect(result.error).not.toContain('\n');
  return result.error;
}

describe('parseCommandLine: serve', () => {
  it.each([
    ['no arguments', []],
    ['an explicit serve', ['serve']],
  ])('%s gives the defaults', (_name, argv) => {
    expect(serveConfig(argv)).toEqual(DEFAULTS);
  });

  it.each<[string, string[], Partial<Config>]>([
    ['--data', ['--data', '/srv/tiles'], { dataDir: '/srv/tiles' }],
    ['--data=', ['--data=/srv/tiles'], { dataDir: '/srv/tiles' }],
    ['--port', ['--port', '3000'], { port: 3000 }],
    ['--port 0 (pick a free one)', ['--port', '0'], { port: 0 }],
    ['--port 65535', ['--port', '65535'], { port: 65535 }],
    ['--host', ['--host', '127.0.0.1'], { host: '127.0.0.1' }],
    ['--host IPv6', ['--host', '::'], { host: '::' }],
    ['--public-url', ['--public-url', 'https://tiles.example.com'], { publicUrl: 'https://tiles.example.com' }],
    ['--public-url with a path', ['--public-url', 'http://example.com/maps'], { publicUrl: 'http://example.com/maps' }],
    [
      '--public-url trailing slash stripped',
      ['--public-url', 'https://tiles.example.com/'],
      { publicUrl: 'https://tiles.example.com' },
    ],
    [
      '--public-url trailing slashes stripped',
      ['--public-url', 'https://example.com/maps//'],
      { publicUrl: 'https://example.com/maps' },
    ],
    ['--public-url with a port', ['--public-url', 'http://localhost:8080'], { publicUrl: 'http://localhost:8080' }],
    ['--trust-proxy', ['--trust-proxy'], { trustProxy: true }],
    ['--max-age', ['--max-age', '3600'], { maxAge: 3600 }],
    ['--max-age 0', ['--max-age', '0'], { maxAge: 0 }],
    ['--max-age one year', ['--max-age', '31536000'], { maxAge: 31_536_000 }],
    ['--cors', ['--cors', 'https://app.example.com'], { corsOrigin: 'https://app.example.com' }],
    ['--log-level', ['--log-level', 'debug'], { logLevel: 'debug' }],
    ['--log-level silent', ['--log-level', 'silent'], { logLevel: 'silent' }],
    ['serve then flags', ['serve', '--port', '1234', '--host', 'localhost'], { port: 1234, host: 'localhost' }],
    ['flags then serve', ['--port', '1234', 'serve'], { port: 1234 }],
    ['--cache-size', ['--cache-size', '256'], { cacheBytes: 256 * 1024 * 1024 }],
    ['--cache-size 0 turns the cache off', ['--cache-size', '0'], { cacheBytes: 0 }],
    ['--workers', ['--workers', '4'], { workers: 4 }],
    ['--shutdown-timeout', ['--shutdown-timeout', '2.5'], { shutdownTimeoutMs: 2500 }],
    ['--max-event-streams', ['--max-event-streams', '50'], { maxEventStreams: 50 }],
    ['--decode-memory in MiB', ['--decode-memory', '64'], { decodeMemory: 64 * 1024 * 1024 }],
    ['--glyph-cache in MiB', ['--glyph-cache', '4'], { glyphCacheBytes: 4 * 1024 * 1024 }],
  ])('%s', (_name, argv, expected) => {
    expect(serveConfig(argv)).toEqual({ ...DEFAULTS, ...expected });
  });

  it.each<[string, Record<string, string>, Partial<Config>]>([
    ['TILESTAMP_DATA', { TILESTAMP_DATA: '/data' }, { dataDir: '/data' }],
    ['TILESTAMP_PORT', { TILESTAMP_PORT: '9000' }, { port: 9000 }],
    ['TILESTAMP_HOST', { TILESTAMP_HOST: '127.0.0.1' }, { host: '127.0.0.1' }],
    ['TILESTAMP_PUBLIC_URL', { TILESTAMP_PUBLIC_URL: 'https://x.example/' }, { publicUrl: 'https://x.example' }],
    ['TILESTAMP_TRUST_PROXY=true', { TILESTAMP_TRUST_PROXY: 'true' }, { trustProxy: true }],
    ['TILESTAMP_TRUST_PROXY=1', { TILESTAMP_TRUST_PROXY: '1' }, { trustProxy: true }],
    ['TILESTAMP_TRUST_PROXY=false', { TILESTAMP_TRUST_PROXY: 'false' }, { trustProxy: false }],
    ['TILESTAMP_TRUST_PROXY=0', { TILESTAMP_TRUST_PROXY: '0' }, { trustProxy: false }],
    ['TILESTAMP_MAX_AGE', { TILESTAMP_MAX_AGE: '120' }, { maxAge: 120 }],
    ['TILESTAMP_CORS', { TILESTAMP_CORS: 'https://a.example' }, { corsOrigin: 'https://a.example' }],
    ['TILESTAMP_LOG_LEVEL', { TILESTAMP_LOG_LEVEL: 'warn' }, { logLevel: 'warn' }],
    ['TILESTAMP_CACHE_SIZE', { TILESTAMP_CACHE_SIZE: '8' }, { cacheBytes: 8 * 1024 * 1024 }],
    ['TILESTAMP_WORKERS', { TILESTAMP_WORKERS: '2' }, { workers: 2 }],
    ['TILESTAMP_MAX_EVENT_STREAMS', { TILESTAMP_MAX_EVENT_STREAMS: '3' }, { maxEventStreams: 3 }],
    ['TILESTAMP_DECODE_MEMORY', { TILESTAMP_DECODE_MEMORY: '1' }, { decodeMemory: 1024 * 1024 }],
    ['an empty variable counts as unset', { TILESTAMP_PORT: '', TILESTAMP_DATA: '', TILESTAMP_PUBLIC_URL: '' }, {}],
    ['unrelated variables are ignored', { PORT: '1', HOST: 'x', DATA: 'y' }, {}],
  ])('env %s', (_name, env, expected) => {
    expect(serveConfig([], env)).toEqual({ ...DEFAULTS, ...expected });
  });

  it('a flag beats its environment variable', () => {
    const env = {
      TILESTAMP_DATA: '/from-env',
      TILESTAMP_PORT: '9000',
      TILESTAMP_HOST: 'env-host',
      TILESTAMP_MAX_AGE: '5',
      TILESTAMP_CORS: 'https://env.example',
      TILESTAMP_LOG_LEVEL: 'error',
      TILESTAMP_PUBLIC_URL: 'https://env.example',
    };
    const argv = [
      '--data=/from-flag',
      '--port=1',
      '--host=flag-host',
      '--max-age=6',
      '--cors=https://flag.example',
      '--log-level=debug',
      '--public-url=https://flag.example',
    ];
    expect(serveConfig(argv, env)).toEqual({
      ...DEFAULTS,
      dataDir: '/from-flag',
      port: 1,
      host: 'flag-host',
      maxAge: 6,
      corsOrigin: 'https://flag.example',
      logLevel: 'debug',
      publicUrl: 'https://flag.example',
    });
  });

  it('--workers auto takes one worker per core', () => {
    const result = parseCommandLine(['--workers', 'auto'], {}, 6);
    expect(result).toMatchObject({ ok: true, command: { name: 'serve', config: { workers: 6 } } });
  });

  it('--trust-proxy beats TILESTAMP_TRUST_PROXY=false', () => {
    expect(serveConfig(['--trust-proxy'], { TILESTAMP_TRUST_PROXY: 'false' }).trustProxy).toBe(true);
  });

  it('a bad environment value is not consulted when the flag is given', () => {
    expect(serveConfig(['--port', '80'], { TILESTAMP_PORT: 'abc' }).port).toBe(80);
  });
});

describe('parseCommandLine: errors', () => {
  it.each<[string, string[], Record<string, string>, RegExp]>([
    ['port "abc"', ['--port', 'abc'], {}, /--port.*abc/],
    ['port 70000', ['--port', '70000'], {}, /--port.*70000/],
    ['port 65536', ['--port', '65536'], {}, /--port.*65536/],
    ['port -1 as --port=-1', ['--port=-1'], {}, /--port.*-1/],
    ['port -1 as a separate argument', ['--port', '-1'], {}, /^--port must be a whole number from 0 to 65535, got -1$/],
    ['port 1.5', ['--port', '1.5'], {}, /--port/],
    ['port 1e3', ['--port', '1e3'], {}, /--port/],
    ['port with a space', ['--port', ' 80'], {}, /--port/],
    ['port empty', ['--port='], {}, /--port/],
    ['port without a value', ['--port'], {}, /--port/],
    ['TILESTAMP_PORT "abc"', [], { TILESTAMP_PORT: 'abc' }, /port.*abc/],
    ['TILESTAMP_PORT -1', [], { TILESTAMP_PORT: '-1' }, /port.*-1/],
    ['TILESTAMP_PORT 70000', [], { TILESTAMP_PORT: '70000' }, /port.*70000/],
    ['max-age negative', ['--max-age=-5'], {}, /--max-age/],
    ['max-age above a year', ['--max-age', '31536001'], {}, /--max-age.*31536001/],
    ['max-age text', [], { TILESTAMP_MAX_AGE: 'forever' }, /max-age.*forever/],
    ['log level unknown', ['--log-level', 'verbose'], {}, /--log-level/],
    ['log level in upper case', [], { TILESTAMP_LOG_LEVEL: 'INFO' }, /--log-level/],
    ['public url without scheme', ['--public-url', 'tiles.example.com'], {}, /--public-url/],
    ['public url ftp', ['--public-url', 'ftp://tiles.example.com'], {}, /--public-url/],
    ['public url with a query', ['--public-url', 'https://x.example/?a=1'], {}, /--public-url/],
    ['public url with a fragment', ['--public-url', 'https://x.example/#top'], {}, /--public-url/],
    ['public url with a space', ['--public-url', 'https://x.example/a b'], {}, /--public-url/],
    ['public url without host', ['--public-url', 'https://'], {}, /--public-url/],
    ['public url relative', ['--public-url', '/tiles'], {}, /--public-url/],
    ['public url from env', [], { TILESTAMP_PUBLIC_URL: 'not a url' }, /--public-url/],
    ['trust proxy "yes"', [], { TILESTAMP_TRUST_PROXY: 'yes' }, /TILESTAMP_TRUST_PROXY.*yes/],
    ['trust proxy given a value', ['--trust-proxy=false'], {}, /--trust-proxy/],
    ['empty --data', ['--data', ''], {}, /--data/],
    ['empty --host', ['--host='], {}, /--host/],
    ['unknown flag', ['--bogus'], {}, /^unknown option --bogus$/],
    ['a flag misspelt', ['--prot', '9000'], {}, /^unknown option --prot \(did you mean --port\?\)$/],
    ['unknown short flag', ['-x'], {}, /-x/],
    ['unknown command', ['start'], {}, /unknown command "start"/],
    ['serve with an extra argument', ['serve', 'data'], {}, /unexpected argument "data"/],
    ['version without files', ['version'], {}, /version needs at least one FILE/],
    ['cache size negative', ['--cache-size=-1'], {}, /--cache-size/],
    ['cache size fractional', ['--cache-size', '1.5'], {}, /--cache-size/],
    ['cache size in words', [], { TILESTAMP_CACHE_SIZE: 'big' }, /--cache-size.*big/],
    ['workers 0', ['--workers', '0'], {}, /--workers.*0/],
    ['shutdown timeout negative', ['--shutdown-timeout=-1'], {}, /--shutdown-timeout/],
    ['shutdown timeout in words', [], { TILESTAMP_SHUTDOWN_TIMEOUT: 'soon' }, /--shutdown-timeout.*soon/],
    ['workers text', [], { TILESTAMP_WORKERS: 'many' }, /--workers.*many/],
    ['max event streams 0', ['--max-event-streams', '0'], {}, /--max-event-streams.*0/],
    ['max event streams text', [], { TILESTAMP_MAX_EVENT_STREAMS: 'lots' }, /--max-event-streams.*lots/],
    ['decode memory 0', ['--decode-memory', '0'], {}, /--decode-memory.*0/],
    ['glyph cache with a unit', ['--glyph-cache', '32M'], {}, /--glyph-cache.*32M/],
    ['decode memory with a unit', ['--decode-memory', '256M'], {}, /--decode-memory.*256M/],
  ])('%s', (_name, argv, env, message) => {
    expect(parseError(argv, env)).toMatch(message);
  });
});

/** Every option whose value is a number, with its range, read from the one table. */
const NUMBER_OPTIONS = OPTIONS.flatMap((o) => (o.check && 'number' in o.check ? [[o.flag, o.check.number] as const] : []));

describe('parseCommandLine: number ranges, from the OPTIONS table', () => {
  it('covers every number option', () => {
    expect(NUMBER_OPTIONS.map(([flag]) => flag)).toEqual([
      'port',
      'max-age',
      'poll-interval',
      'settle-ms',
      'sse-heartbeat',
      'cache-size',
      'glyph-cache',
      'workers',
      'shutdown-timeout',
      'max-event-streams',
      'decode-memory',
    ]);
  });

  it.each(NUMBER_OPTIONS)('--%s takes its smallest and largest value', (flag, { min, max }) => {
    for (const value of [min, max]) expect(parseCommandLine([`--${flag}`, String(value)], {}).ok).toBe(true);
  });

  it.each(NUMBER_OPTIONS)('--%s refuses one past either end, naming the range', (flag, { min, max }) => {
    for (const value of [min - 1, max + 1]) {
      expect(parseError([`--${flag}`, String(value)])).toMatch(
        new RegExp(`^--${flag} must be .*from ${min} to ${max}, got ${value}$`),
      );
    }
  });

  it.each(NUMBER_OPTIONS)('--%s -1 as two arguments gets the range message, not "ambiguous"', (flag, { min, max }) => {
    const error = parseError([`--${flag}`, '-1']);
    expect(error).not.toMatch(/ambiguous/);
    expect(error).toMatch(new RegExp(`^--${flag} must be .*from ${min} to ${max}, got -1$`));
  });

  it('a dash that is not a number is still refused as a missing value', () => {
    expect(parseError(['--data', '-x'])).toMatch(/--data/);
  });
});

describe('parseCommandLine: other commands', () => {
  it.each([
    [['version', 'a.mbtiles'], ['a.mbtiles']],
    [
      ['version', 'a.mbtiles', 'b.mbtiles'],
      ['a.mbtiles', 'b.mbtiles'],
    ],
    [
      ['version', 'dir/with space.mbtiles', '/abs/b.mbtiles'],
      ['dir/with space.mbtiles', '/abs/b.mbtiles'],
    ],
    [['version', '--', '--odd.mbtiles'], ['--odd.mbtiles']],
  ])('%j → version of %j', (argv, files) => {
    expect(parseCommandLine(argv, {})).toEqual({
      ok: true,
      command: { name: 'version', files, versioning: { from: 'content', key: undefined } },
    });
  });

  it.each([[['--help']], [['serve', '--help']], [['version', '--help']], [['--help', '--port', 'abc']], [['--help', 'bogus']]])(
    '%j → help',
    (argv) => {
      expect(parseCommandLine(argv, {})).toEqual({ ok: true, command: { name: 'help' } });
    },
  );

  it('USAGE says a bare tilestamp serves', () => {
    expect(USAGE).toMatch(/^ {2}tilestamp serve \[options\] /m);
    expect(USAGE).toMatch(/^ {2}tilestamp \[options\] +the same: serve is the default, a bare `tilestamp` starts the server$/m);
  });

  it('USAGE names both commands and every option with its environment variable', () => {
    for (const word of ['serve', 'version', '--data', '--port', '--public-url', '--trust-proxy', 'TILESTAMP_MAX_AGE', '--help']) {
      expect(USAGE).toContain(word);
    }
  });
});

describe('version sources', () => {
  it.each([
    [['serve', '--version-from', 'file'], {}, { from: 'file', key: undefined }],
    [['serve'], { TILESTAMP_VERSION_FROM: 'metadata' }, { from: 'metadata', key: undefined }],
    [['serve', '--version-from', 'metadata', '--version-key', 'build'], {}, { from: 'metadata', key: 'build' }],
    [['serve', '--version-from', 'content'], { TILESTAMP_VERSION_FROM: 'file' }, { from: 'content', key: undefined }],
  ])('%j with %j → %j', (argv, env, versioning) => {
    expect(serveConfig(argv, env).versioning).toEqual(versioning);
  });

  it('passes them to the version command too', () => {
    expect(parseCommandLine(['version', '--version-from', 'file', 'a.mbtiles'], {})).toEqual({
      ok: true,
      command: { name: 'version', files: ['a.mbtiles'], versioning: { from: 'file', key: undefined } },
    });
  });

  it.each([
    [['serve', '--version-from', 'mtime'], /--version-from must be one of content, file, metadata/],
    [['serve', '--version-key', 'build'], /--version-key only applies with --version-from metadata/],
    [['serve', '--sse-heartbeat', '0'], /--sse-heartbeat must be whole seconds/],
    [['serve', '--cors', 'https://a/€'], /--cors must be \* or an origin in visible ASCII/],
    [['serve', '--cors', 'a b'], /--cors must be/],
  ])('%j is refused', (argv, message) => {
    const result = parseCommandLine(argv, {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});

describe('--state-dir', () => {
  it.each<[string[], Record<string, string>, string | undefined]>([
    [[], {}, undefined],
    [[], { HOME: '/home/ada' }, '/home/ada/.cache/tilestamp'],
    [[], { HOME: '/home/ada', XDG_CACHE_HOME: '/var/cache/ada' }, '/var/cache/ada/tilestamp'],
    [[], { HOME: '/home/ada', XDG_CACHE_HOME: 'relative/cache' }, '/home/ada/.cache/tilestamp'],
    [[], { HOME: '/home/ada', TILESTAMP_STATE_DIR: '/srv/state' }, '/srv/state'],
    [['--state-dir', '/flag/state'], { TILESTAMP_STATE_DIR: '/srv/state' }, '/flag/state'],
    [['--state-dir', ''], { HOME: '/home/ada' }, ''],
    [[], { HOME: '/home/ada', TILESTAMP_STATE_DIR: '' }, ''],
  ])('%j with %j → %j', (argv, env, stateDir) => {
    expect(serveConfig(argv, env).stateDir).toBe(stateDir);
  });
});

describe('stamp', () => {
  it.each<[string[], { files: string[]; check: boolean }]>([
    [['stamp', 'a.mbtiles', 'b.mbtiles'], { files: ['a.mbtiles', 'b.mbtiles'], check: false }],
    [['stamp', '--check', 'a.mbtiles'], { files: ['a.mbtiles'], check: true }],
  ])('%j', (argv, expected) => {
    expect(parseCommandLine(argv, {})).toEqual({ ok: true, command: { name: 'stamp', ...expected } });
  });
});
