import { relative, sep } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import type { Logger } from '../log.ts';
import { SpriteStore } from '../sprites/sprite-store.ts';
import { FontStore } from './font-store.ts';

/** Bursts of file events within this many ms make one rescan. */
const DEBOUNCE_MS = 100;
/** The folders under the data folder this watches. */
const FOLDERS = ['fonts', 'sprites'];

/** What the event stream announces when a font or a sprite sheet changes. */
export interface ResourceVersions {
  fonts: string;
  sprites: Record<string, string>;
}

/**
 * The fonts and sprite sheets of the data folder, kept in step with `fonts/` and `sprites/` the
 * way tilesets are: file events (chokidar) and a stat poll trigger a rescan, which takes a new or
 * changed file only once it reads well. Each process (each worker of `--workers`) keeps its own.
 */
export class ResourceFolders {
  readonly fonts: FontStore;
  readonly sprites: SpriteStore;
  #watcher: FSWatcher | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
  ) {
    this.fonts = new FontStore(dataDir, logger);
    this.sprites = new SpriteStore(dataDir, logger);
  }

  /** Starts watching (file events and/or a poll every `pollMs`); without either, only `rescan()` looks again. */
  watch(options: { events: boolean; pollMs: number }): void {
    const rescan = () => void this.rescan();
    if (options.events) {
      const relevant = (path: string) => {
        const [first] = relative(this.dataDir, path).split(sep);
        return first === '' || first === undefined || FOLDERS.includes(first);
      };
      this.#watcher = watch(this.dataDir, { ignoreInitial: true, depth: 8, ignored: (path) => !relevant(path) });
      this.#watcher.on('all', () => {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(rescan, DEBOUNCE_MS);
      });
      this.#watcher.on('error', (error) =>
        this.logger.warn({ reason: (error as Error).message }, 'font and sprite watcher error; polling goes on'),
      );
      // What changed while the watches were being set up produced no event: look once more.
      this.#watcher.once('ready', rescan);
    }
    if (options.pollMs > 0) {
      this.#poll = setInterval(rescan, options.pollMs);
      this.#poll.unref?.();
    }
  }

  /** Looks at both folders again. */
  async rescan(): Promise<void> {
    await Promise.all([this.fonts.scan(), this.sprites.scan()]);
  }

  /** The fonts version and each sheet's version. */
  versions(): ResourceVersions {
    const sprites: Record<string, string> = Object.create(null);
    for (const name of this.sprites.names()) sprites[name] = this.sprites.sheet(name)?.version as string;
    return { fonts: this.fonts.version, sprites };
  }

  /** True when there is any font or sprite sheet to announce. */
  any(): boolean {
    return this.fonts.names().length > 0 || this.sprites.names().length > 0;
  }

  /** What /health adds: counts, and every file that cannot be served (then the status is degraded). */
  health(): Record<string, unknown> {
    const fontProblems = this.fonts.problems();
    const spriteProblems = this.sprites.problems();
    return {
      ...(fontProblems.length + spriteProblems.length > 0 && { status: 'degraded' }),
      fonts: {
        version: this.fonts.version,
        faces: this.fonts.names().length,
        ...(fontProblems.length > 0 && { problems: fontProblems }),
      },
      sprites: { sheets: this.sprites.names().length, ...(spriteProblems.length > 0 && { problems: spriteProblems }) },
    };
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    await this.#watcher?.close();
  }
}
