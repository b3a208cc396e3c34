import { relative } from 'node:path';
import { backoff, type Clock, sleepOn, systemClock } from '../clock.ts';
import { messageOf } from '../error-message.ts';
import type { Logger } from '../log.ts';
import type { SqliteDriver } from '../storage/sqlite.ts';
import { transientCause } from '../storage/sqlite-errors.ts';
import { FileChangedError } from './errors.ts';
import { type LoadOptions, loadMbtilesSource } from './mbtiles-source.ts';
import type { Registry, Skipped, TilesetEntry } from './registry.ts';
import { planReload, type Served } from './reload-plan.ts';
import { type FileState, lookAt, type Snapshot, sameFile, takeSnapshot } from './snapshot.ts';
import type { VersionOptions } from './version.ts';
import { WAITING_TOO_LONG_MS, type WaitingFor, waitingFor, waitingHint } from './waiting.ts';

/** What one reload decision did to one tileset; each is a log line and a metrics count. */
export type ReloadOutcome = 'added' | 'swapped' | 'unchanged' | 'removed' | 'rejected' | 'failed';

/** First wait after a transient failure (a lock, a permission, too many open files); doubles each time. */
export const RETRY_FIRST_MS = 1_000;
/** The longest wait between two attempts after transient failures. */
export const RETRY_MAX_MS = 60_000;

/** The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s, … up to 60 s. */
export function retryDelay(attempts: number): number {
  return backoff(attempts, RETRY_FIRST_MS, RETRY_MAX_MS);
}

export interface ReloaderDeps {
  dataDir: string;
  driver: SqliteDriver;
  registry: Registry;
  logger: Logger;
  versioning: VersionOptions;
  /** How long a file's size and mtime must hold still before it is taken. */
  settleMs: number;
  onOutcome?: (outcome: ReloadOutcome, id: string) => void;
  /** Time for the settle wait and the retries (tests move it on by hand). */
  clock?: Clock;
  /** Digest pool, remembered versions, progress reports. */
  load?: LoadOptions;
}

/**
 * Keeps the registry in step with the data folder: discover (a snapshot) → pure decision
 * (planReload, against the registry, the one truth) → apply.
 * A changed file is taken only once complete (stable across two looks `settleMs` apart, no
 * `-journal`/`-wal` with content beside it, opens, validates); then versioned. Same version:
 * nothing changes. New version: swapped in atomically. A file that fails never replaces the one
 * being served, and is retried when it changes again; a transient failure (a lock, a permission,
 * too many open files) is retried by itself, after 1 s, 2 s, 4 s, … 60 s. Passes never overlap;
 * a request for one while another runs is remembered and run after it.
 */
export class Reloader {
  /** Names already reported as skipped, so each is logged once while it stays so. */
  #reportedSkips = new Set<string>();
  #running: Promise<void> | undefined;
  readonly #rechecks = new Map<string, Promise<void>>();
  #pending: { full: boolean } | undefined;
  #wake: { at: number; handle: unknown } | undefined;
  #folderAttempts = 0;
  #stopped = false;
  readonly #passEnded = new Set<() => void>();
  readonly #clock: Clock;

  constructor(private readonly deps: ReloaderDeps) {
    this.#clock = deps.clock ?? systemClock;
  }

