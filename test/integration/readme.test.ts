import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { spawnServer } from '../helpers/process.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The README is the one source: its commands are read from it here, never copied into the test.
const README = readFileSync(join(REPO, 'README.md'), 'utf8');

/** The fenced `sh` blocks of the README, as their lines. */
const shBlocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] as string).trimEnd().split('\n'));

/**
 * Runs lines as one bash script from the repository root; each command that fails stops it.
 * Asynchronous: the server under test answers on this process's event loop.
 */
async function bash(lines: string[]): Promise<string> {
  const run = promisify(execFile);
  return (await run('bash', ['-euo', 'pipefail', '-c', lines.join('\n')], { cwd: REPO, encoding: 'utf8', timeout: 60_000 }))
    .stdout;
}

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(join(REPO, 'data'));
});

afterAll(async () => {
  await server?.close();
});

describe('the README, run as written', () => {
  it('quick start: every curl line answers 2xx, and the versioned tile is immutable', async () => {
    const block = shBlocks.find((lines) => lines.some((l) => l.startsWith('curl ')));
    expect(block, 'a sh block of curl lines').toBeDefined();
    const lines = block as string[];
    expect(lines.filter((l) => /^curl |\$\(curl /.test(l)).length).toBeGreaterThanOrEqual(3);
    // What reaches the server must be ASCII (a `…` in a URL gets Node's bare 400); comments may be anything.
    for (const line of lines) expect(line.replace(/\s+#.*$/, '')).toMatch(/^[\x20-\x7e]*$/);
    // The README says localhost:8080 (npm start); the test server has a port of its own.
    // --fail makes curl exit non-zero on a 4xx or 5xx, which stops the script.
    const script = [
      'curl() { command curl --fail --show-error "$@"; }',
      ...lines.map((l) => l.replaceAll('localhost:8080', server.url.replace('http://', ''))),
    ];
    const output = await bash(script);
    expect(output).toMatch(/HTTP\/1\.1 200 OK\r\n/);
    expect(output).toMatch(/^cache-control: public, max-age=31536000, immutable/im);
    expect(output).toContain('"tilejson":"3.0.0"');
  });

  it('the CLI lines: npx tilestamp --help lists the commands, version prints one line per file', async () => {
    const block = shBlocks.find((lines) => lines.some((l) => l.startsWith('npx tilestamp --help')));
    expect(block, 'a sh block of npx tilestamp lines').toBeDefined();
    const output = await bash(block as string[]);
    for (const command of ['serve', 'version', '--help']) expect(output).toMatch(new RegExp(`^  tilestamp ${command}`, 'm'));
    expect(output).toMatch(/^[0-9a-f]{16} {2}countries {2}data\/countries\.mbtiles$/m);
    expect(output).toMatch(/^[0-9a-f]{16} {2}land {2}data\/land\.mbtiles$/m);
  });

  it('your own tiles: the npx tilestamp serve line serves another folder', async () => {
    const line = shBlocks.flat().find((l) => l.startsWith('npx tilestamp serve --data '));
    expect(line, 'a npx tilestamp serve --data line').toBeDefined();
    // The README's folder and port are examples: a temporary folder, and a free port.
    const [command, comment] = (line as string).split(/\s+#\s*/);
    expect(comment, 'the npm start alternative is named').toContain('npm start -- --data ');
    const folder = (command as string).match(/--data (\S+)/)?.[1] as string;
    const dir = tempDir();
    copyFixture('countries.mbtiles', dir, 'my-roads.mbtiles');
    const script = (command as string).replace(folder, dir).replace(/--port \d+/, '--port 0 --host 127.0.0.1');
    const served = await spawnServer('bash', ['-c', `exec ${script}`]);
    try {
      const catalog = (await (await fetch(`${served.url}/catalog.json`)).json()) as { id: string }[];
      expect(catalog.map((t) => t.id)).toEqual(['my-roads']);
    } finally {
      await served.stop();
      removeDir(dir);
    }
  });

  it('a viewer page gets its favicon instead of a 404', async () => {
    const res = await server.get('/favicon.ico');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/x-icon');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0])); // an ICO header
  });
});
