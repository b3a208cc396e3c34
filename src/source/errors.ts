import { messageOf } from '../error-message.ts';
import { MbtilesError } from '../storage/mbtiles.ts';
import { classifySqliteError } from '../storage/sqlite-errors.ts';
import type { TileSource } from './tile-source.ts';

/**
 * The file changed while it was being opened or digested: not a verdict on its content, so a
 * reload tries again once it is stable instead of rejecting it.
 */
export class FileChangedError extends MbtilesError {
  override name = 'FileChangedError';
}

/**
 * A serving tileset cannot answer right now: its file is being overwritten in place. Mapped to
 * 503 with Retry-After; a reload follows.
 */
export class SourceUnavailableError extends Error {
  override name = 'SourceUnavailableError';
}

/** Bytes read from a file being overwritten in place are no tile of either version: throws unless `source` is intact. */
export function assertIntact(source: Pick<TileSource, 'id' | 'intact'>): void {
  if (!source.intact()) throw new SourceUnavailableError(`tileset ${source.id} is being overwritten in place`);
}

/**
 * Another process holds a lock on the file (SQLITE_BUSY): 503 with Retry-After at once, never a
 * wait on the event loop.
 */
export class SourceBusyError extends Error {
  override name = 'SourceBusyError';
}

/**
 * SQLite cannot read the served file (SQLITE_CORRUPT, SQLITE_IOERR, …): a fault of the file, not
 * a replacement under way, so 500 until a new file replaces it.
 */
export class SourceBrokenError extends Error {
  override name = 'SourceBrokenError';
}

/** The error a failed tile read of an intact file stands for. */
export function readFailure(id: string, error: unknown): SourceBusyError | SourceBrokenError {
  return classifySqliteError(error) === 'busy'
    ? new SourceBusyError(`tileset ${id} is locked by another process: ${messageOf(error)}`, { cause: error })
    : new SourceBrokenError(`tileset ${id} cannot be read: ${messageOf(error)}`, { cause: error });
}
