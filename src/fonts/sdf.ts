import type { Glyph } from 'fontkit';
import { edt, INF } from './edt.ts';
import { CoverageRaster } from './rasterise.ts';

/** The constants MapLibre, fontnik and martin share: a 24 px em, 3 px of buffer around each bitmap. */
export const GLYPH_EM_PX = 24;
export const GLYPH_BUFFER_PX = 3;
/** Distances beyond this many pixels saturate the field. */
export const SDF_RADIUS_PX = 8;
/** Where the outline sits on the 0…1 scale: 1 − 0.25 → byte 191. */
export const SDF_CUTOFF = 0.25;

/**
 * The largest glyph bitmap drawn, in pixels on either side (buffer not counted). MapLibre drops a
 * glyph of 256 px or more (glyph_pbf.cpp, glyph_atlas.cpp), and without a bound one hostile
 * outline in a font file could make a bitmap of gigabytes.
 */
export const MAX_GLYPH_PX = 255;

/** One glyph as glyphs.proto carries it. */
export interface SdfGlyph {
  id: number;
  /** (width + 6) × (height + 6) bytes; absent for an empty glyph (a space). */
  bitmap?: Uint8Array;
  width: number;
  height: number;
  left: number;
  top: number;
  advance: number;
}

/**
 * Renders one glyph as a signed distance field at 24 px. Metrics follow FreeType's unhinted
 * bitmap (what fontnik and martin serve): the box is the outline's control box grown to whole
 * pixels, `left` its left edge, `top` its top edge minus `ascender` (the font's ascender at
 * 24 px, rounded up as FreeType does), `advance` the advance width rounded. Each byte is
 * 255 − 255 · (d / 8 + 0.25), d the signed distance in pixels (positive outside): 191 on the outline.
 * A glyph wider or taller than MAX_GLYPH_PX keeps its advance and no bitmap.
 */
export function renderSdfGlyph(codepoint: number, glyph: Glyph, unitsPerEm: number, ascender: number): SdfGlyph {
  const scale = GLYPH_EM_PX / unitsPerEm;
  const advance = Math.round(glyph.advanceWidth * scale);
  const { commands, cbox } = glyph.path;
  const empty = { id: codepoint, width: 0, height: 0, left: 0, top: -ascender, advance };
  if (commands.length === 0 || !(cbox.maxX > cbox.minX) || !(cbox.maxY > cbox.minY)) return empty;
  const left = Math.floor(cbox.minX * scale);
  const bitmapTop = Math.ceil(cbox.maxY * scale);
  const width = Math.ceil(cbox.maxX * scale) - left;
  const height = bitmapTop - Math.floor(cbox.minY * scale);
  // Too large to be drawn by MapLibre, and to be held: its advance alone, as for a space.
  if (!(width <= MAX_GLYPH_PX && height <= MAX_GLYPH_PX)) return empty;
  const w = width + 2 * GLYPH_BUFFER_PX;
  const h = height + 2 * GLYPH_BUFFER_PX;
  const raster = new CoverageRaster(w, h);
  const px = (x: number) => x * scale - left + GLYPH_BUFFER_PX;
  const py = (y: number) => bitmapTop - y * scale + GLYPH_BUFFER_PX;
  for (const { command, args } of commands) {
    const a = args.map((value, i) => (i % 2 === 0 ? px(value) : py(value)));
    if (command === 'moveTo') raster.moveTo(a[0] as number, a[1] as number);
    else if (command === 'lineTo') raster.lineTo(a[0] as number, a[1] as number);
    else if (command === 'quadraticCurveTo') raster.quadraticCurveTo(...(a as [number, number, number, number]));
    else if (command === 'bezierCurveTo') raster.bezierCurveTo(...(a as [number, number, number, number, number, number]));
    else raster.closePath();
  }
  const bitmap = distanceField(raster.coverage(), w, h);
  return { id: codepoint, bitmap, width, height, left, top: bitmapTop - ascender, advance };
}

/**
 * Coverage → bytes, as TinySDF does: a fully covered pixel is a feature of the inner transform,
 * an empty one of the outer; a partly covered one sits (0.5 − coverage) px from the edge.
 */
export function distanceField(coverage: Float32Array, width: number, height: number): Uint8Array {
  const outer = new Float64Array(coverage.length);
  const inner = new Float64Array(coverage.length);
  for (let i = 0; i < coverage.length; i++) {
    // Quantised to 8 bits, as TinySDF's canvas alpha is: the float residue a running sum leaves
    // on empty pixels (1e-7) would otherwise count as an edge half a pixel away.
    const a = Math.round((coverage[i] as number) * 255) / 255;
    if (a >= 1) {
      outer[i] = 0;
      inner[i] = INF;
    } else if (a <= 0) {
      outer[i] = INF;
      inner[i] = 0;
    } else {
      const d = 0.5 - a;
      outer[i] = d > 0 ? d * d : 0;
      inner[i] = d < 0 ? d * d : 0;
    }
  }
  edt(outer, width, height);
  edt(inner, width, height);
  const out = new Uint8Array(coverage.length);
  for (let i = 0; i < out.length; i++) {
    const d = Math.sqrt(outer[i] as number) - Math.sqrt(inner[i] as number);
    // Uint8Array clamps nothing by itself: clamp before rounding.
    out[i] = Math.max(0, Math.min(255, Math.round(255 - 255 * (d / SDF_RADIUS_PX + SDF_CUTOFF))));
  }
  return out;
}
