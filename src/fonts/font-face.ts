import type { Font, Glyph } from 'fontkit';
import { GLYPH_EM_PX } from './sdf.ts';

/** One font read from a file (a collection gives several, each with its own index). */
export interface LoadedFont {
  /** Path under the fonts folder, `/`-separated: the merge order. */
  path: string;
  font: Font;
  /** SHA-256 (hex) of the file's bytes. */
  sha256: string;
  /** Bytes of the file. */
  bytes: number;
}

/** Where a codepoint's glyph comes from, with what its metrics need. */
export interface GlyphSource {
  glyph: Glyph;
  unitsPerEm: number;
  /** The font's ascender at 24 px, rounded up (FreeType's size metrics). */
  ascender: number;
}

/**
 * A named face: every file whose fonts carry the same name, merged (the subset files of one
 * family: latin, latin-ext, cyrillic, greek…). A codepoint comes from the first file in path
 * order that maps it.
 */
export class FontFace {
  constructor(
    readonly name: string,
    /** In path order. */
    readonly fonts: readonly LoadedFont[],
  ) {}

  /** The glyph for `codepoint`, from the first font that maps it; undefined when none does. */
  lookup(codepoint: number): GlyphSource | undefined {
    for (const { font } of this.fonts) {
      if (!font.hasGlyphForCodePoint(codepoint)) continue;
      return {
        glyph: font.glyphForCodePoint(codepoint),
        unitsPerEm: font.unitsPerEm,
        ascender: Math.ceil((font.ascent * GLYPH_EM_PX) / font.unitsPerEm),
      };
    }
    return undefined;
  }
}
