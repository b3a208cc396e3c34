import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import { combinedVersion, VERSION_HEX_DIGITS } from '../source/version.ts';
import { type FileProblem, FileSet } from './file-set.ts';
import { FontFace, type LoadedFont } from './font-face.ts';
import { FONT_FILE_NAME, loadFontFile } from './font-files.ts';
import { faceName } from './font-name.ts';
import { GLYPH_GENERATOR } from './glyph-range.ts';

/**
 * The fonts of `<data>/fonts/`, merged into named faces, with one version over all of them
 * (every glyph URL carries it). `scan()` looks at the folder again: an unchanged file costs one
 * stat, a new or changed one is parsed before it is taken; one fontkit cannot read is reported
 * (log, /health) and never served, and the copy read before keeps serving.
 */
export class FontStore {
  readonly #files: FileSet<LoadedFont[]>;
  #faces = new Map<string, FontFace>();
  #version = combinedVersion({});
  readonly #listeners: ((version: string) => void)[] = [];
  /** Settles once the first scan is done. */
  readonly ready: Promise<void>;

  constructor(
    dataDir: string,
    private readonly logger: Logger,
  ) {
    const dir = join(dataDir, 'fonts');
    this.#files = new FileSet(dir, FONT_FILE_NAME, (path) => loadFontFile(dir, path), logger, 'font');
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
  problems(): FileProblem[] {
    return this.#files.problems();
  }

  /** Called with the new version whenever it changes. */
  onChange(listener: (version: string) => void): void {
    this.#listeners.push(listener);
  }

  /** Looks at the folder again; resolves true when the served fonts changed. */
  async scan(): Promise<boolean> {
    return (await this.#files.scan()) && this.#rebuild();
  }

  /** Regroups the good fonts into faces; true when the version changed. */
  #rebuild(): boolean {
    const byName = new Map<string, LoadedFont[]>();
    for (const [, fonts] of this.#files.entries()) {
      for (const loaded of fonts) {
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
      versions[name] = faceVersion(
        name,
        fonts.map((font) => font.sha256),
        GLYPH_GENERATOR,
      );
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

/**
 * One face's version: its name, its files' SHA-256 in merge order, and the generator that renders
 * them (the same files through other code give other bytes under what must stay one immutable URL).
 */
export function faceVersion(name: string, sha256s: readonly string[], generator: string): string {
  const digest = createHash('sha256').update(`${generator}\n${name}`);
  for (const sha256 of sha256s) digest.update(`\n${sha256}`);
  return digest.digest('hex').slice(0, VERSION_HEX_DIGITS);
}
