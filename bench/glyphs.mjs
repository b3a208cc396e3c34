// Glyph and sprite benchmark (`npm run bench:glyphs`): prints figures, asserts nothing.
// - range 0-255 of the sample font (data/fonts): cold (first range after loading the fonts) and
//   warm (median of 20 regenerations);
// - a range of CJK ideographs (U+4E00-4EFF) of a large font, when BENCH_CJK_FONT names one
//   (e.g. NotoSansJP_400Regular.ttf from the npm package @expo-google-fonts/noto-sans-jp): the
//   font's load time, the range cold and warm, and its size against the cache bound;
// - a sprite sheet of 200 SVGs (Maki's icons from node_modules/@mapbox/maki), 1x and 2x;
// - the largest sprite request (64 sheets of 32 icons each, 2x and 2x sdf): its time and the
//   longest the event loop was held meanwhile (perf_hooks' event-loop delay, max).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { FontStore } from '../dist/fonts/font-store.js';
import { buildGlyphRange } from '../dist/fonts/glyph-range.js';
import { DEFAULT_GLYPH_CACHE_MIB } from '../dist/http/font-routes.js';
import { buildSheet } from '../dist/sprites/sheet.js';
import { SpriteStore } from '../dist/sprites/sprite-store.js';

const REPO = join(fileURLToPath(import.meta.url), '..', '..');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const ms = (since) => Number(process.hrtime.bigint() - since) / 1e6;
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function time(fn) {
  const start = process.hrtime.bigint();
  const result = await fn();
  return { ms: ms(start), result };
}

async function rangeFigures(label, dataDir, name, start) {
  const load = await time(async () => {
    const store = new FontStore(dataDir, quiet);
    await store.ready;
    return store;
  });
  const faces = [load.result.face(name)];
  if (faces[0] === undefined) throw new Error(`no font ${name} in ${dataDir}`);
  const cold = await time(() => buildGlyphRange(name, faces, start));
  const warm = [];
  for (let i = 0; i < 20; i++) warm.push((await time(() => buildGlyphRange(name, faces, start))).ms);
  console.log(
    `${label}: fonts loaded in ${load.ms.toFixed(0)} ms; range ${start}-${start + 255} cold ${cold.ms.toFixed(1)} ms, ` +
      `warm ${median(warm).toFixed(1)} ms (median of 20), ${(cold.result.length / 1024).toFixed(0)} KiB ` +
      `(cache bound ${DEFAULT_GLYPH_CACHE_MIB} MiB)`,
  );
}

await rangeFigures('sample font', join(REPO, 'data'), 'Noto Sans Regular', 0);

const cjk = process.env.BENCH_CJK_FONT;
if (cjk) {
  const dir = mkdtempSync(join(tmpdir(), 'tilestamp-cjk-'));
  mkdirSync(join(dir, 'fonts'));
  copyFileSync(cjk, join(dir, 'fonts', basename(cjk)));
  const store = new FontStore(dir, quiet);
  await store.ready;
  const [name] = store.names();
  await rangeFigures(`CJK (${basename(cjk)})`, dir, name, 0x4e00);
  rmSync(dir, { recursive: true, force: true });
} else {
  console.log('CJK: set BENCH_CJK_FONT to a large font file to measure a range of ideographs');
}

const icons = join(REPO, 'node_modules', '@mapbox', 'maki', 'icons');
const spritesDir = mkdtempSync(join(tmpdir(), 'tilestamp-sprites-'));
mkdirSync(join(spritesDir, 'sprites', 'maki'), { recursive: true });
for (const file of readdirSync(icons)
  .filter((f) => f.endsWith('.svg'))
  .sort()
  .slice(0, 200)) {
  copyFileSync(join(icons, file), join(spritesDir, 'sprites', 'maki', file));
}
const sprites = new SpriteStore(spritesDir, quiet);
const loaded = await time(() => sprites.ready);
const sheet = sprites.sheet('maki');
for (const [ratio, sdf] of [
  [1, false],
  [2, false],
  [1, true],
]) {
  const built = await time(() => buildSheet(sheet.icons, ratio, sdf));
  console.log(
    `sprite sheet of ${sheet.icons.length} SVGs at ${ratio}x${sdf ? ' sdf' : ''}: ${built.ms.toFixed(0)} ms ` +
      `(SVGs read and checked in ${loaded.ms.toFixed(0)} ms), PNG ${(built.result.body.length / 1024).toFixed(0)} KiB`,
  );
}
rmSync(spritesDir, { recursive: true, force: true });

// 64 sheets (the most one request may name) of 32 icons each, every id distinct (`sNN/name`).
const manyDir = mkdtempSync(join(tmpdir(), 'tilestamp-sprites-'));
const makiFiles = readdirSync(icons)
  .filter((f) => f.endsWith('.svg'))
  .sort()
  .slice(0, 32);
const sheetNames = Array.from({ length: 64 }, (_, i) => `s${String(i).padStart(2, '0')}`);
for (const name of sheetNames) {
  mkdirSync(join(manyDir, 'sprites', name, name), { recursive: true });
  for (const file of makiFiles) copyFileSync(join(icons, file), join(manyDir, 'sprites', name, name, file));
}
const many = new SpriteStore(manyDir, quiet);
await many.ready;
const manyIcons = sheetNames.flatMap((name) => many.sheet(name).icons);
for (const sdf of [false, true]) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const built = await time(() => buildSheet(manyIcons, 2, sdf));
  // The delay is recorded when the monitor's timer next runs: let it, before reading.
  await new Promise((done) => setTimeout(done, 20));
  delay.disable();
  console.log(
    `64 sheets, ${manyIcons.length} SVGs at 2x${sdf ? ' sdf' : ''}: ${built.ms.toFixed(0)} ms, ` +
      `event loop held at most ${(delay.max / 1e6).toFixed(0)} ms, PNG ${(built.result.body.length / 1024).toFixed(0)} KiB`,
  );
}
rmSync(manyDir, { recursive: true, force: true });
