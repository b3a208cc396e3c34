import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { imageWidth } from '../../src/storage/tile-format.ts';

// Real encoders (GDAL's PNG, JPEG and WebP drivers), at an odd width so nothing passes by default.
const dir = mkdtempSync(join(tmpdir(), 'tilestamp-images-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function encode(name: string, driver: string, bands: number, options: string[] = []): Buffer {
  const source = join(dir, `${name}.tif`);
  execFileSync('gdal_create', ['-q', '-of', 'GTiff', '-outsize', '300', '200', '-bands', String(bands), '-burn', '80', source]);
  const out = join(dir, name);
  execFileSync('gdal_translate', ['-q', '-of', driver, ...options.flatMap((o) => ['-co', o]), source, out]);
  return readFileSync(out);
}

describe('imageWidth', () => {
  it.each([
    ['PNG', () => encode('a.png', 'PNG', 3)],
    ['JPEG (JFIF)', () => encode('a.jpg', 'JPEG', 3)],
    ['WebP lossy (VP8)', () => encode('a.webp', 'WEBP', 3)],
    ['WebP lossless (VP8L)', () => encode('b.webp', 'WEBP', 3, ['LOSSLESS=YES'])],
    ['WebP with alpha (VP8X)', () => encode('c.webp', 'WEBP', 4)],
  ])('reads the width of a %s image', (_, make) => {
    expect(imageWidth(make())).toBe(300);
  });

  it.each([
    ['an empty blob', Buffer.alloc(0)],
    ['a PNG signature without its header', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
    ['a JPEG cut before its frame header', () => encode('d.jpg', 'JPEG', 3).subarray(0, 40)],
    ['a gzipped vector tile', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0])],
  ])('says nothing for %s', (_, input) => {
    expect(imageWidth(typeof input === 'function' ? input() : input)).toBeUndefined();
  });
});
