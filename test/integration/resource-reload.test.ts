import { cpSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { decodeGlyphs } from '../helpers/glyphs.ts';
import { header, json, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { openSse, type SseClient, type SseEvent } from '../helpers/sse.ts';
import { waitFor } from '../helpers/wait.ts';

type Resources = { fonts: string; sprites: Record<string, string> };

let dir: string;
let server: TestServer;
let sse: SseClient;
const get = (path: string) => rawRequest(`${server.url}${path}`);
const GREEK = '/fonts/Noto%20Sans%20Regular/768-1023.pbf';
const resourceEvents = (events: SseEvent[]) =>
  events.filter((e) => e.event === 'resources').map((e) => JSON.parse(e.data) as Resources);
const greekLetters = async (path: string) =>
  (decodeGlyphs((await get(path)).body)[0]?.glyphs ?? []).filter((g) => g.id >= 0x391 && g.id <= 0x3c9 && g.width > 0).length;

beforeAll(async () => {
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  cpSync(join(REPO, 'data', 'fonts'), join(dir, 'fonts'), { recursive: true });
  cpSync(join(REPO, 'data', 'sprites'), join(dir, 'sprites'), { recursive: true });
  server = await startTestServer(dir, { watch: true, pollMs: 1000 });
  sse = await openSse(`${server.url}/api/tile-version/events`);
}, 60_000);

afterAll(async () => {
  sse?.close();
  await server?.close();
  removeDir(dir);
});

describe('fonts and sprites reload like tilesets', () => {
  let first: Resources;

  it('announce their versions on connect', async () => {
    await sse.until((events) => resourceEvents(events).length > 0);
    first = resourceEvents(sse.events)[0] as Resources;
    expect(first.fonts).toBe(header(await get('/fonts.json'), 'x-tilestamp-version'));
    expect(first.sprites.maki).toBe(header(await get('/sprites/maki.json'), 'x-tilestamp-version'));
  });

  it('a font file replaced by one fontkit cannot read shows in /health, and the old copy keeps serving', async () => {
    const greek = join(dir, 'fonts', 'noto-sans', 'noto-sans-greek-400-normal.woff2');
    writeFileSync(`${greek}.tmp`, 'garbage, not a font');
    renameSync(`${greek}.tmp`, greek);
    await waitFor(async () => {
      const health = json<{ fonts?: { problems?: { path: string }[] } }>(await get('/health'));
      return health.fonts?.problems?.some((p) => p.path === 'noto-sans/noto-sans-greek-400-normal.woff2') === true;
    }, 'the bad font in /health');
    const health = json<{ status: string; fonts: { problems: { serving: boolean; reason: string }[] } }>(await get('/health'));
    expect(health.status).toBe('degraded');
    expect(health.fonts.problems[0]?.serving).toBe(true);
    expect(server.logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'font file cannot be served' }));
    expect(header(await get('/fonts.json'), 'x-tilestamp-version')).toBe(first.fonts);
    expect(await greekLetters(GREEK)).toBeGreaterThan(40);
  });

  it('a font file removed changes the version, announced; old URLs turn no-cache', async () => {
    rmSync(join(dir, 'fonts', 'noto-sans', 'noto-sans-greek-400-normal.woff2'));
    await sse.until((events) => resourceEvents(events).some((r) => r.fonts !== first.fonts));
    const next = resourceEvents(sse.events).at(-1) as Resources;
    expect(header(await get('/fonts.json'), 'x-tilestamp-version')).toBe(next.fonts);
    expect(await greekLetters(`${GREEK}?v=${next.fonts}`)).toBe(0);
    expect(header(await get(`${GREEK}?v=${next.fonts}`), 'cache-control')).toBe('public, max-age=31536000, immutable');
    expect(header(await get(`${GREEK}?v=${first.fonts}`), 'cache-control')).toBe('no-cache');
    // The generated style now names the new version.
    const style = json<{ glyphs: string }>(await get('/styles/countries.json'));
    expect(style.glyphs).toContain(`?v=${next.fonts}`);
    // And /health is clean again: the bad file is gone.
    expect(json<{ fonts: { problems?: unknown } }>(await get('/health')).fonts.problems).toBeUndefined();
  });

  it('an SVG added to a sheet changes its version, announced', async () => {
    writeFileSync(
      join(dir, 'sprites', 'maki', 'dot.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle cx="4" cy="4" r="3"/></svg>',
    );
    await sse.until((events) => resourceEvents(events).some((r) => r.sprites.maki !== first.sprites.maki));
    const next = resourceEvents(sse.events).at(-1) as Resources;
    const index = await get('/sprites/maki.json');
    expect(header(index, 'x-tilestamp-version')).toBe(next.sprites.maki);
    expect(Object.keys(json(index))).toContain('dot');
  });

  it('a rescan (SIGHUP) takes changes when nothing watches', async () => {
    const quiet = await startTestServer(dir, { watch: false, pollMs: 0 });
    try {
      const before = header(await rawRequest(`${quiet.url}/sprites/maki.json`), 'x-tilestamp-version');
      writeFileSync(
        join(dir, 'sprites', 'maki', 'dot2.svg'),
        '<svg xmlns="http://www.w3.org/2000/svg" width="6" height="6"><rect width="6" height="6"/></svg>',
      );
      await quiet.rescan('SIGHUP', true);
      const after = await rawRequest(`${quiet.url}/sprites/maki.json`);
      expect(header(after, 'x-tilestamp-version')).not.toBe(before);
      expect(Object.keys(json(after))).toContain('dot2');
    } finally {
      await quiet.close();
    }
  });
});
