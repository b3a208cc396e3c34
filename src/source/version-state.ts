import type { BigIntStats } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../error-message.ts';
import type { Logger } from '../log.ts';

/** Marks a state file as ours; anything else found at the path is ignored, never trusted. */
const FORMAT = 'tilestamp-versions/1';
/** The state file's name inside the state dir. */
export const STATE_FILE = 'versions.json';
/** Entries kept at most; the least recently computed are dropped first. */
export const STATE_ENTRIES_LIMIT = 10_000;
/**
 * Bytes a state file may have to be read at all: 10,000 entries take about 3 MB, and a larger
 * file (someone else's, or garbage) would hold the event loop while it is parsed and take memory
 * many times its size. Past it the file is ignored with a warning, and our writes stay under it.
 */
export const STATE_FILE_MAX_BYTES = 8 * 1024 * 1024;

/**
 * What identifies one file's bytes without reading them: device, inode, size, and mtime and
 * ctime in nanoseconds. Any write, truncate, rename or chmod of the file moves its ctime, which no
 * user call can set back, so an unchanged key means the same bytes (README, "Versions").
 */
export interface InodeKey {
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

/** Everything a remembered version is trusted under: the file's key, and how it was computed. */
export interface StateKey extends InodeKey {
  /** `--version-from` (and key), e.g. `content`. */
  source: string;
  /** The formula's name, e.g. `tilestamp-content-2/columns-64`. */
  formula: string;
}

export interface Remembered {
  version: string;
  tiles: number | undefined;
  bytes: number;
  /** Tiles off the z/x/y grid, when counted: kept so /health still shows them after a restart. */
  outsideGrid?: number;
}

interface Entry extends StateKey, Remembered {
  /** When it was computed (ms since the epoch), to drop the oldest past the limit. */
  at: number;
}

/** The key of a file from a `bigint: true` stat (nanosecond times are only exact as bigints). */
export function inodeKeyOf(stats: BigIntStats): InodeKey {
  return {
    dev: String(stats.dev),
    ino: String(stats.ino),
    size: String(stats.size),
    mtimeNs: String(stats.mtimeNs),
    ctimeNs: String(stats.ctimeNs),
  };
}

const KEY_FIELDS = ['dev', 'ino', 'size', 'mtimeNs', 'ctimeNs', 'source', 'formula'] as const;

/** True only when every field of the two keys is equal. */
export function sameKey(a: StateKey, b: StateKey): boolean {
  return KEY_FIELDS.every((field) => a[field] === b[field]);
}

/**
 * Versions computed before, kept in `DIR/versions.json` across restarts so an unchanged 80 GB
 * file is not digested again. An entry is used only when its whole key matches; a missing,
 * corrupt or foreign file counts as empty. Writes go to a temporary file renamed over the old
 * one, so a crash leaves the old file or the new, never half of one. When the folder cannot be
 * written, one warning says so and the server goes on without remembering.
 */
export class VersionState {
  #entries: Entry[] | undefined;
  #writing: Promise<void> = Promise.resolve();
  #pending: Entry[] = [];
  #disabled = false;
  /** Why the state file was last ignored: the same reason is not warned about twice. */
  #ignored: string | undefined;

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The version remembered under exactly this key, if any. */
  async lookup(key: StateKey): Promise<Remembered | undefined> {
    this.#entries ??= await this.#read();
    const entry = this.#entries.find((e) => sameKey(e, key));
    if (entry === undefined) return undefined;
    const { version, tiles, bytes, outsideGrid } = entry;
    return { version, tiles, bytes, ...(outsideGrid !== undefined && { outsideGrid }) };
  }

