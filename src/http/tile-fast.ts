import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from '../source/registry.ts';
import { answerTile, type TileAnswer, type TileAnswers, writeAnswer } from './tile-answer.ts';
import { parseTilePath } from './tile-path.ts';

/** Told of every tile the hot path answered: for the request metrics and the debug log. */
export type Answered = (req: IncomingMessage, status: number, ms: number) => void;

/**
 * The tile hot path: a thin node:http adapter around the one responder (tile-answer.ts), tried
 * before Koa, so a plain tile request costs no Koa context, no middleware chain and no router.
 * It answers when the responder gives an answer at once, and returns false for everything else,
 * which goes to Koa and its tile route, which calls the same responder: requests that are not a
 * plain tile URL (odd queries), errors (mapped to answers in one place), failed reads (a file
 * written in place is re-checked there), and tiles a client takes only decompressed (decoding
 * is asynchronous and budgeted).
 */
export function fastTileHandler(registry: Registry, answers: TileAnswers, answered: Answered) {
  return function fastTiles(req: IncomingMessage, res: ServerResponse): boolean {
    const started = performance.now();
    const url = req.url as string;
    if (!url.startsWith('/tiles/') || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    const q = url.indexOf('?');
    const request = parseTilePath((q < 0 ? url : url.slice(0, q)).slice('/tiles/'.length));
    if (request?.kind !== 'tile') return false;
    const source = registry.source(request.id);
    const query = q < 0 ? '' : url.slice(q + 1);
    const h = query.startsWith('h=') ? plainParameter(query, 'h=') : undefined;
    const v = h === undefined ? plainVersion(query) : undefined;
    if (source === undefined || v === null || h === null) return false;
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
      return false;
    }
    if (answer.decode !== undefined) return false;
    writeAnswer(res, answer);
    answered(req, answer.status, performance.now() - started);
    return true;
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
