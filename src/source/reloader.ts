import { relative } from 'node:path';
import { type Clock, sleepOn, systemClock } from '../clock.ts';
import { messageOf } from '../error-message.ts';
import type { Logger } from '../log.ts';
import type { SqliteDriver } from '../storage/sqlite.ts';
import { transientCause } from '../storage/sqlite-errors.ts';
import { FileChangedError } from './errors.ts';
import { type LoadOptions, loadMbtilesSource } from './mbtiles-source.ts';
import type { Registry, Skipped } from './registry.ts';
import { type Decision, decide, decideRemoval, type LoadResult, type ReloadOutcome, retryDelay } from './reload-decision.ts';
import { planReload, type Served } from './reload-plan.ts';
import { type FileState, lookAt, type Snapshot, sameFile, takeSnapshot } from './snapshot.ts';
import type { VersionOptions } from './version.ts';

// Kept importable from here, where the metrics and the tests have always found them.
export { RETRY_MAX_MS, type ReloadOutcome, retryDelay } from './reload-decision.ts';

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
 * Keeps the registry in step with the data folder: trigger → snapshot → plan (planReload, pure,
 * against the registry, the one truth) → settle and load → decide (pure, per file) → apply.
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
    for (const id of plan.candidates) {
      const file = first.get(id) as FileState;
      if (registry.get(id) === undefined) registry.set({ state: 'loading', id, path: file.path });
    }
    if (plan.candidates.length > 0) {
      logger.debug({ reason, candidates: plan.candidates }, 'rescan');
      let second = first;
      if (settle) {
        await sleepOn(this.#clock, this.deps.settleMs);
        second = (await this.#look()) ?? first;
      }
      for (const id of plan.candidates) {
        if (this.#stopped) return;
        await this.#take(id, first.get(id), second.get(id));
      }
    }
    // Removals last, as the workers apply them (planSync): a rename (one id out, another in)
    // serves the new id before the old one goes, never neither.
    for (const id of plan.removed) {
      const entry = registry.get(id);
      if (entry !== undefined) this.#apply(id, decideRemoval(entry));
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
   * Settles, loads and versions one candidate, then applies what `decide` makes of it. The only
   * I/O here gathers the decision's inputs: the second look, the load, and (read after the load,
   * as a re-check may have swapped handles meanwhile) what serves now and whether it is intact.
   */
  async #take(id: string, first: FileState | undefined, second: FileState | undefined): Promise<void> {
    const result = await this.#load(id, first, second);
    const entry = this.deps.registry.get(id);
    const intact = entry?.state === 'ok' && entry.source.intact();
    const { versioning, settleMs } = this.deps;
    const context = { now: this.#clock.now(), date: new Date(), settleMs, versionFrom: versioning.from };
    const decision = decide(id, { entry, intact }, result, context);
    if (decision.discard && result.kind === 'loaded') result.source.close();
    this.#apply(id, decision);
  }

  /** What the file turned out to be: gone, busy, still moving, refused for now or for good, or loaded. */
  async #load(id: string, first: FileState | undefined, file: FileState | undefined): Promise<LoadResult> {
    if (file === undefined) return { kind: 'gone' };
    if (file.busy) return { kind: 'busy', file };
    if (!sameFile(first, file)) return { kind: 'unsettled', file };
    const started = performance.now();
    try {
      const { driver, versioning, load } = this.deps;
      const source = await loadMbtilesSource(driver, id, file.path, versioning, load);
      return { kind: 'loaded', file, source, ms: Math.round(performance.now() - started) };
    } catch (error) {
      if (error instanceof FileChangedError) return { kind: 'unsettled', file, reason: error.message };
      const reason = messageOf(error);
      const cause = transientCause(error);
      return cause === undefined ? { kind: 'invalid', file, reason } : { kind: 'transient', file, cause, detail: reason };
    }
  }

  /** Carries out a decision: change the registry, log, count, wake. */
  #apply(id: string, decision: Decision): void {
    const { registry, logger } = this.deps;
    if (decision.set) registry.set(decision.set);
    if (decision.remove) registry.remove(id);
    for (const line of decision.logs) logger[line.level](line.fields, line.message);
    if (decision.outcome) this.deps.onOutcome?.(decision.outcome, id);
    if (decision.retryAt !== undefined) this.#retryAt(decision.retryAt);
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
