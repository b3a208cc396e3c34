import { describe, expect, it } from 'vitest';
import { flipY, MAX_ZOOM, onGrid, parseCoordinate } from '../../src/storage/coords.ts';

describe('flipY', () => {
  it.each([
    // z, y (one scheme), y (the other scheme)
    [0, 0, 0],
    [1, 0, 1],
    [1, 1, 0],
    [2, 0, 3],
    [2, 1, 2],
    [3, 5, 2],
    [10, 0, 1023],
    [10, 1023, 0],
    [30, 0, 2 ** 30 - 1],
    [30, 2 ** 30 - 1, 0],
    [30, 123_456_789, 2 ** 30 - 1 - 123_456_789],
  ])('z=%i: row %i ↔ row %i', (z, y, flipped) => {
    expect(flipY(z, y)).toBe(flipped);
    expect(flipY(z, flipped)).toBe(y);
  });

  it.each([0, 1, 5, 14, 22, MAX_ZOOM])('is its own inverse on every sampled row of z=%i', (z) => {
    const size = 2 ** z;
    for (const y of [0, 1, Math.floor(size / 2), size - 2, size - 1].filter((v) => v >= 0 && v < size)) {
      expect(flipY(z, flipY(z, y))).toBe(y);
      expect(flipY(z, y)).toBeGreaterThanOrEqual(0);
      expect(flipY(z, y)).toBeLessThan(size);
    }
  });

  it('maps the top XYZ row to the top TMS row (northernmost) at z=2', () => {
    // XYZ row 0 is the northern edge; in TMS the northern edge is row 2^z - 1.
    expect(flipY(2, 0)).toBe(3);
  });

  it('keeps rows beyond the grid (as GDAL writes, e.g. -1) invertible', () => {
    expect(flipY(1, -1)).toBe(2);
    expect(flipY(1, 2)).toBe(-1);
  });
});

describe('onGrid', () => {
  it.each([
    // z, x, y, on the grid
    [0, 0, 0, true],
    [0, 1, 0, false],
    [0, 0, 1, false],
    [1, 1, 1, true],
    [1, 2, 0, false],
    [1, 0, 2, false],
    [3, 7, 7, true],
    [3, 8, 7, false],
    [3, 7, 8, false],
    [30, 2 ** 30 - 1, 2 ** 30 - 1, true],
    [30, 2 ** 30, 0, false],
    [30, 0, 2 ** 30, false],
    [30, 2 ** 32 - 1, 0, false],
  ])('z=%i x=%i y=%i → %s', (z, x, y, expected) => {
    expect(onGrid(z, x, y)).toBe(expected);
  });

  it.each([
    [1, -1, 0],
    [1, 0, -1],
  ])('rejects negative coordinates: z=%i x=%i y=%i', (z, x, y) => {
    expect(onGrid(z, x, y)).toBe(false);
  });
});

describe('parseCoordinate', () => {
  it.each([
    // text, max, parsed
    ['0', 30, 0],
    ['1', 30, 1],
    ['9', 30, 9],
    ['10', 30, 10],
    ['30', 30, 30],
    ['1023', 2 ** 32 - 1, 1023],
    ['4294967295', 2 ** 32 - 1, 4294967295],
    ['9999999999', 9_999_999_999, 9_999_999_999],
  ])('accepts %j (max %i) as %i', (text, max, parsed) => {
    expect(parseCoordinate(text, max)).toBe(parsed);
  });

  it.each([
    // text, max, why it is refused
    ['31', 30, 'one above max'],
    ['4294967296', 2 ** 32 - 1, 'one above a 32-bit max'],
    ['1', 0, 'above a max of 0'],
    ['-1', 30, 'negative'],
    ['-0', 30, 'negative zero'],
    ['+1', 30, 'explicit sign'],
    ['1.5', 30, 'fraction'],
    ['1.0', 30, 'fraction that is whole'],
    ['01', 30, 'leading zero'],
    ['00', 30, 'double zero'],
    ['007', 2 ** 32 - 1, 'leading zeros'],
    ['', 30, 'empty'],
    [' 1', 30, 'leading space'],
    ['1 ', 30, 'trailing space'],
    ['1\n', 30, 'trailing newline'],
    ['1e3', 2 ** 32 - 1, 'exponent'],
    ['0x10', 2 ** 32 - 1, 'hex'],
    ['0b1', 2 ** 32 - 1, 'binary'],
    ['1_000', 2 ** 32 - 1, 'numeric separator'],
    ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
    ['NaN', 30, 'NaN'],
    ['abc', 30, 'letters'],
    ['١', 30, 'non-ASCII digit'],
    ['12345678901', Number.MAX_SAFE_INTEGER, 'eleven digits'],
    ['99999999999999999999', Number.MAX_SAFE_INTEGER, 'far beyond any grid'],
  ])('refuses %j (max %i): %s', (text, max) => {
    expect(parseCoordinate(text, max)).toBeUndefined();
  });

  it('accepts exactly MAX_ZOOM as a zoom and nothing deeper', () => {
    expect(parseCoordinate(String(MAX_ZOOM), MAX_ZOOM)).toBe(MAX_ZOOM);
    expect(parseCoordinate(String(MAX_ZOOM + 1), MAX_ZOOM)).toBeUndefined();
  });
});
