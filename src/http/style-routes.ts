import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from 'koa';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Registry } from '../source/registry.ts';
import { HttpError } from './errors.ts';
import { requestBase, requireSource } from './lookup.ts';
import { sendDiscovery } from './respond.ts';
import { buildStyle, rewriteStyle } from './style.ts';
import { VERSION_HEADER } from './tile-routes.ts';

/** A user style's name: one plain segment, never hidden, so it cannot leave `data/styles/`. */
const STYLE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
/** Larger user styles are refused rather than read into memory per request. */
export const MAX_STYLE_BYTES = 4 * 1024 * 1024;

/**
 * GET /styles/{id}.json: the user style `data/styles/{id}.json` when there is one, its
 * `mbtiles://` sources pointed at this server; else a style generated for the tileset `id`.
 * User styles are read per request (small; an edit shows at once, no watcher needed).
 */
export function stylesHandler(registry: Registry, config: Config, logger: Logger) {
  return async function serveStyle(ctx: Context): Promise<void> {
    const rest = ctx.path.slice('/styles/'.length);
    if (!rest.endsWith('.json') || rest.split('/').some((s) => s === '')) throw new HttpError(404, 'not found');
    const id = rest.slice(0, -'.json'.length);
    const base = requestBase(ctx, config);
    const user = STYLE_NAME.test(id) ? await readUserStyle(join(config.dataDir, 'styles', `${id}.json`), logger) : undefined;
    if (user !== undefined) {
      const { style, unresolved } = rewriteStyle(user, base, (tileset) => registry.source(tileset));
      // Encoded: a user style may name anything after mbtiles://, a header holds no raw newline.
      if (unresolved.length > 0) ctx.set('X-Tilestamp-Unresolved', unresolved.map(encodeURIComponent).join(', '));
      return sendDiscovery(ctx, style);
    }
    const source = requireSource(registry, id);
    ctx.set(VERSION_HEADER, source.version);
    sendDiscovery(ctx, buildStyle(base, source));
  };
}

/** The parsed user style at `path`; undefined when there is none; 404 with the reason when it is unusable. */
async function readUserStyle(path: string, logger: Logger): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    if ((await stat(path)).size > MAX_STYLE_BYTES) throw new Error(`larger than ${MAX_STYLE_BYTES} bytes`);
    text = (await readFile(path)).toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw unusable(path, (error as Error).message, logger);
  }
  let style: unknown;
  try {
    style = JSON.parse(text);
  } catch (error) {
    throw unusable(path, `not JSON: ${(error as Error).message}`, logger);
  }
  if (typeof style !== 'object' || style === null || Array.isArray(style)) throw unusable(path, 'not a JSON object', logger);
  return style as Record<string, unknown>;
}

/** A broken user style is the operator's to fix: a warning in the log, and 404 naming the reason. */
function unusable(path: string, reason: string, logger: Logger): HttpError {
  logger.warn({ path, reason }, 'user style cannot be served');
  return new HttpError(404, `style ${path.split('/').pop()} cannot be served: ${reason}`);
}
