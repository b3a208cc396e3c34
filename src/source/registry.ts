import type { TileSource } from './tile-source.ts';

/** Where one tileset stands: being loaded, serving, or failed with a reason. */
export type TilesetEntry =
  | { state: 'loading'; id: string; path: string }
  | { state: 'ok'; id: string; path: string; source: TileSource; loadedAt: Date; warnings: readonly string[] }
  | { state: 'failed'; id: string; path: string; reason: string; since: Date };

/**
 * The loaded tilesets by id. Replacing or removing an entry closes the source it held, so a
 * handle never outlives its entry. Tile reads are synchronous (lookup and read happen in one
 * turn of the event loop), so no request can hold a handle across a swap.
 */
export class Registry {
  readonly #entries = new Map<string, TilesetEntry>();
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

  set(entry: TilesetEntry): void {
    const previous = this.#entries.get(entry.id);
    this.#entries.set(entry.id, entry);
    if (previous?.state === 'ok' && (entry.state !== 'ok' || entry.source !== previous.source)) previous.source.close();
  }

  remove(id: string): void {
    const previous = this.#entries.get(id);
    this.#entries.delete(id);
    if (previous?.state === 'ok') previous.source.close();
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
