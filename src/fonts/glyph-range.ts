import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FontFace } from './font-face.ts';
import { encodeGlyphs } from './glyph-pbf.ts';
import { renderSdfGlyph, type SdfGlyph } from './sdf.ts';

/**
 * Names the code that turns font files into glyph bytes; hashed into the fonts version. Bump it
 * whenever the same fonts would give other bytes (SDF, rasteriser, metrics, encoding): a `?v=`
 * URL is cached as immutable, so new bytes need a new version even when no font file changed.
 */
export const GLYPH_GENERATOR = 'tilestamp-glyphs-1';

/** Codepoints per range: MapLibre asks for 0-255, 256-511, … */
export const RANGE_SIZE = 256;
/** The last codepoint MapLibre asks glyphs for (the Basic Multilingual Plane). */
export const LAST_CODEPOINT = 0xffff;

/** `start-end` when it is a range MapLibre asks for (start a multiple of 256, end = start + 255, ≤ U+FFFF). */
export function parseRange(text: string): number | undefined {
  const match = /^(0|[1-9][0-9]{0,5})-(0|[1-9][0-9]{0,5})$/.exec(text);
  if (match === null) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  return start % RANGE_SIZE === 0 && end === start + RANGE_SIZE - 1 && end <= LAST_CODEPOINT ? start : undefined;
}

/** Codepoints rendered between two turns of the event loop (a CJK range takes tens of ms in all). */
const CODEPOINTS_PER_TURN = 32;

/**
 * The SDF glyphs of one range, each codepoint once, from the first face of `faces` that has it.
 * Gives the event loop a turn every 32 codepoints, so other requests are answered meanwhile.
 */
export async function rangeGlyphs(faces: readonly FontFace[], start: number): Promise<SdfGlyph[]> {
  const glyphs: SdfGlyph[] = [];
  for (let codepoint = start; codepoint < start + RANGE_SIZE; codepoint++) {
    if (codepoint > start && codepoint % CODEPOINTS_PER_TURN === 0) await nextTurn();
    const glyph = firstGlyph(faces, codepoint);
    if (glyph !== undefined) glyphs.push(glyph);
  }
  return glyphs;
}

/**
 * The glyph of the first face that has `codepoint`. fontkit reads glyph outlines lazily, so a
 * font damaged past what loading checked fails here: such a glyph is skipped (the next face may
 * have it), never a failed answer.
 */
function firstGlyph(faces: readonly FontFace[], codepoint: number): SdfGlyph | undefined {
  for (const face of faces) {
    try {
      const found = face.lookup(codepoint);
      if (found !== undefined) return renderSdfGlyph(codepoint, found.glyph, found.unitsPerEm, found.ascender);
    } catch {
      // a damaged outline: try the next face
    }
  }
  return undefined;
}

/** The glyphs.proto bytes of one range for a fontstack (`name` as the request spelled it, joined with `,`). */
export async function buildGlyphRange(name: string, faces: readonly FontFace[], start: number): Promise<Uint8Array> {
  return encodeGlyphs(name, `${start}-${start + RANGE_SIZE - 1}`, await rangeGlyphs(faces, start));
}
