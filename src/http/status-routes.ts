import type { Context } from 'koa';
import type { Registry, TilesetEntry } from '../source/registry.ts';
import { HttpError } from './errors.ts';
import { LOADING_RETRY_AFTER } from './lookup.ts';

/**
 * GET /health: liveness, always 200 while the process answers, with each tileset's state so an
 * operator sees which file failed and why. `status` is `degraded` when the data folder cannot be
 * read (`reason` says why), when any tileset failed, cannot be read (SQLite says the file is
 * broken), serves an older version because its newer file was rejected, or has been waiting
 * longer than WAITING_TOO_LONG_MS (`reason` names it; the entry has a `hint`). Names in the folder
 * that are not served are listed under `skipped`.
 */
export function healthHandler(registry: Registry, driver: string, extra?: () => Record<string, unknown>) {
  return function serveHealth(ctx: Context): void {
    const entries = registry.list();
    const folder = registry.folderProblem;
    const failed = entries.some(
      (e) => e.state === 'failed' || (e.state === 'ok' && (e.rejected || registry.readProblems.current(e.id)?.kind === 'broken')),
    );
    const stuck = entries.find((e) => e.state === 'waiting' && e.waiting?.tooLong);
    ctx.body = {
      status: folder || failed || stuck ? 'degraded' : registry.ready ? 'ok' : 'loading',
      ...(folder && { reason: folder.reason, since: folder.since.toISOString() }),
      ...(!folder && stuck?.state === 'waiting' && { reason: `tileset ${stuck.id} has been waiting too long: ${stuck.reason}` }),
      ready: registry.ready,
      driver,
      tilesets: Object.fromEntries(entries.map((e) => [e.id, describeEntry(registry, e)])),
      ...(registry.skipped.length > 0 && { skipped: registry.skipped }),
      ...extra?.(),
    };
  };
}

function describeEntry(registry: Registry, entry: TilesetEntry): Record<string, unknown> {
  switch (entry.state) {
    case 'loading':
      return { state: 'loading', ...(entry.progress && { progress: entry.progress }) };
    case 'waiting':
      return {
        state: 'waiting',
        reason: entry.reason,
        since: entry.since.toISOString(),
        ...(entry.waiting?.tooLong && { tooLong: true }),
        ...(entry.hint && { hint: entry.hint }),
      };
    case 'ok': {
      const problem = registry.readProblems.current(entry.id);
      return {
        state: 'ok',
        version: entry.source.version,
        format: entry.source.format,
        loadedAt: entry.loadedAt.toISOString(),
        ...(entry.warnings.length > 0 && { warnings: entry.warnings }),
        // Stored tiles no URL can ask for: in the version, never served (counted by the content digest).
        ...(entry.outsideGrid !== undefined && { outside_grid: entry.outsideGrid }),
        ...(entry.rejected && { rejected: { reason: entry.rejected.reason, since: entry.rejected.since.toISOString() } }),
        ...(entry.retry && { retrying: { reason: entry.retry.reason } }),
        ...(problem && {
          [problem.kind]: {
            reason: problem.reason,
            since: new Date(problem.since).toISOString(),
            last: new Date(problem.last).toISOString(),
            count: problem.count,
          },
        }),
      };
    }
    case 'failed':
      return { state: 'failed', reason: entry.reason, since: entry.since.toISOString() };
  }
}

/**
 * GET /ready: 200 once the first scan has versioned every file; 503 with Retry-After before,
 * saying why when the data folder cannot be read, and whenever `notReady` gives a reason (a
 * worker of `--workers N` that cannot serve what the others serve).
 */
export function readyHandler(registry: Registry, notReady?: () => string | undefined) {
  return function serveReady(ctx: Context): void {
    const reason = registry.ready ? notReady?.() : (registry.folderProblem?.reason ?? 'loading tilesets');
    if (reason !== undefined) throw new HttpError(503, reason, LOADING_RETRY_AFTER);
    ctx.body = { ready: true };
  };
}
