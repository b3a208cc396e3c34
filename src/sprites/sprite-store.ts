import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type FileProblem, FileSet } from '../fonts/file-set.ts';
import type { Logger } from '../log.ts';
import { VERSION_HEX_DIGITS } from '../source/version.ts';
import { loadResvg, svgSize } from './resvg.ts';
import { SPRITE_GENERATOR } from './sheet.ts';
import { type IconMarkers, iconMarkers } from './svg-markers.ts';

/** Larger SVG files are refused rather than read. */
export const MAX_SVG_BYTES = 1024 * 1024;
/** Icons larger than this (CSS px, either side) are refused: a sheet is held in memory whole. */
export const MAX_ICON_PX = 512;
/** A sprite sheet's name: one folder under `sprites/`, usable in a comma-separated URL segment. */
export const SHEET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** One icon, checked by resvg when it was read. */
export interface Icon {
  id: string;
  svg: Uint8Array;
  sha256: string;
  /** Its size at 1x, in CSS pixels (rounded up). */
  width: number;
  height: number;
  markers: IconMarkers;
}

/** A folder of icons and the version of their bytes. */
export interface Sheet {
  name: string;
  /** By id, sorted. */
  icons: Icon[];
  version: string;
}

/**
 * The sprite sheets of `<data>/sprites/`: each folder `{name}/` is one sheet, each SVG under it
 * (any depth) one icon, its id the path under the folder without `.svg` (`sub/icon`). An SVG that
 * resvg cannot read, or too large, is reported and never served (the copy read before stays).
 */
export class SpriteStore {
  readonly #files: FileSet<Icon>;
  #sheets = new Map<string, Sheet>();
  readonly #listeners: (() => void)[] = [];
  readonly ready: Promise<void>;

  constructor(dataDir: string, logger: Logger) {
    const dir = join(dataDir, 'sprites');
    this.#files = new FileSet(dir, /\.svg$/i, (path) => loadIcon(dir, path), logger, 'sprite icon');
    this.ready = this.scan().then(
      () => undefined,
      () => undefined,
    );
  }

  /** Sheet names, sorted. */
  names(): string[] {
    return [...this.#sheets.keys()].sort();
  }

  sheet(name: string): Sheet | undefined {
    return this.#sheets.get(name);
  }

  /** The version of a list of sheets (in that order); undefined when one is unknown. */
  versionOf(names: readonly string[]): string | undefined {
    const versions = names.map((name) => this.#sheets.get(name)?.version);
    if (versions.some((v) => v === undefined)) return undefined;
    if (names.length === 1) return versions[0];
    const lines = names.map((name, i) => `${name}=${versions[i]}\n`).join('');
    return createHash('sha256').update(lines).digest('hex').slice(0, VERSION_HEX_DIGITS);
  }

  problems(): FileProblem[] {
    return this.#files.problems();
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Looks at the folder again; resolves true when a sheet changed. */
  async scan(): Promise<boolean> {
    if (!(await this.#files.scan())) return false;
    const icons = new Map<string, Icon[]>();
    for (const [path, icon] of this.#files.entries()) {
      const slash = path.indexOf('/');
      const name = path.slice(0, slash);
      if (slash <= 0 || !SHEET_NAME.test(name)) continue;
      const list = icons.get(name) ?? [];
      list.push({ ...icon, id: path.slice(slash + 1, -'.svg'.length) });
      icons.set(name, list);
    }
    const sheets = new Map<string, Sheet>();
    for (const [name, list] of icons) {
      list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      sheets.set(name, { name, icons: list, version: sheetVersion(list, SPRITE_GENERATOR) });
    }
    const before = JSON.stringify([...this.#sheets.values()].map((s) => [s.name, s.version]));
    this.#sheets = sheets;
    if (JSON.stringify([...sheets.values()].map((s) => [s.name, s.version])) === before) return false;
    for (const listener of this.#listeners) listener();
    return true;
  }
}

/**
 * One sheet's version: its icons' ids and SHA-256 in id order, and the generator that renders them
 * (the same SVGs through other code give other bytes under what must stay one immutable URL).
 */
export function sheetVersion(icons: readonly Pick<Icon, 'id' | 'sha256'>[], generator: string): string {
  const digest = createHash('sha256').update(`${generator}\n`);
  for (const icon of icons) digest.update(`${icon.id}=${icon.sha256}\n`);
  return digest.digest('hex').slice(0, VERSION_HEX_DIGITS);
}

/** Reads one SVG and checks that resvg can render it at a sane size. */
async function loadIcon(dir: string, path: string): Promise<Icon> {
  const info = await stat(join(dir, path));
  if (info.size > MAX_SVG_BYTES) throw new Error(`larger than ${MAX_SVG_BYTES} bytes`);
  const svg = new Uint8Array(await readFile(join(dir, path)));
  const resvg = await loadResvg();
  let size: { width: number; height: number };
  try {
    size = svgSize(resvg, svg);
  } catch (error) {
    throw new Error(`not an SVG resvg can read: ${(error as Error).message ?? error}`);
  }
  const width = Math.ceil(size.width);
  const height = Math.ceil(size.height);
  if (!(width >= 1 && height >= 1 && width <= MAX_ICON_PX && height <= MAX_ICON_PX)) {
    throw new Error(`its size ${size.width}×${size.height} is not within 1…${MAX_ICON_PX} px`);
  }
  const sha256 = createHash('sha256').update(svg).digest('hex');
  return { id: path, svg, sha256, width, height, markers: iconMarkers(new TextDecoder().decode(svg), size.width, size.height) };
}
