import type { Logger } from '../log.ts';
import type { Registry } from './registry.ts';

/** How far a long digest has got: what a log line and /health show. */
export interface DigestProgress {
  /** Bytes digested so far, of about `total` (the file's size: tile bytes are close to it). */
  bytes: number;
  total: number;
  /** 0-100, whole; 99 at most until the digest is done (tile bytes can exceed the estimate). */
  percent: number;
  /** Megabytes (10^6 bytes) per second since the start. */
  mbPerSecond: number;
  /** Seconds left at that rate, rounded up; undefined until something is digested. */
  etaSeconds: number | undefined;
}

/**
 * Counts digested bytes against an expected total and turns them into percent, MB/s and an
 * ETA. The clock is injected, so what it says is testable without waiting.
 */
export class ProgressMeter {
  #bytes = 0;
  readonly #started: number;

  constructor(
    readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#started = now();
  }

  add(bytes: number): void {
    this.#bytes += bytes;
  }

  /** Milliseconds since the meter started. */
  get elapsedMs(): number {
    return this.now() - this.#started;
  }

  read(): DigestProgress {
    const seconds = this.elapsedMs / 1000;
    const rate = seconds > 0 ? this.#bytes / seconds : 0;
    const left = Math.max(0, this.total - this.#bytes);
    return {
      bytes: this.#bytes,
      total: this.total,
      percent: this.total > 0 ? Math.min(99, Math.floor((this.#bytes / this.total) * 100)) : 0,
      mbPerSecond: Math.round(rate / 1e5) / 10,
      etaSeconds: rate > 0 ? Math.ceil(left / rate) : undefined,
    };
  }
}

/**
 * What the server does with a long digest's progress: an info line (every 2 s by default), and
 * the figures on the tileset's `/health` entry while it is still loading.
 */
export function progressReporter(registry: Registry, logger: Logger) {
  return (progress: DigestProgress & { id: string; path: string }): void => {
    const { id, path, percent, mbPerSecond, etaSeconds, bytes, total } = progress;
    logger.info({ tileset: id, path, percent, mbPerSecond, etaSeconds, bytes, total }, 'digesting');
    const entry = registry.get(id);
    if (entry?.state === 'loading') registry.set({ ...entry, progress: { percent, mbPerSecond, etaSeconds } });
  };
}
