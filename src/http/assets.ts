import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Context } from 'koa';
import { requestedVersion } from './cache-policy.ts';
import { HttpError } from './errors.ts';
import { setCacheSubject } from './middleware.ts';
import { notModified } from './respond.ts';

const gzipAsync = promisify(gzip);

/** A static file as served: its bytes, once gzipped, and the digest its URLs carry as `v`. */
interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
  digest: string;
}

const JS = 'text/javascript; charset=utf-8';
/** maplibre-gl's `dist/`, wherever npm put the package (never a CDN). */
const maplibreDist = () => dirname(createRequire(import.meta.url).resolve('maplibre-gl'));

/** The static files by route. `static/` sits beside `src/` and `dist/`, so both runtimes find it. */
const FILES: Record<string, { path: () => string; type: string }> = {
  '/vendor/maplibre-gl/maplibre-gl.js': { path: () => join(maplibreDist(), 'maplibre-gl.js'), type: JS },
  '/vendor/maplibre-gl/maplibre-gl.css': { path: () => join(maplibreDist(), 'maplibre-gl.css'), type: 'text/css; charset=utf-8' },
  '/client/tilestamp.js': { path: () => fileURLToPath(new URL('../../static/tilestamp.js', import.meta.url)), type: JS },
  // Browsers ask for it on every page; without it each viewer load is two 404s.
  '/favicon.ico': { path: () => fileURLToPath(new URL('../../static/favicon.ico', import.meta.url)), type: 'image/x-icon' },
};

export const ASSET_ROUTES = Object.keys(FILES);

/**
 * The static files pages need, read and gzipped once on first use. Pages link them as
 * `route?v=<digest>`: that exact URL is immutable, any other revalidates against the ETag.
 */
export class Assets {
  readonly #loaded = new Map<string, Promise<Asset>>();

  #load(route: string): Promise<Asset> {
    let asset = this.#loaded.get(route);
    if (asset === undefined) {
      const file = Object.hasOwn(FILES, route) ? FILES[route] : undefined;
      if (file === undefined) return Promise.reject(new HttpError(404, 'not found'));
      asset = (async () => {
        const body = await readFile(file.path());
        const digest = createHash('sha256').update(body).digest('hex').slice(0, 16);
        return { type: file.type, body, gzipped: await gzipAsync(body, { level: 9 }), digest };
      })();
      asset.catch(() => this.#loaded.delete(route)); // a failed read is retried next time
      this.#loaded.set(route, asset);
    }
    return asset;
  }

  /** The versioned URL path of an asset, for pages to link. */
  async url(route: string): Promise<string> {
    return `${route}?v=${(await this.#load(route)).digest}`;
  }

  handler() {
    return async (ctx: Context): Promise<void> => {
      let asset: Asset;
      try {
        asset = await this.#load(ctx.path);
      } catch (error) {
        if (error instanceof HttpError) throw error;
        // The reason names a file-system path: the log gets it, the client a short message.
        throw new HttpError(404, `${ctx.path} is not installed here`, undefined, {
          route: ctx.path,
          reason: (error as Error).message,
        });
      }
      setCacheSubject(ctx, { kind: 'asset', requested: requestedVersion(ctx.query.v), current: asset.digest });
      ctx.compress = false; // sent gzipped as stored, not recompressed per request
      ctx.vary('Accept-Encoding');
      const gzipped = ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
      ctx.type = asset.type;
      if (notModified(ctx, gzipped ? `"${asset.digest}-gzip"` : `"${asset.digest}"`)) return;
      if (gzipped) ctx.set('Content-Encoding', 'gzip');
      ctx.body = gzipped ? asset.gzipped : asset.body;
    };
  }
}
