import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Glyph } from 'fontkit';
import * as fontkit from 'fontkit';
import { describe, expect, it } from 'vitest';
import { ByteCache } from '../../src/fonts/byte-cache.ts';
import { edt, INF } from '../../src/fonts/edt.ts';
import { FontFace, type LoadedFont } from '../../src/fonts/font-face.ts';
import { faceName, normaliseFontName } from '../../src/fonts/font-name.ts';
import { buildGlyphRange, parseRange } from '../../src/fonts/glyph-range.ts';
import { renderSdfGlyph } from '../../src/fonts/sdf.ts';
import { fontstackNames } from '../../src/http/font-routes.ts';
import { REPO } from '../helpers/fixtures.ts';
import { type DecodedGlyph, decodeGlyphs } from '../helpers/glyphs.ts';

const NOTO = join(REPO, 'data', 'fonts', 'noto-sans');
const SUBSETS = ['cyrillic', 'greek', 'latin', 'latin-ext'];

function load(subset: string): LoadedFont {
  const font = fontkit.create(readFileSync(join(NOTO, `noto-sans-${subset}-400-normal.woff2`))) as fontkit.Font;
  return { path: subset, font, sha256: '', bytes: 0 };
}

const noto = new FontFace('Noto Sans Regular', SUBSETS.map(load));

function byteAt(glyph: DecodedGlyph, x: number, y: number): number {
  return glyph.bitmap?.[y * (glyph.width + 6) + x] as number;
}

describe('glyph ranges', () => {
  it.each([
    ['0-255', 0],
    ['256-511', 256],
    ['65280-65535', 65280],
    ['1-256', undefined],
    ['0-511', undefined],
    ['65536-65791', undefined],
    ['-256-0', undefined],
    ['00-255', undefined],
    ['0-255.pbf', undefined],
    ['', undefined],
  ])('%s → %s', (text, start) => {
    expect(parseRange(text)).toBe(start);
  });
});

describe('fontstacks', () => {
  it('splits on commas, decodes %20, keeps each name once in order', () => {
    expect(fontstackNames('Noto%20Sans%20Regular,Open%20Sans%20Bold,Noto%20Sans%20Regular')).toEqual([
      'Noto Sans Regular',
      'Open Sans Bold',
    ]);
  });
  it.each([['a,,b'], ['%E0%A4%A'], [Array.from({ length: 17 }, (_, i) => `F${i}`).join(',')]])('refuses %s with 400', (text) => {
    expect(() => fontstackNames(text)).toThrow(expect.objectContaining({ status: 400 }));
  });
  it('accepts 16 fonts', () => {
    expect(fontstackNames(Array.from({ length: 16 }, (_, i) => `F${i}`).join(','))).toHaveLength(16);
  });
});

describe('font names', () => {
  it('are family and style from the name table', () => {
    expect(faceName(load('latin').font)).toBe('Noto Sans Regular');
  });
  it.each([
    ['Foo  Bar Regular', 'Foo Bar Regular'],
    ['Foo, Bar/Baz Bold', 'Foo Bar Baz Bold'],
    [' Foo\tBold ', 'Foo Bold'],
  ])('%j → %j', (raw, name) => {
    expect(normaliseFontName(raw)).toBe(name);
  });
});

describe('the Euclidean distance transform', () => {
  it('equals the brute-force squared distance to the nearest feature', () => {
    const width = 13;
    const height = 9;
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const features = Array.from({ length: width * height }, () => random() < 0.1);
    const grid = new Float64Array(features.map((f) => (f ? 0 : INF)));
    edt(grid, width, height);
    for (let i = 0; i < grid.length; i++) {
      let best = Number.POSITIVE_INFINITY;
      for (let j = 0; j < grid.length; j++) {
        if (!features[j]) continue;
        const dx = (i % width) - (j % width);
        const dy = Math.floor(i / width) - Math.floor(j / width);
        best = Math.min(best, dx * dx + dy * dy);
      }
      expect(grid[i]).toBe(best);
    }
  });
});

