import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import { combinedVersion, VERSION_HEX_DIGITS } from '../source/version.ts';
import { FontFace, type LoadedFont } from './font-face.ts';
import { findFontFiles, loadFontFile } from './font-files.ts';
import { faceName } from './font-name.ts';

/** A font file that cannot be served, and since when. */
export interface FontProblem {
  path: string;
  reason: string;
  since: string;
  /** True when an older good copy of the file is still served. */
  serving: boolean;
}

interface Seen {
  identity: string;
  /** The fonts the file gave when it last read well; undefined when it never did. */
  good: LoadedFont[] | undefined;
  problem: FontProblem | undefined;
}

/**
 * The fonts of `<data>/fonts/`, merged into named faces, with one version over all of them
 * (every glyph URL carries it). `scan()` looks at the folder again: an unchanged file costs one
 * stat, a new or changed one is parsed before it is taken; one fontkit cannot read is reported
 * (log, /health) and never served, and the copy read before keeps serving.
 */
export class FontStore {
  readonly dir: string;
  #seen = new Map<string, Seen>();
  #faces = new Map<string, FontFace>();
  #version = combinedVersion({});
  #scanning: Promise<boolean> | undefined;
  #again = false;
  readonly #listeners: ((version: string) => void)[] = [];
  /** Settles once the first scan is done. */
  readonly ready: Promise<void>;

  constructor(
    dataDir: string,
    private readonly logger: Logger,
  ) {
    this.dir = join(dataDir, 'fonts');
    this.ready = this.scan().then(
      () => undefined,
      () => undefined,
    );
  }

  /** The version every glyph URL carries: a digest over every face's name and files' bytes, in merge order. */
  get version(): string {
    return this.#version;
  }

  /** Face names, sorted. */
  names(): string[] {
    return [...this.#faces.keys()].sort();
  }

  face(name: string): FontFace | undefined {
    return this.#faces.get(name);
  }

  /** Files that cannot be served now. */
  problems(): FontProblem[] {
    return [...this.#seen.values()].flatMap((s) => (s.problem ? [s.problem] : []));
  }

  /** Called with the new version whenever it changes. */
  onChange(listener: (version: string) => void): void {
    this.#listeners.push(listener);
  }

  /** Looks at the folder again; resolves true when the served fonts changed. Scans never overlap. */
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
    let files: Awaited<ReturnType<typeof findFontFiles>>;
    try {
      files = await findFontFiles(this.dir);
    } catch (error) {
      this.logger.warn({ dir: this.dir, reason: (error as Error).message }, 'fonts folder cannot be read');
      return false;
    }
    const next = new Map<string, Seen>();
    for (const { path, identity } of files) {
      const before = this.#seen.get(path);
      if (before?.identity === identity) {
        next.set(path, before);
        continue;
      }
      try {
        next.set(path, { identity, good: await loadFontFile(this.dir, path), problem: undefined });
      } catch (error) {
        const reason = (error as Error).message;
        const serving = before?.good !== undefined;
        this.logger.warn({ font: path, reason, serving }, 'font file cannot be served');
        const problem = { path, reason, since: new Date().toISOString(), serving };
        next.set(path, { identity, good: before?.good, problem });
      }
    }
    this.#seen = next;
    return this.#rebuild();
  }

  /** Regroups the good fonts into faces; true when the version changed. */
  #rebuild(): boolean {
    const byName = new Map<string, LoadedFont[]>();
    for (const seen of this.#seen.values()) {
      for (const loaded of seen.good ?? []) {
        const name = faceName(loaded.font);
        if (name === '') continue;
        const list = byName.get(name) ?? [];
        list.push(loaded);
        byName.set(name, list);
      }
    }
    const faces = new Map<string, FontFace>();
    const versions: Record<string, string> = Object.create(null);
    for (const [name, fonts] of byName) {
      faces.set(name, new FontFace(name, fonts));
      const digest = createHash('sha256').update(name);
      for (const font of fonts) digest.update(`\n${font.sha256}`);
      versions[name] = digest.digest('hex').slice(0, VERSION_HEX_DIGITS);
    }
    const version = combinedVersion(versions);
    this.#faces = faces;
    if (version === this.#version) return false;
    const previous = this.#version;
    this.#version = version;
    this.logger.info({ fonts: faces.size, version, previous }, 'fonts loaded');
    for (const listener of this.#listeners) listener(version);
    return true;
  }
}
