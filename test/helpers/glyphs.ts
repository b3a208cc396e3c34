import { PbfReader } from 'pbf';
import type { SdfGlyph } from '../../src/fonts/sdf.ts';

/** A glyph as read back: the fields glyphs.proto defines. */
export type DecodedGlyph = SdfGlyph;

export interface DecodedStack {
  name: string;
  range: string;
  glyphs: DecodedGlyph[];
}

/** Reads glyphs.proto bytes as MapLibre does (independently of the encoder under test). */
export function decodeGlyphs(bytes: Uint8Array): DecodedStack[] {
  const pbf = new PbfReader(bytes);
  return pbf.readFields((tag, stacks: DecodedStack[]) => {
    if (tag === 1) stacks.push(pbf.readMessage(readStack, { name: '', range: '', glyphs: [] }));
  }, [] as DecodedStack[]);
  function readStack(tag: number, stack: DecodedStack): void {
    if (tag === 1) stack.name = pbf.readString();
    else if (tag === 2) stack.range = pbf.readString();
    else if (tag === 3)
      stack.glyphs.push(pbf.readMessage(readGlyph, { id: -1, width: 0, height: 0, left: 0, top: 0, advance: 0 }));
  }
  function readGlyph(tag: number, glyph: DecodedGlyph): void {
    if (tag === 1) glyph.id = pbf.readVarint();
    else if (tag === 2) glyph.bitmap = pbf.readBytes();
    else if (tag === 3) glyph.width = pbf.readVarint();
    else if (tag === 4) glyph.height = pbf.readVarint();
    else if (tag === 5) glyph.left = pbf.readSVarint();
    else if (tag === 6) glyph.top = pbf.readSVarint();
    else if (tag === 7) glyph.advance = pbf.readVarint();
  }
}