describe('range 0-255 of the sample font (golden)', async () => {
  const [stack, ...others] = decodeGlyphs(await buildGlyphRange('Noto Sans Regular', [noto], 0));
  const glyphs = stack?.glyphs ?? [];
  const glyph = (id: number) => glyphs.find((g) => g.id === id) as DecodedGlyph;

  it('is one fontstack named as asked, with its range', () => {
    expect(others).toEqual([]);
    expect(stack?.name).toBe('Noto Sans Regular');
    expect(stack?.range).toBe('0-255');
  });

  it('has each codepoint the font maps once, in order, and none it does not', () => {
    const ids = glyphs.map((g) => g.id);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    expect(ids).toContain(65);
    expect(ids).toContain(0xe9);
    expect(ids.every((id) => id >= 0 && id <= 255)).toBe(true);
    expect(ids).not.toContain(0x7f); // DEL: no glyph in Noto Sans
  });

  it('gives every bitmap exactly (width + 6) × (height + 6) bytes', () => {
    for (const g of glyphs) {
      if (g.width === 0) expect(g.bitmap).toBeUndefined();
      else expect(g.bitmap?.length).toBe((g.width + 6) * (g.height + 6));
    }
  });

  it('has the documented metrics for A and space (24 px; top = bitmap top − ascender 26)', () => {
    expect(glyph(32)).toEqual({ id: 32, width: 0, height: 0, left: 0, top: -26, advance: 6 });
    const { bitmap: _, ...a } = glyph(65);
    expect(a).toEqual({ id: 65, width: 16, height: 18, left: 0, top: -8, advance: 15 });
  });

  it('puts A inside at its centre stroke and outside at its corners', () => {
    const a = glyph(65);
    const w = a.width + 6;
    const h = a.height + 6;
    // The crossbar of A: a row near 0.3 of the height above the baseline, in the middle.
    const bar = glyphs.length > 0 ? crossbarRow(a) : -1;
    expect(byteAt(a, Math.floor(w / 2), bar)).toBeGreaterThan(191);
    for (const [x, y] of [
      [0, 0],
      [w - 1, 0],
      [0, h - 1],
      [w - 1, h - 1],
    ] as const) {
      expect(byteAt(a, x, y)).toBeLessThan(120);
    }
    // The apex is open above A's top row: outside.
    expect(byteAt(a, 2, 3)).toBeLessThan(191);
  });

  it('sits the outline at 191 ± 16 where the field crosses the edge', () => {
    // Along the middle row of O, from the left: the byte where inside begins is the outline.
    const o = glyph(0x4f);
    const w = o.width + 6;
    const row = Math.floor((o.height + 6) / 2);
    const values = Array.from({ length: w }, (_, x) => byteAt(o, x, row));
    const edge = values.findIndex((v) => v >= 191);
    expect(edge).toBeGreaterThan(0);
    expect(Math.abs((values[edge] as number) - 191)).toBeLessThanOrEqual(16);
    expect(Math.abs((values[edge - 1] as number) - 191)).toBeLessThanOrEqual(32);
    // Far outside saturates low, the stroke's inside is high.
    expect(values[0]).toBeLessThan(100);
    expect(Math.max(...values)).toBeGreaterThan(220);
  });
});

/** The row of A's crossbar: the row whose middle pixel is inside and where the counter above is outside. */
function crossbarRow(a: DecodedGlyph): number {
  const w = a.width + 6;
  const mid = Math.floor(w / 2);
  for (let y = Math.floor((a.height + 6) / 2); y < a.height + 6; y++) {
    if (byteAt(a, mid, y) > 191) return y;
  }
  return -1;
}

