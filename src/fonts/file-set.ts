import type { Logger } from '../log.ts';
import { type FoundFile, findFiles } from './font-files.ts';

/** A file that cannot be served, and since when. */
export interface FileProblem {
  path: string;
  reason: string;
  since: string;
  /** True when an older good copy of the file is still served. */
  serving: boolean;
}

interface Seen<T> {
  identity: string;
  /** What the file gave when it last read well; undefined when it never did. */
  good: T | undefined;
  problem: FileProblem | undefined;
}

/**
 * The files of one folder (any depth) matching a pattern, each loaded by `load` and kept while
 * its identity (device, inode, size, mtime, ctime) holds. `scan()` looks again: an unchanged file costs
 * one stat, a new or changed one is loaded before it is taken; one that fails to load is reported
 * (log, `problems()`) and never served, and the copy that loaded before keeps serving.
 * Scans never overlap; one asked for during a scan runs after it.
 */
export class FileSet<T> {
  #seen = new Map<string, Seen<T>>();
  #scanning: Promise<boolean> | undefined;
  #again = false;

  constructor(
    readonly dir: string,
    private readonly pattern: RegExp,
    private readonly load: (path: string) => Promise<T>,
    private readonly logger: Logger,
    /** What the log calls these files (`font`, `sprite icon`). */
    private readonly what: string,
  ) {}

  /** The good files in path order. */
  entries(): [string, T][] {
    return [...this.#seen].flatMap(([path, seen]) => (seen.good === undefined ? [] : [[path, seen.good] as [string, T]]));
  }

  problems(): FileProblem[] {
    return [...this.#seen.values()].flatMap((s) => (s.problem ? [s.problem] : []));
  }

  /** Looks at the folder again; resolves true when any file was taken, changed or dropped. */
  scan(): Promise<boolean> {
    if (this.#scanning) {
      this.#again = true;
      return this.#scanning;
    }
    this.#scanning = (async () => {
      let changed = false;
      do {
        this.#again = false;
        changed = (await this.#scanOnce()) || changed;
      } while (this.#again);
      return changed;
    })().finally(() => {
      this.#scanning = undefined;
    });
    return this.#scanning;
  }

  async #scanOnce(): Promise<boolean> {
    let files: FoundFile[];
    try {
      files = await findFiles(this.dir, this.pattern);
    } catch (error) {
      this.logger.warn({ dir: this.dir, reason: (error as Error).message }, `${this.what} folder cannot be read`);
      return false;
    }
    const next = new Map<string, Seen<T>>();
    let changed = files.length !== this.#seen.size;
    for (const { path, identity } of files) {
      const before = this.#seen.get(path);
      if (before?.identity === identity) {
        next.set(path, before);
        continue;
      }
      try {
        next.set(path, { identity, good: await this.load(path), problem: undefined });
        changed = true;
      } catch (error) {
        const reason = reasonOf(error);
        const serving = before?.good !== undefined;
        const detail = (error as Error).message;
        this.logger.warn({ [this.what]: path, reason, detail, serving }, `${this.what} file cannot be served`);
        next.set(path, { identity, good: before?.good, problem: { path, reason, since: new Date().toISOString(), serving } });
        changed ||= before === undefined || before.problem === undefined;
      }
    }
    if (!changed) changed = [...this.#seen.keys()].some((path) => !next.has(path));
    this.#seen = next;
    return changed;
  }
}

/**
 * Why a file could not be loaded, fit for /health: a file-system error by its code only (Node's
 * message names the absolute path, which the log line keeps), anything else as it says.
 */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? `cannot be read (${code})` : (error as Error).message;
}
