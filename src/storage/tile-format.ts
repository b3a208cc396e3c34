/** The tile formats tilestamp serves, as MBTiles 1.3 names them in `metadata.format`. */
export type TileFormat = 'pbf' | 'png' | 'jpg' | 'webp';

/** Vector tiles, or raster images. */
export type TileKind = 'vector' | 'raster';

interface FormatInfo {
  kind: TileKind;
  contentType: string;
  /** URL extensions accepted for the format; the first one is the one we publish. */
  extensions: readonly string[];
}

const FORMATS: Readonly<Record<TileFormat, FormatInfo>> = {
  pbf: { kind: 'vector', contentType: 'application/vnd.mapbox-vector-tile', extensions: ['pbf', 'mvt'] },
  png: { kind: 'raster', contentType: 'image/png', extensions: ['png'] },
  jpg: { kind: 'raster', contentType: 'image/jpeg', extensions: ['jpg', 'jpeg'] },
  webp: { kind: 'raster', contentType: 'image/webp', extensions: ['webp'] },
};

/** Spellings seen in the wild for `metadata.format`, mapped to ours. */
const FORMAT_ALIASES: Readonly<Record<string, TileFormat>> = {
  pbf: 'pbf',
  mvt: 'pbf',
  'application/x-protobuf': 'pbf',
  'application/vnd.mapbox-vector-tile': 'pbf',
  png: 'png',
  'image/png': 'png',
  jpg: 'jpg',
  jpeg: 'jpg',
  'image/jpeg': 'jpg',
  webp: 'webp',
  'image/webp': 'webp',
};

/** Maps a `metadata.format` value to a TileFormat; undefined when it names none we know. */
export function normalizeFormat(value: string | undefined): TileFormat | undefined {
  if (value === undefined) return undefined;
  const key = value.trim().toLowerCase();
  // Own keys only: `constructor` or `__proto__` in a file must not resolve to Object's members.
  return Object.hasOwn(FORMAT_ALIASES, key) ? FORMAT_ALIASES[key] : undefined;
}

export function formatKind(format: TileFormat): TileKind {
  return FORMATS[format].kind;
}

export function contentTypeOf(format: TileFormat): string {
  return FORMATS[format].contentType;
}

/** The extension put into published tile URLs. */
export function urlExtension(format: TileFormat): string {
  return FORMATS[format].extensions[0] as string;
}

/** Whether a URL extension fits the tileset's format (`pbf` and `mvt` both for vector). */
export function extensionFits(format: TileFormat, ext: string): boolean {
  return FORMATS[format].extensions.includes(ext);
}

/** How a stored vector tile is compressed: gzip (tippecanoe, GDAL) or zlib (older Mapbox tools). */
export type TileEncoding = 'gzip' | 'deflate';

/** What the first bytes of a tile say it is; `encoding` when they are a compressed stream. */
export type SniffedFormat = { format: TileFormat; encoding?: TileEncoding };

/**
 * Identifies a tile from its magic bytes: PNG, JPEG, WebP, a gzip or zlib stream (taken as
 * compressed MVT: tippecanoe and GDAL write gzip, older Mapbox tools zlib) or raw MVT (a
 * protobuf whose first field is `layers`, tag 0x1a). Undefined for anything else, including an
 * empty blob.
 */
export function sniffFormat(bytes: Uint8Array): SniffedFormat | undefined {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return { format: 'png' };
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { format: 'jpg' };
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return { format: 'webp' };
  const encoding = storedEncoding(b);
  if (encoding !== undefined) return { format: 'pbf', encoding };
  if (b.length >= 2 && b[0] === 0x1a) return { format: 'pbf' };
  return undefined;
}

/**
 * The compression of stored bytes: `gzip` (magic 1f 8b) or `deflate`, which HTTP names the zlib
 * format (RFC 9110 §8.4.1.2): a header 78 xx whose 16 bits are a multiple of 31, no preset
 * dictionary. Raw MVT never starts with 0x78 (its first field is `layers`, tag 0x1a).
 */
export function storedEncoding(bytes: Uint8Array): TileEncoding | undefined {
  const [first, second] = bytes;
  if (bytes.length < 2 || first === undefined || second === undefined) return undefined;
  if (first === 0x1f && second === 0x8b) return 'gzip';
  if (first === 0x78 && ((first << 8) | second) % 31 === 0 && (second & 0x20) === 0) return 'deflate';
  return undefined;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/**
 * The pixel width of a PNG, JPEG or WebP image from its header, or undefined when the bytes do
 * not say (a style needs it: MapLibre takes raster tiles as 512 px unless told otherwise).
 */
export function imageWidth(bytes: Uint8Array): number | undefined {
  const b = bytes;
  const format = sniffFormat(b)?.format;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (format === 'png') return b.length >= 24 && ascii(b, 12, 16) === 'IHDR' ? view.getUint32(16) : undefined;
  if (format === 'webp') {
    const chunk = b.length >= 30 ? ascii(b, 12, 16) : '';
    if (chunk === 'VP8 ') return view.getUint16(26, true) & 0x3fff;
    if (chunk === 'VP8L') return (view.getUint16(21, true) & 0x3fff) + 1;
    if (chunk === 'VP8X') return (b[24] as number) + ((b[25] as number) << 8) + ((b[26] as number) << 16) + 1;
    return undefined;
  }
  if (format === 'jpg') {
    // Walk the marker segments to the first start-of-frame (SOF0–SOF15 but DHT, JPG, DAC).
    let at = 2;
    while (at + 9 <= b.length && b[at] === 0xff) {
      const marker = b[at + 1] as number;
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return view.getUint16(at + 7);
      }
      at += 2 + view.getUint16(at + 2);
    }
  }
  return undefined;
}
