import type { Context, Next } from 'koa';
import compress from 'koa-compress';
import { HttpError } from './errors.ts';

/** Bodies smaller than this go out uncompressed: the header overhead outweighs the gain. */
const THRESHOLD = 1024;
/** The codings koa-compress can produce here, and none at all. */
const CODINGS = ['br', 'gzip', 'deflate', 'identity'];

/**
 * Compresses JSON and HTML for clients that accept it. koa-compress answers 500 ("Invalid value
 * undefined for header Content-Encoding") when the client accepts none of its codings
 * (`identity;q=0`, `*;q=0`): that is the client's choice, so it gets 406 and the usual JSON error.
 */
export function compression() {
  const compressed = compress({ threshold: THRESHOLD, filter: () => true });
  return function compressOrRefuse(ctx: Context, next: Next): Promise<void> {
    // Codings and their parameters are case-insensitive, but koa-compress's negotiator reads
    // `Q=0` as q=0 while Koa's does not: one spelling for both, or `IDENTITY;Q=0` is a 500 again.
    const accepted = ctx.req.headers['accept-encoding'];
    if (accepted !== undefined) ctx.req.headers['accept-encoding'] = accepted.toLowerCase();
    return compressed(ctx, async () => {
      await next();
      if (ctx.body === undefined || ctx.body === null || ctx.compress === false || ctx.status === 304) return;
      const size = ctx.response.length;
      if (size !== undefined && size < THRESHOLD) return;
      if (ctx.acceptsEncodings(CODINGS) === false) {
        throw new HttpError(406, `none of ${CODINGS.join(', ')} is acceptable to this client (Accept-Encoding)`);
      }
    });
  };
}
