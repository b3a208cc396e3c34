import { describe, expect, it } from 'vitest';
import { faceVersion } from '../../src/fonts/font-store.ts';
import { GLYPH_GENERATOR } from '../../src/fonts/glyph-range.ts';
import { SPRITE_GENERATOR } from '../../src/sprites/sheet.ts';
import { sheetVersion } from '../../src/sprites/sprite-store.ts';

// An immutable `?v=` URL must never carry other bytes: a new renderer (same files) is a new version.
describe('versions name the generator as well as the files', () => {
  it('a face version changes with the glyph generator, not only with the files', () => {
    const files = ['a'.repeat(64), 'b'.repeat(64)];
    expect(faceVersion('Noto Sans Regular', files, GLYPH_GENERATOR)).toBe(
      faceVersion('Noto Sans Regular', files, GLYPH_GENERATOR),
    );
    expect(faceVersion('Noto Sans Regular', files, 'tilestamp-glyphs-next')).not.toBe(
      faceVersion('Noto Sans Regular', files, GLYPH_GENERATOR),
    );
  });

  it('a sheet version changes with the sprite generator, not only with the icons', () => {
    const icons = [{ id: 'park', sha256: 'c'.repeat(64) }];
    expect(sheetVersion(icons, SPRITE_GENERATOR)).toBe(sheetVersion(icons, SPRITE_GENERATOR));
    expect(sheetVersion(icons, 'tilestamp-sprites-next')).not.toBe(sheetVersion(icons, SPRITE_GENERATOR));
  });
});
