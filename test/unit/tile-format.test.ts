import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  contentTypeOf,
  extensionFits,
  formatKind,
  normalizeFormat,
  sniffFormat,
  storedEncoding,
  type TileFormat,
  urlExtension,
} from '../../src/storage/tile-format.ts';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const text = (s: string): number[] => [...Buffer.from(s, 'latin1')];

/** Real file signatures, as the encoders write them. */
const PNG = bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, ...text('IHDR'));
const JPEG_JFIF = bytes(0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, ...text('JFIF'), 0x00);
const JPEG_EXIF = bytes(0xff, 0xd8, 0xff, 0xe1, 0x00, 0x10, ...text('Exif'), 0x00);
const WEBP = bytes(...text('RIFF'), 0x24, 0x00, 0x00, 0x00, ...text('WEBPVP8 '), 0x18, 0x00, 0x00, 0x00);
const WAV = bytes(...text('RIFF'), 0x24, 0x00, 0x00, 0x00, ...text('WAVEfmt '));
/** A real gzip stream of a tiny MVT-like protobuf. */
const GZIP_MVT = new Uint8Array(gzipSync(Buffer.from([0x1a, 0x03, 0x0a, 0x01, 0x61])));
/** The same as a zlib stream, as older Mapbox tools (node-mbtiles, tilelive) stored tiles. */
const ZLIB_MVT = new Uint8Array(deflateSync(Buffer.from([0x1a, 0x03, 0x0a, 0x01, 0x61])));
/** Field 3 (`layers`), wire type 2: tag 0x1a, then a length and a layer. */
const RAW_MVT = bytes(0x1a, 0x05, 0x78, 0x02, 0x0a, 0x01, 0x61);

describe('sniffFormat', () => {
  it.each([
    ['PNG', PNG, { format: 'png' }],
    ['PNG signature alone (8 bytes)', PNG.subarray(0, 8), { format: 'png' }],
    ['JPEG/JFIF', JPEG_JFIF, { format: 'jpg' }],
    ['JPEG/Exif', JPEG_EXIF, { format: 'jpg' }],
    ['JPEG SOI + marker prefix only (3 bytes)', bytes(0xff, 0xd8, 0xff), { format: 'jpg' }],
    ['WebP (RIFF....WEBP)', WEBP, { format: 'webp' }],
    ['WebP header alone (12 bytes)', WEBP.subarray(0, 12), { format: 'webp' }],
    ['gzip stream', GZIP_MVT, { format: 'pbf', encoding: 'gzip' }],
    ['zlib stream', ZLIB_MVT, { format: 'pbf', encoding: 'deflate' }],
    ['raw MVT (tag 0x1a)', RAW_MVT, { format: 'pbf' }],
  ])('%s', (_name, input, expected) => {
    expect(sniffFormat(input)).toEqual(expected);
  });

  it.each([
    ['empty', bytes()],
    ['one zero byte', bytes(0)],
    ['lone MVT tag byte', bytes(0x1a)],
    ['lone gzip magic byte', bytes(0x1f)],
    ['PNG signature cut to 4 bytes', PNG.subarray(0, 4)],
    ['PNG signature cut to 7 bytes', PNG.subarray(0, 7)],
    ['JPEG cut to 2 bytes', bytes(0xff, 0xd8)],
    ['WebP cut to 11 bytes', WEBP.subarray(0, 11)],
    ['RIFF that is not WebP (WAV)', WAV],
    ['gzip magic reversed', bytes(0x8b, 0x1f, 0x08)],
    ['text', bytes(...text('hello world'))],
    ['JSON', bytes(...text('{"type":"Feature"}'))],
    ['GIF', bytes(...text('GIF89a'), 0x01, 0x00, 0x01, 0x00)],
    ['zeros', new Uint8Array(64)],
    ['protobuf with another first field (tag 0x0a)', bytes(0x0a, 0x01, 0x61)],
  ])('%s → undefined', (_name, input) => {
    expect(sniffFormat(input)).toBeUndefined();
  });

  it('reads a Node Buffer the same as a Uint8Array', () => {
    expect(sniffFormat(Buffer.from(PNG))).toEqual({ format: 'png' });
    expect(sniffFormat(gzipSync(Buffer.from('x')))).toEqual({ format: 'pbf', encoding: 'gzip' });
  });

  it('looks at the start of a subarray view, not the start of its buffer', () => {
    const joined = new Uint8Array([...PNG, ...JPEG_JFIF]);
    expect(sniffFormat(joined.subarray(PNG.length))).toEqual({ format: 'jpg' });
  });
});

