import { MbtilesError } from '../storage/mbtiles.ts';

/**
 * The file changed while it was being opened or digested: not a verdict on its content, so a
 * reload tries again once it is stable instead of rejecting it.
 */
export class FileChangedError extends MbtilesError {
  override name = 'FileChangedError';
}

/**
 * A serving tileset cannot answer right now: its file is being overwritten in place, or SQLite
 * failed to read it. Mapped to 503 with Retry-After; a reload follows.
 */
export class SourceUnavailableError extends Error {
  override name = 'SourceUnavailableError';
}