  /**
   * The first scan: every file is marked loading, then loaded; the registry is then ready. While
   * the data folder cannot be read, or a file is still loading (it changed while it was read, and
   * is looked at again once it holds still), it keeps trying and the registry stays unready.
   */
  async start(): Promise<void> {
    await this.rescan('start', { settle: false });
    const { registry } = this.deps;
    const unsettled = () => registry.folderProblem !== undefined || registry.list().some((e) => e.state === 'loading');
    while (unsettled() && !this.#stopped) {
      await new Promise<void>((resolve) => this.#passEnded.add(resolve));
    }
    if (this.#stopped) return;
    this.deps.registry.markReady();
    this.deps.logger.info({ tilesets: this.deps.registry.list().length, driver: this.deps.driver.name }, 'ready');
    if (this.deps.registry.list().length === 0) {
      // Ready with nothing to serve: most likely a mistyped --data, or files not yet copied in.
      const { dataDir } = this.deps;
      this.deps.logger.warn({ dataDir, skipped: this.deps.registry.skipped.length }, 'no tilesets in the data folder');
    }
  }

  /**
   * Looks at the folder again and applies what changed (`full`: re-checks every file, as SIGHUP
   * asks). Resolves when this request's pass is done.
   */
  rescan(reason: string, options: { full?: boolean; settle?: boolean } = {}): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      this.#pending = { full: (this.#pending?.full ?? false) || (options.full ?? false) };
      return this.#running.then(() => this.#running ?? undefined);
    }
    this.#running = this.#pass(reason, options.full ?? false, options.settle ?? true)
      .catch((error: Error) => this.deps.logger.error({ reason: error.message, dataDir: this.deps.dataDir }, 'rescan failed'))
      .finally(() => {
        this.#running = undefined;
        this.#scheduleRetries();
        for (const resolve of this.#passEnded) resolve();
        this.#passEnded.clear();
        const next = this.#pending;
        this.#pending = undefined;
        if (next) void this.rescan('queued', next);
      });
    return this.#running;
  }

  /**
   * A served file was written in place (its guard saw the mtime or size move) and requests are
   * waiting: look at it now instead of after the settle time. When it is still the same inode
   * and size and holds the same tiles (a `touch`, or identical bytes rewritten), a fresh handle
   * takes over quietly and those requests are served; anything else is left to the regular
   * pass, which waits for the file to hold still. Concurrent calls for one id share one look.
   */
  recheck(id: string): Promise<void> {
    let look = this.#rechecks.get(id);
    if (look === undefined) {
      look = this.#recheck(id)
        .catch((error: Error) => this.deps.logger.warn({ tileset: id, reason: error.message }, 'in-place change re-check failed'))
        .finally(() => this.#rechecks.delete(id));
      this.#rechecks.set(id, look);
    }
    return look;
  }

  async #recheck(id: string): Promise<void> {
    const { registry, logger } = this.deps;
    const entry = registry.get(id);
    if (this.#stopped || entry?.state !== 'ok' || entry.served === undefined || entry.source.intact()) return;
    const served = entry.served;
    // Under `metadata` versioning an unchanged version says nothing about the tiles: only the
    // regular pass, which waits for the file to hold still, may take it.
    if (this.deps.versioning.from === 'metadata') return;
    const now = await lookAt(served.path);
    if (now === undefined || now.busy || now.ino !== served.ino || now.size !== served.size) return;
    let source: Awaited<ReturnType<typeof loadMbtilesSource>>;
    try {
      source = await loadMbtilesSource(this.deps.driver, id, served.path, this.deps.versioning, this.deps.load);
    } catch {
      return; // being written: the regular pass takes it once it holds still
    }
    const fileState = source.fileState;
    if (registry.get(id) !== entry || source.version !== entry.source.version || fileState.size !== served.size) {
      source.close(); // another version, or a pass got there first: the regular path decides
      return;
    }
    registry.set({ ...entry, source, loadedAt: new Date(), served: fileState, file: fileState }); // same version: no event
    logger.info({ tileset: id, path: served.path, version: source.version }, 'tileset reopened after an in-place write');
    this.deps.onOutcome?.('unchanged', id);
  }

  /** Stops retries and further passes; waits for a pass under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#wake) this.#clock.clearTimeout(this.#wake.handle);
    this.#wake = undefined;
    for (const resolve of this.#passEnded) resolve();
    this.#passEnded.clear();
    await this.#running;
  }

  async #pass(reason: string, full: boolean, settle: boolean): Promise<void> {
    const { registry, logger } = this.deps;
    const first = await this.#look();
    if (first === undefined) return;
    const served = new Map<string, Served>(registry.list().map((entry) => [entry.id, entry]));
    const plan = planReload(served, first, { full, now: this.#clock.now() });
    for (const id of plan.removed) this.#remove(id);
    if (plan.candidates.length === 0) return;
    for (const id of plan.candidates) {
      const file = first.get(id) as FileState;
      if (registry.get(id) === undefined) registry.set({ state: 'loading', id, path: file.path });
    }
    logger.debug({ reason, candidates: plan.candidates }, 'rescan');
    let second = first;
    if (settle) {
      await sleepOn(this.#clock, this.deps.settleMs);
      second = (await this.#look()) ?? first;
    }
    for (const id of plan.candidates) {
      if (this.#stopped) return;
      const state = second.get(id);
      if (state === undefined) {
        this.#retryAt(this.#clock.now() + this.deps.settleMs); // gone meanwhile: the next pass removes it
        continue;
      }
      if (state.busy) {
        this.#waitForWriter(id, state);
        continue;
      }
      if (!sameFile(first.get(id), state)) {
        logger.debug({ tileset: id, path: state.path }, 'file not complete yet');
        this.#retryAt(this.#clock.now() + this.deps.settleMs);
        continue;
      }
      await this.#take(id, state);
    }
  }

  /** The folder now; undefined (reported, retried with backoff) while it cannot be read. */
  async #look(): Promise<Snapshot | undefined> {
    const { registry, logger, dataDir } = this.deps;
    let look: Awaited<ReturnType<typeof takeSnapshot>>;
    try {
      look = await takeSnapshot(dataDir);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // Shown by /health and /ready: the cause, never the path.
      const reason = `data folder cannot be read (${typeof code === 'string' ? code : messageOf(error)})`;
      if (registry.folderProblem === undefined) {
        logger.error({ dataDir, reason: messageOf(error) }, 'data folder cannot be read; retrying');
        registry.folderProblem = { reason, since: new Date() };
      }
      this.#folderAttempts += 1;
      this.#retryAt(this.#clock.now() + retryDelay(this.#folderAttempts));
      return undefined;
    }
    if (registry.folderProblem !== undefined) {
      logger.info({ dataDir }, 'data folder readable again');
      registry.folderProblem = undefined;
    }
    this.#folderAttempts = 0;
    this.#reportSkips(look.skipped);
    return look.snapshot;
  }

  #reportSkips(skipped: readonly { path: string; reason: string }[]): void {
    const now = new Set<string>();
    const shown: Skipped[] = [];
    for (const skip of skipped) {
      now.add(skip.path);
      shown.push({ name: relative(this.deps.dataDir, skip.path), reason: skip.reason });
      if (!this.#reportedSkips.has(skip.path)) this.deps.logger.warn(skip, 'file skipped');
    }
    this.#reportedSkips = now; // only what is still skipped: bounded by the folder
    this.deps.registry.skipped = shown;
  }

  /**
   * A `-journal` or `-wal` with content lies beside the file: a writer is at work, or crashed
   * and left a hot journal. Not served yet: shown as waiting (warned once), looked at again
   * every settle time, taken once it goes. A serving tileset keeps serving meanwhile.
   */
  #waitForWriter(id: string, state: FileState): void {
    const { registry, logger } = this.deps;
    const reason = state.busyWith === '-wal' ? 'a -wal file with content beside the file' : 'hot journal beside the file';
    const retry = { at: this.#clock.now() + this.deps.settleMs, attempts: 0, reason };
    const entry = registry.get(id);
    if (entry?.state === 'ok') {
      registry.set({ ...entry, retry });
      logger.debug({ tileset: id, path: state.path, reason }, 'file not complete yet');
      return;
    }
    const known = entry?.state === 'waiting' && entry.reason === reason;
    const waiting = waitingFor(entry?.state === 'waiting' ? entry.waiting : undefined, this.#clock.now());
    const hint = waitingHint(state.busyWith ?? '-journal');
    registry.set({
      state: 'waiting',
      id,
      path: state.path,
      reason,
      since: known ? entry.since : new Date(),
      file: state,
      retry,
      waiting,
      ...(hint && { hint }),
    });
    if (!known) logger.warn({ tileset: id, path: state.path, reason }, 'tileset waiting');
    this.#warnTooLong(entry, id, state.path, waiting, reason);
  }

  /** Validates and versions one complete file, then applies the decision. */
  async #take(id: string, state: FileState): Promise<void> {
    const { registry, logger } = this.deps;
    // What serves now, read after the load: a re-check may have swapped handles meanwhile.
    const servingNow = () => {
      const current = registry.get(id);
      return current?.state === 'ok' ? current : undefined;
    };
    const started = performance.now();
    let source: Awaited<ReturnType<typeof loadMbtilesSource>>;
    try {
      source = await loadMbtilesSource(this.deps.driver, id, state.path, this.deps.versioning, this.deps.load);
    } catch (error) {
      if (error instanceof FileChangedError) {
        logger.debug({ tileset: id, path: state.path, reason: error.message }, 'file not complete yet');
        this.#retryAt(this.#clock.now() + this.deps.settleMs);
        return;
      }
      const reason = messageOf(error);
      const transient = transientCause(error);
      if (transient !== undefined) return this.#putOff(id, state, transient, reason);
      // A served source keeps its place even when its file moved under it: its reads answer 503
      // (never its file's new bytes) until a good file is taken, and the tileset is not dropped.
      const serving = servingNow();
      if (serving !== undefined) {
        registry.set({ ...serving, file: state, retry: undefined, rejected: { reason, since: new Date() } });
        logger.warn({ tileset: id, path: state.path, reason, serving: serving.source.version }, 'newer file rejected');
        return this.deps.onOutcome?.('rejected', id);
      }
      registry.set({ state: 'failed', id, path: state.path, reason, since: new Date(), file: state });
      logger.error({ tileset: id, path: state.path, reason }, 'tileset failed to load');
      return this.deps.onOutcome?.('failed', id);
    }
    const serving = servingNow();
    if (serving && serving.source.version === source.version && serving.source.intact() && sameFile(serving.served, state)) {
      source.close(); // a touch, or the same file again: nothing changes
      if (serving.rejected || serving.retry || !sameFile(serving.file, state)) {
        registry.set({ ...serving, rejected: undefined, retry: undefined, file: state });
      }
      logger.debug({ tileset: id, path: state.path, version: source.version }, 'tileset unchanged');
      return this.deps.onOutcome?.('unchanged', id);
    }
    // Same version from another inode (rebuilt and renamed in) swaps quietly: no event, and the
    // old inode is released.
    registry.set({
      state: 'ok',
      id,
      path: state.path,
      source,
      loadedAt: new Date(),
      warnings: source.warnings,
      ...(source.digest.outsideGrid !== undefined && { outsideGrid: source.digest.outsideGrid }),
      served: state,
      file: state,
    });
    for (const warning of source.warnings) logger.warn({ tileset: id, path: state.path }, warning);
    // Same version from another file state (a touch, or the same tiles renamed in): a fresh
    // handle, but nothing changed for clients, so it is counted and logged as `unchanged`.
    const outcome = serving === undefined ? 'added' : serving.source.version === source.version ? 'unchanged' : 'swapped';
    logger.info(
      {
        tileset: id,
        path: state.path,
        version: source.version,
        previous: serving?.source.version,
        versionFrom: this.deps.versioning.from,
        format: source.format,
        tiles: source.digest.tiles,
        bytes: source.digest.bytes,
        remembered: source.digest.remembered,
        ms: Math.round(performance.now() - started),
      },
      { added: 'tileset loaded', swapped: 'tileset swapped', unchanged: 'tileset unchanged' }[outcome],
    );
    this.deps.onOutcome?.(outcome, id);
  }

  /**
   * A transient failure (a lock held by another process, a permission, too many open files, an
   * I/O error at open): no verdict on the file. Tried again after 1 s, 2 s, 4 s, … 60 s, with no
   * need for the file to change; a serving tileset keeps serving meanwhile. Logged once per run.
   */
  #putOff(id: string, state: FileState, cause: string, detail: string): void {
    const { registry, logger } = this.deps;
    const entry = registry.get(id) as TilesetEntry;
    const attempts = (entry.retry?.attempts ?? 0) + 1;
    // /health shows the cause only (no internal path); the log line has the whole message.
    const reason = `cannot be opened for now (${cause})`;
    const retry = { at: this.#clock.now() + retryDelay(attempts), attempts, reason };
    if (attempts === 1) logger.warn({ tileset: id, path: state.path, reason: detail }, 'file cannot be read for now; retrying');
    if (entry.state === 'ok') {
      registry.set({ ...entry, file: state, retry });
      return;
    }
    const waiting = waitingFor(entry.state === 'waiting' ? entry.waiting : undefined, this.#clock.now());
    const hint = waitingHint(cause);
    registry.set({
      state: 'waiting',
      id,
      path: state.path,
      reason,
      since: entry.state === 'waiting' ? entry.since : new Date(),
      file: state,
      retry,
      waiting,
      ...(hint && { hint }),
    });
    this.#warnTooLong(entry, id, state.path, waiting, reason);
  }

  /** One warning when a tileset's wait first lasts longer than WAITING_TOO_LONG_MS. */
  #warnTooLong(before: TilesetEntry | undefined, id: string, path: string, waiting: WaitingFor, reason: string): void {
    if (!waiting.tooLong || (before?.state === 'waiting' && before.waiting?.tooLong)) return;
    this.deps.logger.warn({ tileset: id, path, reason, waitingMs: WAITING_TOO_LONG_MS }, 'tileset waiting too long');
  }

  #remove(id: string): void {
    const entry = this.deps.registry.get(id);
    if (entry === undefined) return;
    this.deps.registry.remove(id);
    this.deps.logger.info(
      { tileset: id, path: entry.path, previous: entry.state === 'ok' ? entry.source.version : undefined },
      'tileset removed',
    );
    this.deps.onOutcome?.('removed', id);
  }

  /**
   * After a pass: wake for the earliest retry any entry waits for, no sooner than a settle time
   * from now (a retry the pass could not handle never spins). While the folder cannot be read,
   * its own backoff decides.
   */
  #scheduleRetries(): void {
    if (this.deps.registry.folderProblem !== undefined) return;
    const soonest = this.#clock.now() + this.deps.settleMs;
    for (const entry of this.deps.registry.list()) if (entry.retry) this.#retryAt(Math.max(entry.retry.at, soonest));
  }

  /** Makes sure a pass runs at clock time `at` (one timer, for the earliest time asked). */
  #retryAt(at: number): void {
    if (this.#stopped || (this.#wake !== undefined && this.#wake.at <= at)) return;
    if (this.#wake) this.#clock.clearTimeout(this.#wake.handle);
    const handle = this.#clock.setTimeout(
      () => {
        this.#wake = undefined;
        void this.rescan('retry');
      },
      Math.max(0, at - this.#clock.now()),
    );
    this.#wake = { at, handle };
  }
}