describe('storedEncoding', () => {
  it.each([
    ['gzip stream', GZIP_MVT, 'gzip'],
    ['gzip magic alone', bytes(0x1f, 0x8b), 'gzip'],
    ['zlib stream, default level (78 9c)', ZLIB_MVT, 'deflate'],
    ['zlib stream, best speed (78 01)', new Uint8Array(deflateSync(Buffer.from('x'), { level: 1 })), 'deflate'],
    ['zlib stream, best compression (78 da)', new Uint8Array(deflateSync(Buffer.from('x'), { level: 9 })), 'deflate'],
    ['78 with a bad header check', bytes(0x78, 0x9d), undefined],
    ['78 with a preset dictionary (FDICT)', bytes(0x78, 0xbb), undefined],
    ['one byte', bytes(0x1f), undefined],
    ['empty', bytes(), undefined],
    ['raw MVT', RAW_MVT, undefined],
    ['PNG', PNG, undefined],
  ])('%s → %s', (_name, input, expected) => {
    expect(storedEncoding(input)).toBe(expected);
  });
});

describe('normalizeFormat', () => {
  it.each([
    ['pbf', 'pbf'],
    ['mvt', 'pbf'],
    ['application/x-protobuf', 'pbf'],
    ['application/vnd.mapbox-vector-tile', 'pbf'],
    ['png', 'png'],
    ['image/png', 'png'],
    ['jpg', 'jpg'],
    ['jpeg', 'jpg'],
    ['image/jpeg', 'jpg'],
    ['webp', 'webp'],
    ['image/webp', 'webp'],
    ['PBF', 'pbf'],
    ['JPEG', 'jpg'],
    ['Image/PNG', 'png'],
    [' png ', 'png'],
    ['\twebp\n', 'webp'],
  ])('%j → %s', (input, expected) => {
    expect(normalizeFormat(input)).toBe(expected);
  });

  it.each([[undefined], [''], ['   '], ['gif'], ['tiff'], ['geojson'], ['image/jpg+xml'], ['p n g'], ['png8'], ['.png']])(
    '%j → undefined',
    (input) => {
      expect(normalizeFormat(input)).toBeUndefined();
    },
  );

  it.each([['tostring'], ['valueOf'], ['hasOwnProperty']])('%j → undefined', (input) => {
    expect(normalizeFormat(input)).toBeUndefined();
  });

  it.each([['constructor'], ['__proto__'], ['Constructor']])('%j (an Object.prototype member) → undefined', (input) => {
    expect(normalizeFormat(input)).toBeUndefined();
  });
});

describe('per-format facts', () => {
  it.each<[TileFormat, string, string, 'vector' | 'raster']>([
    ['pbf', 'application/vnd.mapbox-vector-tile', 'pbf', 'vector'],
    ['png', 'image/png', 'png', 'raster'],
    ['jpg', 'image/jpeg', 'jpg', 'raster'],
    ['webp', 'image/webp', 'webp', 'raster'],
  ])('%s: Content-Type %s, published extension .%s, %s', (format, contentType, ext, kind) => {
    expect(contentTypeOf(format)).toBe(contentType);
    expect(urlExtension(format)).toBe(ext);
    expect(formatKind(format)).toBe(kind);
  });

  it.each<TileFormat>(['pbf', 'png', 'jpg', 'webp'])('the published extension of %s fits it', (format) => {
    expect(extensionFits(format, urlExtension(format))).toBe(true);
  });

  it.each<TileFormat>(['pbf', 'png', 'jpg', 'webp'])('every sniffable %s normalizes to itself', (format) => {
    expect(normalizeFormat(format)).toBe(format);
    expect(normalizeFormat(contentTypeOf(format))).toBe(format);
  });
});

describe('extensionFits', () => {
  it.each<[TileFormat, string, boolean]>([
    ['pbf', 'pbf', true],
    ['pbf', 'mvt', true],
    ['pbf', 'png', false],
    ['pbf', 'json', false],
    ['pbf', 'pbf.gz', false],
    ['pbf', 'PBF', false],
    ['pbf', '', false],
    ['png', 'png', true],
    ['png', 'jpg', false],
    ['png', 'webp', false],
    ['png', 'pbf', false],
    ['png', 'PNG', false],
    ['jpg', 'jpg', true],
    ['jpg', 'jpeg', true],
    ['jpg', 'png', false],
    ['jpg', 'jpe', false],
    ['webp', 'webp', true],
    ['webp', 'png', false],
    ['webp', 'mvt', false],
    ['webp', '5.webp', false],
  ])('%s with .%s → %s', (format, ext, expected) => {
    expect(extensionFits(format, ext)).toBe(expected);
  });
});
