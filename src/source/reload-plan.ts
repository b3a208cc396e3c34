import type { Decided, TilesetEntry } from './registry.ts';
import { type Snapshot, sameFile } from './snapshot.ts';

/** What the registry says of one tileset, as far as the reload decision needs it. */
export type Served = Decided & { state: TilesetEntry['state'] };

/** Which tilesets a pass removes, and which files it looks at (settles, loads), each sorted. */
export interface ReloadPlan {
  removed: string[];
  candidates: string[];
}

/**
 * Which tilesets a pass removes and which files it loads (what then becomes of each is `decide`'s
 * call), a pure function of what is served (the registry: the one truth) and what
 * the folder holds now, as martin's `ReloadAdvisory::from_maps(prev, next)`:
 * - served but no longer in the folder: removed, whatever its state (also one still loading);
 * - in the folder and not served, or still loading: a candidate;
 * - its file differs from the one last decided on (path, inode, size, mtime): a candidate;
 * - a retry after a transient failure or a writer's journal is due (`now` ≥ its time): a candidate;
 * - `full` (SIGHUP): every file is a candidate.
 */
export function planReload(
  served: ReadonlyMap<string, Served>,
  folder: Snapshot,
  options: { full: boolean; now: number },
): ReloadPlan {
  const removed = [...served.keys()].filter((id) => !folder.has(id));
  const candidates: string[] = [];
  for (const [id, file] of folder) {
    const entry = served.get(id);
    if (
      options.full ||
      entry === undefined ||
      entry.state === 'loading' ||
      !sameFile(entry.file, file) ||
      (entry.retry !== undefined && options.now >= entry.retry.at)
    ) {
      candidates.push(id);
    }
  }
  return { removed: removed.sort(), candidates: candidates.sort() };
}
