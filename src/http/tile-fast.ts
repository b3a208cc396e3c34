import type { Context, Next } from 'koa';
import type { Registry } from '../source/registry.ts';
import type { Metrics } from './metrics.ts';
import { answerTile, type TileAnswer, type TileAnswers, writeAnswer } from './tile-answer.ts';
import { parseTilePath } from './tile-path.ts';

/**
 * The tile hot path: a thin adapter, first in the chain, around the one responder (tile-answer.ts),
 * without the router's regex walk or the general middleware. It writes the answer when the
 * responder gives one at once; everything else goes the general way, to the Koa route that calls
 * the same responder: requests that are not a plain tile URL (odd queries), errors (mapped to
 * answers in one place), failed reads (a file written in place is re-checked there), and tiles
 * a client takes only decompressed (decoding is asynchronous and budgeted).
 */
export function fastTileMiddleware(registry: Registry, answers: TileAnswers, metrics: Metrics) {
  return function fastTiles(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    const req = ctx.req;
    const url = req.url as string;
    if (!url.startsWith('/tiles/') || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const q = url.indexOf('?');
    const request = parseTilePath((q < 0 ? url : url.slice(0, q)).slice('/tiles/'.length));
    if (request?.kind !== 'tile') return next();
    const source = registry.source(request.id);
    const query = q < 0 ? '' : url.slice(q + 1);
    const h = query.startsWith('h=') ? plainParameter(query, 'h=') : undefined;
    const v = h === undefined ? plainVersion(query) : undefined;
    if (source === undefined || v === null || h === null) return next();
    let answer: TileAnswer;
    try {
      answer = answerTile(answers.of(source), {
        z: request.z,
        x: request.x,
        y: request.y,
        ext: request.ext,
        v,
        h,
        headers: req.headers,
      });
    } catch {
      return next();
    }
    if (answer.decode !== undefined) return next();
    ctx.status = answer.status; // for the request log
    ctx.respond = false;
    writeAnswer(ctx.res, answer);
    metrics.tileAnswered(answer.status, performance.now() - started);
    return Promise.resolve();
  };
}

/**
 * The `v` of a plain query (`v=…` alone, nothing to decode); undefined for an empty query; null
 * for anything else (several parameters, escapes, a fragment), which the general path parses
 * in full, as Koa does.
 */
export function plainVersion(query: string): string | undefined | null {
  return plainParameter(query, 'v=');
}

/** The value of a query that is `name=…` alone (`h=` on a content-addressed tile URL); as plainVersion. */
export function plainParameter(query: string, name: 'v=' | 'h='): string | undefined | null {
  if (query === '') return undefined;
  if (!query.startsWith(name) || /[&%+=;#]/.test(query.slice(2))) return null;
  return query.slice(2);
}
