import { ReadProblems } from './read-problems.ts';
import type { FileState } from './snapshot.ts';
import type { TileSource } from './tile-source.ts';
import type { WaitingFor } from './waiting.ts';

/** What the reloader last decided about a tileset's file; a file that differs is looked at again. */
export interface Decided {
  /** The file as last decided on (loaded, rejected, failed or put off). */
  file?: FileState;
  /** After a transient failure: the clock time (ms) of the next attempt, and how many failed in a row. */
  retry?: { at: number; attempts: number; reason: string };
}

/**
 * Where one tileset stands: being loaded, waiting (a writer's journal beside it, or a transient
 * error such as a lock or a permission), serving, or failed with a reason.
 */
export type TilesetEntry = Decided &
  (
    | {
        state: 'loading';
        id: string;
        path: string;
        /** How far its digest has got, once it has run for a while. */
        progress?: { percent: number; mbPerSecond: number; etaSeconds: number | undefined };
      }
    | {
        state: 'waiting';
        id: string;
        path: string;
        reason: string;
        since: Date;
        /** When the wait began on the reloader's clock, and whether it has lasted too long (/health: degraded). */
        waiting?: WaitingFor;
        /** What the operator can do about it, when known. */
        hint?: string;
      }
    | {
        state: 'ok';
        id: string;
        path: string;
        source: TileSource;
        loadedAt: Date;
        warnings: readonly string[];
        /** Tiles of the version that lie off the z/x/y grid, when the digest counted them. */
        outsideGrid?: number;
        /** A newer file that failed validation: the source above keeps serving. */
        rejected?: { reason: string; since: Date };
        /** The file the source was loaded from. */
        served?: FileState;
      }
    | { state: 'failed'; id: string; path: string; reason: string; since: Date }
  );

/** A name in the data folder that is not served, and why (shown by /health). */
export interface Skipped {
  name: string;
  reason: string;
}

/** A tileset's served version changed: added (no previous), replaced, or gone (no version). */
export interface VersionChange {
  id: string;
  version: string | undefined;
  previous: string | undefined;
}

export type ChangeListener = (change: VersionChange) => void;

/** A file was refused: `serving` is the version still served from the older file, if any. */
export interface Rejection {
  id: string;
  reason: string;
  serving: string | undefined;
}

/**
 * The loaded tilesets by id. Replacing or removing an entry closes the source it held, so a
 * handle never outlives its entry. Tile reads are synchronous (lookup and read happen in one
 * turn of the event loop), so no request can hold a handle across a swap.
 */
export class Registry {
  readonly #entries = new Map<string, TilesetEntry>();
  readonly #listeners = new Set<ChangeListener>();
  readonly #rejectionListeners = new Set<(rejection: Rejection) => void>();
  readonly #updateListeners = new Set<() => void>();
  #ready = false;
  /** Failed tile reads of serving tilesets (busy, broken). */
  readonly readProblems = new ReadProblems();
  #folderProblem: { reason: string; since: Date } | undefined;
  #skipped: readonly Skipped[] = [];

  /** Set while the data folder itself cannot be read: why, and since when. */
  get folderProblem(): { reason: string; since: Date } | undefined {
    return this.#folderProblem;
  }
  set folderProblem(problem: { reason: string; since: Date } | undefined) {
    this.#folderProblem = problem;
    this.#updated();
  }

  /** Names the last look at the folder did not serve. */
  get skipped(): readonly Skipped[] {
    return this.#skipped;
  }
  set skipped(skipped: readonly Skipped[]) {
    const same = JSON.stringify(skipped) === JSON.stringify(this.#skipped);
    this.#skipped = skipped;
    if (!same) this.#updated();
  }

  /** `serveThrough` puts each source taken into service behind something (the hot-tile cache). */
  constructor(private readonly serveThrough: (source: TileSource) => TileSource = (source) => source) {}

  get(id: string): TilesetEntry | undefined {
    return this.#entries.get(id);
  }

  /** The serving source of a tileset, or undefined when it is not serving. */
  source(id: string): TileSource | undefined {
    const entry = this.#entries.get(id);
    return entry?.state === 'ok' ? entry.source : undefined;
  }

  /** Every entry, sorted by id. */
  list(): TilesetEntry[] {
    return [...this.#entries.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * The served version of every tileset that is serving, by id. Null prototype: ids are data, and
   * `__proto__` or `constructor` is a tileset like any other.
   */
  versions(): Record<string, string> {
    const versions: Record<string, string> = Object.create(null);
    for (const entry of this.list()) if (entry.state === 'ok') versions[entry.id] = entry.source.version;
    return versions;
  }

  /** Calls `listener` after every change of a served version; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` whenever a file is refused (failed, or rejected while an older one serves). */
  onRejection(listener: (rejection: Rejection) => void): () => void {
    this.#rejectionListeners.add(listener);
    return () => this.#rejectionListeners.delete(listener);
  }

  /** Calls `listener` after every change of any entry (state, source, warnings) and readiness. */
  onUpdate(listener: () => void): () => void {
    this.#updateListeners.add(listener);
    return () => this.#updateListeners.delete(listener);
  }

  #updated(): void {
    for (const listener of this.#updateListeners) listener();
  }

  set(given: TilesetEntry): void {
    const entry: TilesetEntry = given.state === 'ok' ? { ...given, source: this.serveThrough(given.source) } : given;
    const previous = this.#entries.get(entry.id);
    this.#entries.set(entry.id, entry);
    if (previous?.state === 'ok' && (entry.state !== 'ok' || entry.source !== previous.source)) {
      previous.source.close();
      this.readProblems.forget(entry.id);
    }
    this.#announce(entry.id, previous, entry);
    const refusal = entry.state === 'failed' ? entry : entry.state === 'ok' ? entry.rejected : undefined;
    const before = previous?.state === 'failed' ? previous : previous?.state === 'ok' ? previous.rejected : undefined;
    if (refusal !== undefined && refusal !== before) {
      const serving = entry.state === 'ok' ? entry.source.version : undefined;
      for (const listener of this.#rejectionListeners) listener({ id: entry.id, reason: refusal.reason, serving });
    }
    this.#updated();
  }

  remove(id: string): void {
    const previous = this.#entries.get(id);
    this.#entries.delete(id);
    this.readProblems.forget(id);
    if (previous?.state === 'ok') previous.source.close();
    this.#announce(id, previous, undefined);
    this.#updated();
  }

  #announce(id: string, before: TilesetEntry | undefined, after: TilesetEntry | undefined): void {
    const previous = before?.state === 'ok' ? before.source.version : undefined;
    const version = after?.state === 'ok' ? after.source.version : undefined;
    if (previous === version) return;
    for (const listener of this.#listeners) listener({ id, version, previous });
  }

  /** True once the first scan has loaded and versioned every file it found. */
  get ready(): boolean {
    return this.#ready;
  }

  markReady(): void {
    this.#ready = true;
    this.#updated();
  }

  /** Closes every handle (shutdown). */
  closeAll(): void {
    for (const id of [...this.#entries.keys()]) this.remove(id);
  }
}
