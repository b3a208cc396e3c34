import { PbfWriter } from 'pbf';
import type { SdfGlyph } from './sdf.ts';

/**
 * glyphs.proto (proto2), as MapLibre reads it:
 * `glyphs { repeated fontstack stacks = 1; }`,
 * `fontstack { required string name = 1; required string range = 2; repeated glyph glyphs = 3; }`,
 * `glyph { required uint32 id = 1; optional bytes bitmap = 2; required uint32 width = 3;
 * required uint32 height = 4; required sint32 left = 5; required sint32 top = 6; required uint32 advance = 7; }`.
 * One stack per answer; its glyphs in codepoint order, each codepoint once (MapLibre keeps the
 * last glyph of an id it reads).
 */
export function encodeGlyphs(name: string, range: string, glyphs: readonly SdfGlyph[]): Uint8Array {
  const pbf = new PbfWriter();
  pbf.writeMessage(1, writeStack, { name, range, glyphs });
  return pbf.finish();
}

function writeStack(stack: { name: string; range: string; glyphs: readonly SdfGlyph[] }, pbf: PbfWriter): void {
  pbf.writeStringField(1, stack.name);
  pbf.writeStringField(2, stack.range);
  for (const glyph of stack.glyphs) pbf.writeMessage(3, writeGlyph, glyph);
}

function writeGlyph(glyph: SdfGlyph, pbf: PbfWriter): void {
  pbf.writeVarintField(1, glyph.id);
  if (glyph.bitmap !== undefined) pbf.writeBytesField(2, glyph.bitmap);
  pbf.writeVarintField(3, glyph.width);
  pbf.writeVarintField(4, glyph.height);
  pbf.writeSVarintField(5, glyph.left);
  pbf.writeSVarintField(6, glyph.top);
  pbf.writeVarintField(7, glyph.advance);
}
