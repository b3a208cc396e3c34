import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';

/** `busy`: locked by another process; `broken`: SQLite cannot read the served file. */
export type ReadProblemKind = 'busy' | 'broken';

/** The latest read failure of one serving tileset, as /health shows it. */
export interface ReadProblem {
  kind: ReadProblemKind;
  reason: string;
  /** Clock times (ms) of the first and the latest failure. */
  since: number;
  last: number;
  count: number;
}

/** A busy tileset shows in /health this long after its last failed read; then the lock is taken as gone. */
export const BUSY_SHOWN_MS = 30_000;
/** At most one log line per tileset and kind in this long; the next says how many were left out. */
export const READ_PROBLEM_LOG_MS = 60_000;

/**
 * Failed tile reads of serving tilesets, by id: what /health, /metrics and a rate-limited log
 * line report. Forgotten when the tileset's source is replaced or removed (the registry does so).
 */
export class ReadProblems {
  readonly #byId = new Map<string, ReadProblem & { source: unknown; loggedAt: number; unlogged: number }>();
  /** Failed reads since start, by kind (a Prometheus counter). */
  readonly totals: Record<ReadProblemKind, number> = { busy: 0, broken: 0 };

  constructor(private readonly clock: Clock = systemClock) {}

  /**
   * Records one failed read of `source` (the serving source of `id`). Returns the number of
   * failures to mention in a log line (1 for the first, more when some went unlogged), or 0 when
   * this one stays out of the log.
   */
  report(id: string, source: unknown, kind: ReadProblemKind, reason: string): number {
    const now = this.clock.now();
    this.totals[kind] += 1;
    const known = this.#byId.get(id);
    if (known === undefined || known.source !== source || known.kind !== kind) {
      this.#byId.set(id, { kind, reason, since: now, last: now, count: 1, source, loggedAt: now, unlogged: 0 });
      return 1;
    }
    Object.assign(known, { reason, last: now, count: known.count + 1 });
    if (now - known.loggedAt < READ_PROBLEM_LOG_MS) {
      known.unlogged += 1;
      return 0;
    }
    const n = known.unlogged + 1;
    Object.assign(known, { loggedAt: now, unlogged: 0 });
    return n;
  }

  /** The problem to show for `id` now: broken until replaced, busy while recent. */
  current(id: string): ReadProblem | undefined {
    const known = this.#byId.get(id);
    if (known === undefined) return undefined;
    if (known.kind === 'busy' && this.clock.now() - known.last > BUSY_SHOWN_MS) return undefined;
    const { kind, reason, since, last, count } = known;
    return { kind, reason, since, last, count };
  }

  forget(id: string): void {
    this.#byId.delete(id);
  }
}
