import type { Context } from 'koa';
import type { Config } from '../config.ts';
import { SourceUnavailableError } from '../source/errors.ts';
import type { Registry } from '../source/registry.ts';
import type { TileSource } from '../source/tile-source.ts';
import { requestedVersion } from './cache-policy.ts';
import { DEFAULT_DECODE_MEMORY, DecodeBudget, decodeWithinBudget } from './decode-budget.ts';
import { HttpError } from './errors.ts';
import { requestBase, requireSource } from './lookup.ts';
import { sendDiscovery } from './respond.ts';
import { httpErrorFor } from './source-errors.ts';
import { answerTile, type TileAnswer, type TileAnswers, type TileAsk, VERSION_HEADER, writeAnswer } from './tile-answer.ts';
import { parseTilePath } from './tile-path.ts';
import { buildTileJson } from './tilejson.ts';

/**
 * Looks again, now, at a tileset whose file was written in place (see Reloader.recheck);
 * resolves when a fresh handle serves it or when the look found the file still changing.
 */
export type Recheck = (id: string) => Promise<void>;

/** How long a request waits for that look before it answers 503. */
const RECHECK_WAIT_MS = 2_000;

/**
 * GET /tiles/{id}.json and GET /tiles/{id}/{z}/{x}/{y}.{ext}: parse, look up, answer. A tile is
 * answered by the one responder (tile-answer.ts), as on the hot path; what only this route does
 * is what the hot path hands over: errors (thrown, mapped by source-errors.ts and answered by the
 * error middleware), the re-check of a file written in place, and decompression for clients that
 * refuse the stored coding.
 */
export function tilesHandler(registry: Registry, answers: TileAnswers, config: Config, recheck?: Recheck) {
  const budget = new DecodeBudget(config.decodeMemory ?? DEFAULT_DECODE_MEMORY);
  return async function serveTiles(ctx: Context): Promise<void> {
    // The raw path, not the router's decoded params: `a%2Fb` must not become the id `a/b`.
    const request = parseTilePath(ctx.path.slice('/tiles/'.length));
    if (request === undefined) throw new HttpError(404, 'not found');
    const source = requireSource(registry, request.id);
    ctx.set(VERSION_HEADER, source.version);
    if (request.kind === 'tilejson') return sendDiscovery(ctx, buildTileJson(requestBase(ctx, config), source));
    const ask: TileAsk = {
      z: request.z,
      x: request.x,
      y: request.y,
      ext: request.ext,
      v: requestedVersion(ctx.query.v),
      h: requestedVersion(ctx.query.h),
      headers: ctx.req.headers,
    };
    let serving = source;
    try {
      let answer: TileAnswer;
      try {
        answer = answerTile(answers.of(serving), ask);
      } catch (error) {
        // Written in place: a touch (or the same bytes) is served from a fresh handle after one
        // quick look; a real rewrite answers 503 until the regular reload has the new file.
        if (!(error instanceof SourceUnavailableError)) throw error;
        serving = await afterRecheck(registry, serving, recheck, error);
        answer = answerTile(answers.of(serving), ask);
      }
      const body =
        answer.decode === undefined
          ? answer.body
          : await decodeWithinBudget(budget, ctx.res, answer.body as Buffer, answer.decode);
      ctx.status = answer.status; // for the metrics and the request log
      ctx.respond = false;
      writeAnswer(ctx.res, answer, body);
    } catch (error) {
      throw httpErrorFor(error, registry, serving);
    }
  };
}

/** The source that serves `stale`'s tileset after a re-check; throws `error` when none does yet. */
async function afterRecheck(
  registry: Registry,
  stale: TileSource,
  recheck: Recheck | undefined,
  error: SourceUnavailableError,
): Promise<TileSource> {
  if (recheck !== undefined) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, RECHECK_WAIT_MS);
    });
    await Promise.race([recheck(stale.id), waited]);
    clearTimeout(timer);
  }
  const fresh = registry.source(stale.id);
  if (fresh === undefined || fresh === stale || fresh.version !== stale.version) throw error;
  return fresh;
}
