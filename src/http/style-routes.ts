import { join } from 'node:path';
import type { Context } from 'koa';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Registry } from '../source/registry.ts';
import { HttpError } from './errors.ts';
import { requestBase, requireSource } from './lookup.ts';
import { sendDiscovery } from './respond.ts';
import { buildStyle, rewriteStyle } from './style.ts';
import type { StyleResources } from './style-labels.ts';
import { VERSION_HEADER } from './tile-answer.ts';
import { UserStyles } from './user-styles.ts';

/** A user style's name: one plain segment, never hidden, so it cannot leave `data/styles/`. */
const STYLE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * GET /styles/{id}.json: the user style `data/styles/{id}.json` when there is one, its
 * `mbtiles://` sources pointed at this server; else a style generated for the tileset `id`.
 * User styles are read once per file identity (an edit shows at the next request, no watcher needed).
 * With `resources`, styles use this server's versioned glyphs and sprites (generated ones label
 * what they can).
 */
export function stylesHandler(
  registry: Registry,
  config: Config,
  logger: Logger,
  resources: (base: string) => Promise<StyleResources> = async () => ({}),
) {
  const userStyles = new UserStyles(logger);
  return async function serveStyle(ctx: Context): Promise<void> {
    const rest = ctx.path.slice('/styles/'.length);
    if (!rest.endsWith('.json') || rest.split('/').some((s) => s === '')) throw new HttpError(404, 'not found');
    const id = rest.slice(0, -'.json'.length);
    const base = requestBase(ctx, config);
    const extras = await resources(base);
    const user = STYLE_NAME.test(id) ? await userStyles.read(join(config.dataDir, 'styles', `${id}.json`)) : undefined;
    if (user !== undefined) {
      const { style, unresolved } = rewriteStyle(user, base, (tileset) => registry.source(tileset), extras);
      // Encoded: a user style may name anything after mbtiles://, a header holds no raw newline.
      if (unresolved.length > 0) ctx.set('X-Tilestamp-Unresolved', unresolved.map(encodeURIComponent).join(', '));
      return sendDiscovery(ctx, style);
    }
    const source = requireSource(registry, id);
    ctx.set(VERSION_HEADER, source.version);
    sendDiscovery(ctx, buildStyle(base, source, extras));
  };
}
