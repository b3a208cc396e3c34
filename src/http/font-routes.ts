import type { Context } from 'koa';
import { ByteCache } from '../fonts/byte-cache.ts';
import type { FontFace } from '../fonts/font-face.ts';
import type { FontStore } from '../fonts/font-store.ts';
import { buildGlyphRange, parseRange } from '../fonts/glyph-range.ts';
import { HttpError } from './errors.ts';
import { shortDigest } from './etag.ts';
import { GenerationGate } from './generation-gate.ts';
import { sendDiscovery, sendVersioned } from './respond.ts';
import { VERSION_HEADER } from './tile-answer.ts';

/** Fonts one fontstack may name, at most. */
export const MAX_FONTSTACK_FONTS = 16;
/** Default of --glyph-cache: MiB of generated glyph ranges kept. */
export const DEFAULT_GLYPH_CACHE_MIB = 32;

interface Range {
  body: Uint8Array;
  etag: string;
}

/** What the glyph route may be given besides its store. */
export interface GlyphRouteOptions {
  /** Makes one range (tests count the calls). */
  build?: typeof buildGlyphRange;
  /** Bounds generation, shared with the sprite route. */
  gate?: GenerationGate;
}

/** GET /fonts.json: the sorted font names (what Maputnik's font picker reads). */
export function fontListHandler(store: FontStore) {
  return async function serveFontList(ctx: Context): Promise<void> {
    await store.ready;
    ctx.set(VERSION_HEADER, store.version);
    sendDiscovery(ctx, store.names());
  };
}

/**
 * GET /fonts/{fontstack}/{start}-{end}.pbf and martin's GET /font/{fontstack}/{start}-{end}: one
 * range of SDF glyphs, each codepoint from the first font of the stack that has it. Generated
 * once per (fonts version, stack, range), kept in a byte-bounded cache; `?v=` the fonts version.
 */
export function glyphsHandler(
  store: FontStore,
  cacheBytes: number,
  { build = buildGlyphRange, gate = new GenerationGate() }: GlyphRouteOptions = {},
) {
  const cache = new ByteCache<Range>(cacheBytes);
  store.onChange(() => cache.clear());
  return async function serveGlyphs(ctx: Context): Promise<void> {
    const martin = ctx.path.startsWith('/font/');
    const rest = ctx.path.slice(martin ? '/font/'.length : '/fonts/'.length);
    const slash = rest.lastIndexOf('/');
    const file = rest.slice(slash + 1);
    const rangeText = martin ? file : file.endsWith('.pbf') ? file.slice(0, -'.pbf'.length) : undefined;
    if (slash <= 0 || rangeText === undefined) throw new HttpError(404, 'not found');
    const start = parseRange(rangeText);
    if (start === undefined) {
      throw new HttpError(400, 'a glyph range is {start}-{end} with start a multiple of 256, end = start + 255, end ≤ 65535');
    }
    const names = fontstackNames(rest.slice(0, slash));
    await store.ready;
    const faces = names.flatMap((name) => store.face(name) ?? []);
    if (faces.length === 0) throw new HttpError(404, 'no font of this fontstack is known here (see /fonts.json)');
    const version = store.version;
    // Keyed by the faces known here, not by the names asked for: made-up extra names must not
    // make the same glyphs again (nor fill the cache with copies of them).
    const stack = faces.map((face) => face.name).join(',');
    const range = await cache.get(`${version}\n${stack}\n${start}`, () => gate.run(() => makeRange(build, stack, faces, start)));
    sendVersioned(ctx, version, 'application/x-protobuf', range.etag, range.body);
  };
}

async function makeRange(
  build: typeof buildGlyphRange,
  stack: string,
  faces: readonly FontFace[],
  start: number,
): Promise<Range> {
  const body = await build(stack, faces, start);
  // Weak: the compression middleware may send other bytes for the same range.
  return { body, etag: `W/"g${shortDigest(body)}"` };
}

/** The font names of a fontstack path segment (comma-separated, percent-encoded): 400 when unusable. */
export function fontstackNames(segment: string): string[] {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'the fontstack is not valid percent-encoding');
  }
  const names = decoded.split(',').map((name) => name.trim());
  if (names.some((name) => name === '' || name.includes('/'))) {
    throw new HttpError(400, 'a fontstack is a comma-separated list of font names (see /fonts.json)');
  }
  if (names.length > MAX_FONTSTACK_FONTS) {
    throw new HttpError(400, `a fontstack names at most ${MAX_FONTSTACK_FONTS} fonts`);
  }
  return [...new Set(names)];
}