  /**
   * Remembers a computed version; resolves once written (or given up on). Never throws.
   * Versions remembered while a write is under way go out together in the next one.
   */
  remember(key: StateKey, value: Remembered): Promise<void> {
    const { version, tiles, bytes, outsideGrid } = value;
    this.#pending.push({
      ...pick(key),
      version,
      tiles,
      bytes,
      ...(outsideGrid !== undefined && { outsideGrid }),
      at: this.now(),
    });
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  async #write(): Promise<void> {
    const fresh = this.#pending.splice(0);
    if (this.#disabled || fresh.length === 0) return;
    // Merge with what is on disk now: another process may have added some. One entry per file
    // and version source: a newer computation replaces the older.
    const onDisk = await this.#read();
    const same = (a: Entry, b: Entry) => a.dev === b.dev && a.ino === b.ino && a.source === b.source;
    let entries = [...onDisk.filter((e) => !fresh.some((f) => same(e, f))), ...fresh]
      .sort((a, b) => b.at - a.at)
      .slice(0, STATE_ENTRIES_LIMIT);
    let text = `${JSON.stringify({ format: FORMAT, entries })}\n`;
    // Only long metadata keys or versions could take 10,000 entries past the cap: drop the oldest.
    while (Buffer.byteLength(text) > STATE_FILE_MAX_BYTES) {
      entries = entries.slice(0, Math.floor(entries.length * 0.9));
      text = `${JSON.stringify({ format: FORMAT, entries })}\n`;
    }
    this.#entries = entries;
    const path = join(this.dir, STATE_FILE);
    const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(temporary, text);
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => {});
      this.#disabled = true;
      this.logger.warn(
        { stateDir: this.dir, reason: messageOf(error) },
        'state dir not writable: versions will be computed again after a restart',
      );
    }
  }

  /** The entries on disk: none when there is no file, or one that is too big, corrupt or foreign. */
  async #read(): Promise<Entry[]> {
    let text: string | undefined;
    try {
      const handle = await open(join(this.dir, STATE_FILE), 'r');
      try {
        text = await readCapped(handle, STATE_FILE_MAX_BYTES);
      } finally {
        await handle.close();
      }
    } catch {
      return [];
    }
    try {
      if (text === undefined) throw new Error(`larger than ${STATE_FILE_MAX_BYTES} bytes, the most a state file may have`);
      const parsed = JSON.parse(text) as { format?: unknown; entries?: unknown };
      if (parsed.format !== FORMAT || !Array.isArray(parsed.entries)) throw new Error(`not a ${FORMAT} file`);
      this.#ignored = undefined;
      return parsed.entries.filter(isEntry);
    } catch (error) {
      const reason = messageOf(error);
      // Read again before each write: the same bad file is warned about once.
      if (reason !== this.#ignored) {
        this.logger.warn({ stateDir: this.dir, reason }, 'state file ignored: every version is computed again');
      }
      this.#ignored = reason;
      return [];
    }
  }
}

/**
 * The file's text, read asynchronously, or undefined when it holds more than `limit` bytes: a
 * file that grows after its size was seen is still never read past the limit.
 */
async function readCapped(handle: FileHandle, limit: number): Promise<string | undefined> {
  const { size } = await handle.stat();
  if (size > limit) return undefined;
  const buffer = Buffer.allocUnsafe(size + 1);
  let length = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
    if (bytesRead === 0) break;
    length += bytesRead;
    if (length === buffer.length) return length > limit ? undefined : readCapped(handle, limit);
  }
  return buffer.toString('utf8', 0, length);
}

function pick(key: StateKey): StateKey {
  return Object.fromEntries(KEY_FIELDS.map((f) => [f, key[f]])) as unknown as StateKey;
}

function isEntry(value: unknown): value is Entry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    KEY_FIELDS.every((f) => typeof e[f] === 'string') &&
    typeof e.version === 'string' &&
    /^[A-Za-z0-9._-]{1,128}$/.test(e.version) &&
    (e.tiles === undefined || e.tiles === null || typeof e.tiles === 'number') &&
    typeof e.bytes === 'number' &&
    (e.outsideGrid === undefined || (Number.isSafeInteger(e.outsideGrid) && (e.outsideGrid as number) >= 0)) &&
    typeof e.at === 'number'
  );
}
