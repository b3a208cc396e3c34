import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Fontkit from 'fontkit';
import type { LoadedFont } from './font-face.ts';

const FONT_FILE = /\.(ttf|otf|ttc|woff|woff2)$/i;
/** Larger font files are refused rather than read into memory (the largest CJK fonts are ~20 MiB). */
export const MAX_FONT_FILE_BYTES = 64 * 1024 * 1024;

/** A file found under the fonts folder: its `/`-separated path there and what it was when seen. */
export interface FoundFile {
  path: string;
  /**
   * Device, inode, size, mtime and ctime: any write or replacement changes it, also one that
   * keeps the size and puts the mtime back (`cp -p`, `touch -r`), which only the ctime shows.
   */
  identity: string;
}

/** The names of font files fontkit reads. */
export const FONT_FILE_NAME = FONT_FILE;

/**
 * Every file under `dir` (any depth, hidden names skipped) whose name matches `pattern`, in path
 * order (for fonts: the order in which files of one face are merged). A missing folder is an empty one.
 */
export async function findFiles(dir: string, pattern: RegExp): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  async function walk(sub: string): Promise<void> {
    const entries = await readdir(join(dir, sub), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [];
      throw error;
    });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else if (pattern.test(entry.name)) {
        const info = await stat(join(dir, path)).catch(() => undefined);
        if (info?.isFile())
          found.push({ path, identity: `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}` });
      }
    }
  }
  await walk('');
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Reads and parses one font file: one font, or each font of a collection (`.ttc`). Throws an
 * Error whose message says why fontkit cannot use it (never served then).
 */
export async function loadFontFile(dir: string, path: string): Promise<LoadedFont[]> {
  const info = await stat(join(dir, path));
  if (info.size > MAX_FONT_FILE_BYTES) throw new Error(`larger than ${MAX_FONT_FILE_BYTES} bytes`);
  const bytes = await readFile(join(dir, path));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  // Loaded at the first font file: fontkit and its tables cost ~3 MB of heap that a server
  // without fonts (most of them serve tiles only) should not carry.
  const fontkit: typeof Fontkit = await import('fontkit');
  let parsed: Fontkit.Font | Fontkit.FontCollection;
  try {
    parsed = fontkit.create(bytes);
  } catch (error) {
    throw new Error(`not a font fontkit can read: ${(error as Error).message}`);
  }
  const fonts = 'fonts' in parsed ? parsed.fonts : [parsed];
  if (fonts.length === 0) throw new Error('a font collection without fonts');
  for (const font of fonts) {
    // fontkit parses tables lazily: touch what serving needs now, so a broken file fails here.
    if (!(font.unitsPerEm > 0)) throw new Error('no usable unitsPerEm');
    void font.characterSet;
    font.glyphForCodePoint(0x41).path;
  }
  return fonts.map((font) => ({ path, font, sha256, bytes: bytes.length }));
}
