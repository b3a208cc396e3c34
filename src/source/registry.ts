import type { TileSource } from './tile-source.ts';

/** Where one tileset stands: being loaded, serving, or failed with a reason. */
export type TilesetEntry =
  | {
      state: 'loading';
      id: string;
      path: string;
      /** How far its digest has got, once it has run for a while. */
      progress?: { percent: number; mbPerSecond: number; etaSeconds: number | undefined };
    }
  | {
      state: 'ok';
      id: string;
      path: string;
      source: TileSource;
      loadedAt: Date;
      warnings: readonly string[];
      /** A newer file that failed validation: the source above keeps serving. */
      rejected?: { reason: string; since: Date };
    }
  | { state: 'failed'; id: string; path: string; reason: string; since: Date };

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
  #ready = false;

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

  /** The served version of every tileset that is serving, by id. */
  versions(): Record<string, string> {
    const versions: Record<string, string> = {};
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

  set(entry: TilesetEntry): void {
    const previous = this.#entries.get(entry.id);
    this.#entries.set(entry.id, entry);
    if (previous?.state === 'ok' && (entry.state !== 'ok' || entry.source !== previous.source)) previous.source.close();
    this.#announce(entry.id, previous, entry);
    const refusal = entry.state === 'failed' ? entry : entry.state === 'ok' ? entry.rejected : undefined;
    const before = previous?.state === 'failed' ? previous : previous?.state === 'ok' ? previous.rejected : undefined;
    if (refusal !== undefined && refusal !== before) {
      const serving = entry.state === 'ok' ? entry.source.version : undefined;
      for (const listener of this.#rejectionListeners) listener({ id: entry.id, reason: refusal.reason, serving });
    }
  }

  remove(id: string): void {
    const previous = this.#entries.get(id);
    this.#entries.delete(id);
    if (previous?.state === 'ok') previous.source.close();
    this.#announce(id, previous, undefined);
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
  }

  /** Closes every handle (shutdown). */
  closeAll(): void {
    for (const id of [...this.#entries.keys()]) this.remove(id);
  }
}
