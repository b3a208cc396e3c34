import type { FontStore } from '../fonts/font-store.ts';
import { glyphsUrl } from '../fonts/glyph-urls.ts';
import type { SpriteStore } from '../sprites/sprite-store.ts';
import { spriteUrl } from './sprite-routes.ts';
import type { StyleResources } from './style-labels.ts';

/** Icons generated styles put at labelled points, the first the sprite has. */
const POINT_ICONS = ['city', 'marker', 'circle', 'dot'];

/**
 * What styles served from `base` may use, once the fonts and sprites folders have been read:
 * the versioned glyphs URL and label font (a Regular face if there is one), the first sprite
 * sheet and a point icon from it, and the sprite URL of any sheets a user style names.
 */
export async function styleResources(base: string, fonts: FontStore, sprites: SpriteStore): Promise<StyleResources> {
  await Promise.all([fonts.ready, sprites.ready]);
  const names = fonts.names();
  const font = names.find((name) => name.endsWith(' Regular')) ?? names[0];
  const [sheetName] = sprites.names();
  const sheet = sheetName === undefined ? undefined : sprites.sheet(sheetName);
  const pointIcon = POINT_ICONS.find((id) => sheet?.icons.some((icon) => icon.id === id));
  return {
    ...(font !== undefined && { glyphs: glyphsUrl(base, fonts.version), font }),
    ...(sheet !== undefined && pointIcon !== undefined && { sprite: spriteUrl(base, [sheet.name], sheet.version), pointIcon }),
    spriteUrl: (list) => {
      const version = sprites.versionOf(list);
      return version === undefined ? undefined : spriteUrl(base, list, version);
    },
  };
}