describe('a composite fontstack', () => {
  // Two faces that both map Latin: the same outlines, the second drawn at half size (its em is
  // twice as large), so which face a glyph came from shows in its width.
  const greek = new FontFace('Greek', [load('greek')]);
  const latin = load('latin');
  const half = new FontFace('Half', [{ ...latin, font: Object.create(latin.font, { unitsPerEm: { value: 2000 } }) }]);
  const full = new FontFace('Latin', [latin]);

  it('carries each codepoint once, from the first font that has it', async () => {
    const [stack] = decodeGlyphs(await buildGlyphRange('Half,Latin', [half, full], 0));
    const [fullOnly] = decodeGlyphs(await buildGlyphRange('Latin', [full], 0));
    const ids = stack?.glyphs.map((g) => g.id) ?? [];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(fullOnly?.glyphs.map((g) => g.id));
    expect(stack?.glyphs.find((g) => g.id === 65)?.width).toBe(8);
    const [reversed] = decodeGlyphs(await buildGlyphRange('Latin,Half', [full, half], 0));
    expect(reversed?.glyphs.find((g) => g.id === 65)?.width).toBe(16);
  });

  it('takes from a later font what the first lacks', async () => {
    const [stack] = decodeGlyphs(await buildGlyphRange('Greek,Latin', [greek, full], 0));
    const ids = stack?.glyphs.map((g) => g.id) ?? [];
    expect(new Set(ids).size).toBe(ids.length);
    expect(stack?.glyphs.find((g) => g.id === 65)?.width).toBe(16);
  });

  it('skips a glyph a damaged font cannot give, taking it from the next font', async () => {
    const broken = new FontFace('Broken', [
      {
        ...latin,
        font: Object.create(latin.font, {
          glyphForCodePoint: {
            value: (cp: number) => {
              if (cp === 66) throw new Error('damaged glyf');
              return latin.font.glyphForCodePoint(cp);
            },
          },
        }),
      },
    ]);
    const [alone] = decodeGlyphs(await buildGlyphRange('Broken', [broken], 0));
    expect(alone?.glyphs.some((g) => g.id === 65)).toBe(true);
    expect(alone?.glyphs.some((g) => g.id === 66)).toBe(false);
    const [stack] = decodeGlyphs(await buildGlyphRange('Broken,Half', [broken, half], 0));
    expect(stack?.glyphs.find((g) => g.id === 66)?.width).toBeLessThan(10); // B from Half
  });

  it('merges the subset files of one family: A from latin, Ж from cyrillic', async () => {
    const [cyr] = decodeGlyphs(await buildGlyphRange('Noto Sans Regular', [noto], 0x400));
    expect(cyr?.glyphs.some((g) => g.id === 0x416 && g.width > 0)).toBe(true);
  });
});

describe('the byte-bounded cache', () => {
  const made = (n: number) => ({ body: new Uint8Array(n) });

  it('makes a key once however many ask at once', async () => {
    const cache = new ByteCache(1000);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const asks = Array.from({ length: 50 }, () =>
      cache.get('k', async () => {
        calls++;
        await gate;
        return made(10);
      }),
    );
    release();
    const results = await Promise.all(asks);
    expect(calls).toBe(1);
    expect(new Set(results).size).toBe(1);
  });

  it('keeps at most its bound, least recently used out, and never an entry larger than it', async () => {
    const cache = new ByteCache(100);
    await cache.get('a', async () => made(40));
    await cache.get('b', async () => made(40));
    await cache.get('a', async () => made(40)); // a is now the most recent
    await cache.get('c', async () => made(40));
    expect(cache.bytes).toBeLessThanOrEqual(100);
    let remade = 0;
    await cache.get('a', async () => {
      remade++;
      return made(40);
    });
    await cache.get('b', async () => {
      remade++;
      return made(40);
    });
    expect(remade).toBe(1); // b went, a stayed
    await cache.get('huge', async () => made(101));
    expect(cache.bytes).toBeLessThanOrEqual(100);
  });

  it('does not keep a failure', async () => {
    const cache = new ByteCache(100);
    await expect(cache.get('x', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await cache.get('x', async () => made(1))).toEqual(made(1));
  });
});

describe('glyph size cap', () => {
  /** A square outline `px` pixels on a side at 24 px per em (1000 units per em). */
  function square(px: number) {
    const side = (px * 1000) / 24;
    const commands = [
      { command: 'moveTo', args: [0, 0] },
      { command: 'lineTo', args: [side, 0] },
      { command: 'lineTo', args: [side, side] },
      { command: 'lineTo', args: [0, side] },
      { command: 'closePath', args: [] },
    ];
    return { advanceWidth: 500, path: { commands, cbox: { minX: 0, minY: 0, maxX: side, maxY: side } } } as unknown as Glyph;
  }

  it('renders a glyph of 255 px on a side', () => {
    const glyph = renderSdfGlyph(65, square(255), 1000, 20);
    expect([glyph.width, glyph.height]).toEqual([255, 255]);
    expect(glyph.bitmap?.length).toBe(261 * 261);
  });

  it.each([256, 100_000])('keeps only the advance of a glyph %i px on a side (MapLibre drops larger ones)', (px) => {
    const glyph = renderSdfGlyph(65, square(px), 1000, 20);
    expect(glyph).toEqual({ id: 65, width: 0, height: 0, left: 0, top: -20, advance: 12 });
  });
});
