import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/config.ts';
import { copyFixture, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { json, rawRequest } from '../helpers/http.ts';
import { spawnServer } from '../helpers/process.ts';

const CLI = join(REPO, 'dist/cli.js');
let dir: string;

beforeAll(() => {
  dir = tempDir();
  copyFixture('world_cities.mbtiles', dir);
});

afterAll(() => removeDir(dir));

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
}

describe('tilestamp command line', () => {
  it('--help lists every option with its environment variable, and exits 0', () => {
    const run = cli(['--help']);
    expect(run.status).toBe(0);
    for (const option of OPTIONS) {
      expect(run.stdout).toContain(`--${option.flag}`);
      if (option.env) expect(run.stdout).toContain(option.env);
    }
    expect(run.stdout).toContain('tilestamp version FILE');
  });

  it.each([
    [['serve', '--port', 'abc'], /--port must be a whole number/],
    [['serve', '--port', '70000'], /--port must be a whole number/],
    [['serve', '--bogus'], /^tilestamp: unknown option --bogus \(see tilestamp --help\)\n$/],
    [['serve', '--prot', '9000'], /^tilestamp: unknown option --prot \(did you mean --port\?\) \(see tilestamp --help\)\n$/],
    [['serve', '--max-age', '-5'], /^tilestamp: --max-age must be whole seconds from 0 to 31536000, got -5 /],
    [['serve', '--cache-size', '-1'], /^tilestamp: --cache-size must be whole MiB from 0 to 1048576, got -1 /],
    [['serve', '--log-level', 'loud'], /--log-level must be one of/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['version'], /version needs at least one FILE/],
  ])('%j: one-line error on stderr and exit code 2', (args, message) => {
    const run = cli(args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
  });

  it('rejects a bad TILESTAMP_PORT the same way', () => {
    const run = cli(['serve'], { TILESTAMP_PORT: 'eighty' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--port must be a whole number.*eighty/);
  });

  it.each([['1'], ['2']])('exits 2 with one clear line when the data folder does not exist (--workers %s)', (workers) => {
    const run = cli(['serve', '--data', join(dir, 'nope'), '--port', '0', '--host', '127.0.0.1', '--workers', workers]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `tilestamp: data folder ${join(dir, 'nope')} does not exist or is not a folder (see tilestamp --help)\n`,
    );
  });

  it('a bare `tilestamp` serves the folder and port given by TILESTAMP_* variables, and stops cleanly on SIGTERM', async () => {
    const server = await spawnServer('node', [CLI], {
      TILESTAMP_DATA: dir,
      TILESTAMP_PORT: '0',
      TILESTAMP_HOST: '127.0.0.1',
      TILESTAMP_MAX_AGE: '7',
    });
    try {
      const res = await rawRequest(`${server.url}/tiles/world_cities/0/0/0.pbf`);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=7');
      const loaded = server.stdout.map((l) => JSON.parse(l)).find((l) => l.msg === 'tileset loaded');
      expect(loaded).toMatchObject({ tileset: 'world_cities', level: 30 });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('runs with `npm start -- --data X --port Y`, flags beating the environment', async () => {
    // `npm start` compiles first (prestart). It runs in a checkout of its own (the project's
    // files, linked), so its build never rewrites the dist/ that other test files are running.
    const checkout = tempDir('tilestamp-checkout-');
    for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json'])
      copyFileSync(join(REPO, file), join(checkout, file));
    for (const folder of ['src', 'static', 'node_modules']) symlinkSync(join(REPO, folder), join(checkout, folder));
    const server = await spawnServer(
      'npm',
      ['start', '--silent', '--', '--data', dir, '--port', '0', '--host', '127.0.0.1'],
      { TILESTAMP_DATA: join(dir, 'not-this-one') },
      60_000,
      checkout,
    );
    try {
      const catalog = json<{ id: string }[]>(await rawRequest(`${server.url}/catalog.json`));
      expect(catalog.map((e) => e.id)).toEqual(['world_cities']);
    } finally {
      // npm does not pass SIGTERM on to the server; the group signal reaches both.
      await server.stop();
    }
    // Nothing is left listening once the group is stopped.
    const after = await fetch(`${server.url}/health`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(after).toBe('refused');
    expect(existsSync(join(checkout, 'dist/cli.js')), 'npm start built the checkout').toBe(true);
    removeDir(checkout);
  });
});
