import type { Context } from 'koa';
import { ByteCache } from '../fonts/byte-cache.ts';
import { buildSheet, type SpriteSheet } from '../sprites/sheet.ts';
import { SHEET_NAME, type SpriteStore } from '../sprites/sprite-store.ts';
import { HttpError } from './errors.ts';
import { shortDigest } from './etag.ts';
import { GenerationGate } from './generation-gate.ts';
import { sendVersioned } from './respond.ts';

/** Sheet names one sprite request may merge, at most. */
export const MAX_SPRITE_NAMES = 64;
/** Bytes of built sheets (PNG and index) kept. */
const SPRITE_CACHE_BYTES = 32 * 1024 * 1024;

/** `{names}[.sdf][@2x].{json|png}`. */
const SPRITE_FILE = /^(.+?)(\.sdf)?(@2x)?\.(json|png)$/;

interface Built extends SpriteSheet {
  etag: string;
}

/** The sprite URL a style carries for sheets `names` (MapLibre appends `[@2x].json|png`, keeping the query). */
export function spriteUrl(base: string, names: readonly string[], version: string): string {
  return `${base}/sprites/${names.join(',')}?v=${version}`;
}

/**
 * GET /sprites/{names}[.sdf][@2x].{json,png}: the sheets `names` (comma-separated, merged in that
 * order; an icon id present in two comes from the first) as one sprite, at 1x or 2x, plain or as
 * signed distance fields. `?v=` the version of those sheets.
 */
export function spritesHandler(store: SpriteStore, gate = new GenerationGate()) {
  const cache = new ByteCache<Built>(SPRITE_CACHE_BYTES);
  store.onChange(() => cache.clear());
  return async function serveSprite(ctx: Context): Promise<void> {
    const match = SPRITE_FILE.exec(ctx.path.slice('/sprites/'.length));
    if (match === null) throw new HttpError(404, 'not found');
    const [, list = '', sdf, retina, kind] = match;
    const names = list.split(',');
    if (names.length > MAX_SPRITE_NAMES) throw new HttpError(400, `a sprite request names at most ${MAX_SPRITE_NAMES} sheets`);
    if (!names.every((name) => SHEET_NAME.test(name))) {
      throw new HttpError(400, 'sprite sheet names are comma-separated folder names ([A-Za-z0-9._-])');
    }
    await store.ready;
    const version = store.versionOf(names);
    if (version === undefined) throw new HttpError(404, 'no such sprite sheet here');
    const ratio = retina ? 2 : 1;
    const built = await cache.get(`${version}\n${names.join(',')}\n${ratio}\n${sdf !== undefined}`, () =>
      gate.run(async () => {
        const sheet = await buildSheet(
          names.flatMap((name) => store.sheet(name)?.icons ?? []),
          ratio,
          sdf !== undefined,
        );
        return { ...sheet, etag: shortDigest(sheet.body, sheet.index) };
      }),
    );
    // Weak: the compression middleware may send other bytes for the index.
    if (kind === 'json') {
      sendVersioned(ctx, version, 'application/json; charset=utf-8', `W/"j${built.etag}"`, built.index);
    } else {
      ctx.compress = false; // already deflated
      sendVersioned(ctx, version, 'image/png', `"p${built.etag}"`, built.body);
    }
  };
}
