import type { Font } from 'fontkit';

/**
 * The name a style uses for a face: `family + " " + style` from the font's own name table, the
 * typographic names (IDs 16/17) where present, else the legacy ones (1/2). Runs of white space,
 * `/` and `,` become one space (martin's rule): a fontstack is a comma-separated list, so a
 * name can never hold a comma.
 */
export function faceName(font: Font): string {
  const family = nameOf(font, 'preferredFamily') ?? nameOf(font, 'fontFamily') ?? font.postscriptName ?? '';
  const style = nameOf(font, 'preferredSubfamily') ?? nameOf(font, 'fontSubfamily') ?? '';
  return normaliseFontName(`${family} ${style}`);
}

/** Collapses runs of white space, `/` and `,` to one space and trims. */
export function normaliseFontName(name: string): string {
  return name.replace(/[\s/,]+/g, ' ').trim();
}

function nameOf(font: Font, key: string): string | undefined {
  const value = font.getName(key, 'en');
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}
