import { SourceBrokenError, SourceBusyError, SourceUnavailableError } from '../source/errors.ts';
import type { Registry } from '../source/registry.ts';
import type { TileSource } from '../source/tile-source.ts';
import { TileDecodeError } from './decode-budget.ts';
import { HttpError } from './errors.ts';

/** Seconds to wait when a file is being replaced in place, or locked: reloads follow within a few seconds. */
export const REPLACING_RETRY_AFTER = 1;

/**
 * The one place a failed tile answer becomes an HttpError:
 * - being overwritten in place → 503, Retry-After (a reload follows);
 * - locked by another process (SQLITE_BUSY) → 503, Retry-After, at once; shown in /health and
 *   logged at warn, at most once a minute per tileset;
 * - broken (SQLITE_CORRUPT, IOERR, …) → 500; the tileset is degraded in /health, counted in
 *   /metrics and logged at error, at most once a minute per tileset.
 * - a stored tile that does not decompress for a client that refuses its coding → 406, which
 *   names the client's choice, not a server fault (clients that take the coding get the bytes);
 * The client gets a short message; the SQLite detail goes to the log and /health.
 * Anything else (an HttpError already) is returned as it is (the error middleware makes an
 * unknown error a logged 500).
 */
export function httpErrorFor(error: unknown, registry: Registry, source: TileSource): unknown {
  if (error instanceof TileDecodeError) {
    return new HttpError(
      406,
      `this tile is stored compressed (${error.encoding}) and cannot be decoded here: request it with Accept-Encoding: ${error.encoding}`,
      undefined,
      { tileset: source.id, reason: error.message },
    );
  }
  if (error instanceof SourceUnavailableError) {
    return new HttpError(503, `tileset ${source.id} is being replaced`, REPLACING_RETRY_AFTER);
  }
  const kind = error instanceof SourceBusyError ? 'busy' : error instanceof SourceBrokenError ? 'broken' : undefined;
  if (kind === undefined) return error;
  const reason = (error as Error).message;
  const failures = registry.readProblems.report(source.id, source, kind, reason);
  const log = failures > 0 ? { tileset: source.id, reason, failures } : undefined;
  return kind === 'busy'
    ? new HttpError(503, `tileset ${source.id} is locked by another process`, REPLACING_RETRY_AFTER, log)
    : new HttpError(500, `tileset ${source.id} cannot be read (see /health)`, undefined, log, 'error');
}
