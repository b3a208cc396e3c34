import { mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, removeDir, tempDir } from '../helpers/fixtures.ts';
import { json, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// State kept across requests and rescans stays bounded, and what is kept is keyed by what it
// describes: a user style by its file identity, a skipped name by its being skipped now.

let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  mkdirSync(join(dir, 'styles'));
  server = await startTestServer(dir);
});

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

const styleName = async (name: string) => json<{ name: string }>(await rawRequest(`${server.url}/styles/${name}.json`)).name;

describe('user styles', () => {
  it('are parsed once per file identity: same device, inode, size and mtime is not read again', async () => {
    const path = join(dir, 'styles', 'mine.json');
    const style = (name: string) => JSON.stringify({ version: 8, name, sources: {}, layers: [] });
    writeFileSync(path, style('first'));
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    utimesSync(path, mtime, mtime);
    expect(await styleName('mine')).toBe('first');
    // Same length, written in place (same inode), the mtime put back: the identity is unchanged.
    writeFileSync(path, style('other'));
    utimesSync(path, mtime, mtime);
    expect(statSync(path).mtimeMs).toBe(mtime.getTime());
    expect(await styleName('mine')).toBe('first');
  });

  it('an edit (a new mtime) shows at the next request', async () => {
    const path = join(dir, 'styles', 'edited.json');
    writeFileSync(path, JSON.stringify({ version: 8, name: 'before', sources: {}, layers: [] }));
    utimesSync(path, new Date(1_000_000_000_000), new Date(1_000_000_000_000));
    expect(await styleName('edited')).toBe('before');
    writeFileSync(path, JSON.stringify({ version: 8, name: 'after!', sources: {}, layers: [] }));
    expect(await styleName('edited')).toBe('after!');
  });

  it('a broken style is warned about once per identity, not on every request', async () => {
    writeFileSync(join(dir, 'styles', 'broken.json'), '{');
    for (let i = 0; i < 3; i++) expect((await rawRequest(`${server.url}/styles/broken.json`)).status).toBe(404);
    const warnings = server.logs.filter(
      (l) => l.message === 'user style cannot be served' && String(l.fields.path).endsWith('broken.json'),
    );
    expect(warnings).toHaveLength(1);
  });
});

describe('skipped files', () => {
  it('are warned about while skipped, forgotten once gone, and warned about again when they come back', async () => {
    const bad = join(dir, 'bad name.mbtiles');
    const warnings = () => server.logs.filter((l) => l.message === 'file skipped' && l.fields.path === bad).length;
    copyFixture('countries.mbtiles', dir, 'bad name.mbtiles');
    await server.rescan('test');
    await server.rescan('test');
    expect(warnings()).toBe(1);
    rmSync(bad);
    await server.rescan('test');
    copyFixture('countries.mbtiles', dir, 'bad name.mbtiles');
    await server.rescan('test');
    expect(warnings()).toBe(2);
  });
});
