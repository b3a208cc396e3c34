import { type FSWatcher, watch } from 'chokidar';
import type { Logger } from '../log.ts';

export interface WatchOptions {
  /** inotify (through chokidar) on the folder and its subfolders. */
  events: boolean;
  /** A stat poll every this many ms (0: none), for bind mounts and network file systems. */
  pollMs: number;
  /** Bursts of events within this many ms make one rescan. */
  debounceMs: number;
}

/** Tileset files and what a writer leaves beside them; anything else in the folder is noise. */
const RELEVANT = /\.mbtiles(-journal|-wal)?$/;

/**
 * The reload trigger: calls `onChange` (debounced) when something in the data folder may have
 * changed. Events alone are not enough (they do not cross some Docker bind mounts or NFS), so
 * a periodic poll calls it too; the rescan it triggers is cheap when nothing changed.
 */
export function watchDataDir(
  dir: string,
  onChange: (reason: string) => void,
  options: WatchOptions,
  logger: Logger,
): { ready: Promise<void>; close(): Promise<void> } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const debounced = (reason: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => onChange(reason), options.debounceMs);
  };
  let watcher: FSWatcher | undefined;
  let ready = Promise.resolve();
  if (options.events) {
    watcher = watch(dir, {
      depth: 1,
      ignoreInitial: true,
      ignored: (path, stats) => stats?.isFile() === true && !RELEVANT.test(path),
    });
    watcher.on('all', (event, path) => {
      if (RELEVANT.test(path) || event === 'addDir' || event === 'unlinkDir') debounced('watch');
    });
    watcher.on('error', (error) =>
      logger.warn({ reason: (error as Error).message, dataDir: dir }, 'file watcher error; polling goes on'),
    );
    // What changed while the watches were being set up produced no event: look once more.
    ready = new Promise((resolve) => watcher?.once('ready', () => resolve()));
    void ready.then(() => debounced('watch ready'));
  }
  const poll = options.pollMs > 0 ? setInterval(() => onChange('poll'), options.pollMs) : undefined;
  return {
    ready,
    async close() {
      clearTimeout(timer);
      clearInterval(poll);
      await watcher?.close();
    },
  };
}
