import type { Logger } from '../log.ts';
import { messageOf } from '../storage/mbtiles.ts';
import type { SqliteDriver } from '../storage/sqlite.ts';
import { FileChangedError } from './errors.ts';
import { type LoadOptions, loadMbtilesSource } from './mbtiles-source.ts';
import type { Registry } from './registry.ts';
import { diffSnapshots, type FileState, lookAt, sameFile, takeSnapshot } from './snapshot.ts';
import type { VersionOptions } from './version.ts';

/** What one reload decision did to one tileset; each is a log line and a metrics count. */
export type ReloadOutcome = 'added' | 'swapped' | 'unchanged' | 'removed' | 'rejected' | 'failed';

export interface ReloaderDeps {
  dataDir: string;
  driver: SqliteDriver;
  registry: Registry;
  logger: Logger;
  versioning: VersionOptions;
  /** How long a file's size and mtime must hold still before it is taken. */
  settleMs: number;
  onOutcome?: (outcome: ReloadOutcome, id: string) => void;
  /** Digest pool, remembered versions, progress reports. */
  load?: LoadOptions;
}

/**
 * Keeps the registry in step with the data folder: discover (a snapshot) → pure diff → apply.
 * A changed file is taken only once complete (stable across two looks `settleMs` apart, no
 * `-journal`/`-wal` with content beside it, opens, validates); then versioned. Same version:
 * nothing changes. New version: swapped in atomically. A file that fails never replaces the one
 * being served, and is retried when it changes again. Passes never overlap; a request for one
 * while another runs is remembered and run after it.
 */
export class Reloader {
  /** The state of each file when last decided on (taken, unchanged, or rejected). */
  readonly #decided = new Map<string, FileState>();
  /** The state of the file each serving source was loaded from. */
  readonly #served = new Map<string, FileState>();
  readonly #reportedSkips = new Set<string>();
  #running: Promise<void> | undefined;
  readonly #rechecks = new Map<string, Promise<void>>();
  #pending: { full: boolean } | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(private readonly deps: ReloaderDeps) {}

  /** The first scan: every file is marked loading, then loaded; the registry is then ready. */
  async start(): Promise<void> {
    const { snapshot } = await takeSnapshot(this.deps.dataDir);
    for (const [id, state] of snapshot) this.deps.registry.set({ state: 'loading', id, path: state.path });
    await this.rescan('start', { settle: false });
    this.deps.registry.markReady();
    this.deps.logger.info({ tilesets: this.deps.registry.list().length, driver: this.deps.driver.name }, 'ready');
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
    const served = this.#served.get(id);
    if (this.#stopped || entry?.state !== 'ok' || served === undefined || entry.source.intact()) return;
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
    registry.set({ ...entry, source, loadedAt: new Date() }); // same version: no event
    this.#served.set(id, fileState);
    this.#decided.set(id, fileState);
    logger.info({ tileset: id, path: served.path, version: source.version }, 'tileset reopened after an in-place write');
    this.deps.onOutcome?.('unchanged', id);
  }

  /** Stops retries and further passes; waits for a pass under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#running;
  }

  async #pass(reason: string, full: boolean, settle: boolean): Promise<void> {
    const { snapshot: first, skipped } = await takeSnapshot(this.deps.dataDir);
    for (const skip of skipped) {
      if (this.#reportedSkips.has(skip.path)) continue;
      this.#reportedSkips.add(skip.path);
      this.deps.logger.warn(skip, 'file skipped');
    }
    const diff = diffSnapshots(this.#decided, first);
    for (const id of diff.removed) this.#remove(id);
    const candidates = full ? [...first.keys()] : [...diff.added, ...diff.changed];
    if (candidates.length === 0) return;
    this.deps.logger.debug({ reason, candidates }, 'rescan');
    let second = first;
    if (settle) {
      await new Promise((resolve) => setTimeout(resolve, this.deps.settleMs));
      second = (await takeSnapshot(this.deps.dataDir)).snapshot;
    }
    for (const id of candidates) {
      if (this.#stopped) return;
      const state = second.get(id);
      if (state === undefined) continue; // gone meanwhile: the next pass removes it
      if (!sameFile(first.get(id), state) || state.busy) {
        this.deps.logger.debug({ tileset: id, path: state.path, busy: state.busy }, 'file not complete yet');
        this.#retryLater();
        continue;
      }
      await this.#take(id, state);
    }
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
      const serving = servingNow();
      if (error instanceof FileChangedError) {
        logger.debug({ tileset: id, path: state.path, reason: error.message }, 'file not complete yet');
        this.#retryLater();
        return;
      }
      this.#decided.set(id, state);
      const reason = messageOf(error);
      if (serving?.source.intact()) {
        registry.set({ ...serving, rejected: { reason, since: new Date() } });
        logger.warn({ tileset: id, path: state.path, reason, serving: serving.source.version }, 'newer file rejected');
        return this.deps.onOutcome?.('rejected', id);
      }
      registry.set({ state: 'failed', id, path: state.path, reason, since: new Date() });
      logger.error({ tileset: id, path: state.path, reason }, 'tileset failed to load');
      return this.deps.onOutcome?.('failed', id);
    }
    this.#decided.set(id, state);
    const serving = servingNow();
    if (
      serving &&
      serving.source.version === source.version &&
      serving.source.intact() &&
      sameFile(this.#served.get(id), state)
    ) {
      source.close(); // a touch, or the same file again: nothing changes
      if (serving.rejected) registry.set({ ...serving, rejected: undefined });
      logger.debug({ tileset: id, path: state.path, version: source.version }, 'tileset unchanged');
      return this.deps.onOutcome?.('unchanged', id);
    }
    // Same version from another inode (rebuilt and renamed in) swaps quietly: no event, and the
    // old inode is released.
    registry.set({ state: 'ok', id, path: state.path, source, loadedAt: new Date(), warnings: source.warnings });
    this.#served.set(id, state);
    for (const warning of source.warnings) logger.warn({ tileset: id, path: state.path }, warning);
    const outcome = serving ? 'swapped' : 'added';
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
      serving ? 'tileset swapped' : 'tileset loaded',
    );
    this.deps.onOutcome?.(outcome, id);
  }

  #remove(id: string): void {
    const entry = this.deps.registry.get(id);
    this.#decided.delete(id);
    this.#served.delete(id);
    if (entry === undefined) return;
    this.deps.registry.remove(id);
    this.deps.logger.info(
      { tileset: id, path: entry.path, previous: entry.state === 'ok' ? entry.source.version : undefined },
      'tileset removed',
    );
    this.deps.onOutcome?.('removed', id);
  }

  /** A file was not complete: look again once it may be. */
  #retryLater(): void {
    if (this.#stopped || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.rescan('retry');
    }, this.deps.settleMs);
  }
}
