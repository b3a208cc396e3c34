import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** An MBTiles file found in the data folder, with the id it is served under. */
export interface FoundFile {
  id: string;
  path: string;
}

export interface ScanResult {
  files: FoundFile[];
  /** Files that look like tilesets but cannot be served (no safe id, a dangling link, an unreadable subfolder). */
  skipped: { path: string; reason: string }[];
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const EXTENSION = '.mbtiles';

/**
 * The id a file is served under, from its path relative to the data folder: `roads.mbtiles` →
 * `roads`, `sub/roads.mbtiles` → `sub/roads`. Undefined when a segment has characters outside
 * `[A-Za-z0-9._-]`, is `.` or `..`, or when the file is hidden (writers stage files as dotfiles).
 */
export function idFromRelativePath(relative: string): string | undefined {
  if (!relative.endsWith(EXTENSION)) return undefined;
  const segments = relative.slice(0, -EXTENSION.length).split('/');
  const valid = segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..' && !s.startsWith('.'));
  return valid && segments.length <= 2 ? segments.join('/') : undefined;
}

/**
 * Lists `*.mbtiles` in `dir` and in its direct subfolders, sorted by id. Names meant as tilesets
 * that are not served (an upper-case extension, a name that is not an id, one folder too deep, a
 * dangling link) are listed as skipped, with the reason.
 */
export async function scanDataDir(dir: string): Promise<ScanResult> {
  const result: ScanResult = { files: [], skipped: [] };
  await collect(dir, '', 1, result);
  result.files.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return result;
}

async function collect(dir: string, prefix: string, depth: number, result: ScanResult): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    // A root-only lost+found in a mounted volume must not stop the others from being served.
    if (prefix === '') throw error;
    // The code, not the message: the reason is shown by /health, which names no internal path.
    const code = (error as { code?: unknown }).code;
    result.skipped.push({ path: dir, reason: `folder cannot be read: ${typeof code === 'string' ? code : 'error'}` });
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) {
      // Gone meanwhile, or a symbolic link to nothing: the latter is worth telling an operator.
      const link = looksLikeTileset(name) ? await lstat(path).catch(() => undefined) : undefined;
      if (link?.isSymbolicLink()) result.skipped.push({ path, reason: 'dangling symbolic link' });
      continue;
    }
    if (info.isDirectory() && !name.startsWith('.')) {
      if (depth > 0) await collect(path, `${prefix}${name}/`, depth - 1, result);
      else await collectTooDeep(path, result);
    } else if (info.isFile() && name.endsWith(EXTENSION)) {
      const id = idFromRelativePath(prefix + name);
      if (id !== undefined) result.files.push({ id, path });
      else if (!name.startsWith('.')) result.skipped.push({ path, reason: 'file name is not a valid id ([A-Za-z0-9._-])' });
    } else if (info.isFile() && looksLikeTileset(name) && !name.startsWith('.')) {
      // Not served under another spelling: `Roads.MBTILES` and `roads.mbtiles` would both be `roads`.
      result.skipped.push({ path, reason: `the extension must be ${EXTENSION} in lower case` });
    }
  }
}

/** `.mbtiles` in any case: a name meant as a tileset, served or told why not. */
function looksLikeTileset(name: string): boolean {
  return name.toLowerCase().endsWith(EXTENSION);
}

/**
 * Tilesets one folder deeper than served (`a/b/roads.mbtiles`) are listed as skipped, so a file
 * put one level too deep is not silently absent. Deeper folders are not read.
 */
async function collectTooDeep(dir: string, result: ScanResult): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    if (!looksLikeTileset(name) || name.startsWith('.')) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile()) {
      result.skipped.push({ path, reason: 'too deep: only the data folder and its direct subfolders are served' });
    }
  }
}
