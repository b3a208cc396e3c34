import type { DigestProgress } from './source/progress.ts';

const WIDTH = 30;

/** One line of progress bar: `[#########.............]  31%  812.4 MB/s  ETA 3 s  path`. */
export function renderBar(progress: DigestProgress, label: string): string {
  const filled = Math.round((progress.percent / 100) * WIDTH);
  const eta = progress.etaSeconds === undefined ? '' : `  ETA ${progress.etaSeconds} s`;
  const bar = `${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}`;
  return `[${bar}] ${String(progress.percent).padStart(3)}%  ${progress.mbPerSecond.toFixed(1)} MB/s${eta}  ${label}`;
}

/**
 * A progress bar redrawn in place on a terminal (`\r`, then erase to the end of the line), for
 * `tilestamp version` on a big file. The caller only makes one when stderr is a TTY.
 */
export function progressBar(stream: { write(text: string): unknown }) {
  let drawn = false;
  return {
    show: (progress: DigestProgress & { path: string }) => {
      stream.write(`\r${renderBar(progress, progress.path)}\x1b[K`);
      drawn = true;
    },
    clear: () => {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
