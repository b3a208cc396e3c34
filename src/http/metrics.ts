import type { Context, Next } from 'koa';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry as PromRegistry } from 'prom-client';
import type { Registry } from '../source/registry.ts';
import type { ReloadOutcome } from '../source/reloader.ts';
import type { TileCache } from '../source/tile-cache.ts';

/** The route label of tile requests (the router's pattern, which the hot path bypasses). */
const TILE_ROUTE = '/tiles/*rest';

/**
 * Prometheus metrics (prom-client): requests by route and status, tile latency, reload
 * outcomes, tilesets by state, open event streams, and the process defaults.
 */
export class Metrics {
  readonly prom = new PromRegistry();
  readonly #requests = new Counter({
    name: 'tilestamp_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.prom],
  });
  readonly #tileSeconds = new Histogram({
    name: 'tilestamp_tile_duration_seconds',
    help: 'Time to answer a tile request',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.prom],
  });
  readonly #reloads = new Counter({
    name: 'tilestamp_reloads_total',
    help: 'Reload decisions by outcome (added, swapped, unchanged, removed, rejected, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.prom],
  });

  /** Counter children of tile answers by status, bound once: the hot path does no label hashing. */
  readonly #tileAnswers = new Map<number, { inc(): void }>();

  constructor(tilesets: Registry, openStreams: () => number, cache?: TileCache) {
    if (cache !== undefined) registerCacheMetrics(this.prom, cache);
    new Gauge({
      name: 'tilestamp_tilesets',
      help: 'Tilesets by state (ok, loading, waiting, failed, rejected: serving an older version)',
      labelNames: ['state'] as const,
      registers: [this.prom],
      // Over --workers N, the primary's own count (it comes first), not the sum of every copy.
      aggregator: 'first',
      collect() {
        const counts: Record<string, number> = { ok: 0, loading: 0, waiting: 0, failed: 0, rejected: 0 };
        for (const entry of tilesets.list()) {
          counts[entry.state] = (counts[entry.state] ?? 0) + 1;
          if (entry.state === 'ok' && entry.rejected) counts.rejected = (counts.rejected ?? 0) + 1;
        }
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    const counted = { busy: 0, broken: 0 };
    new Counter({
      name: 'tilestamp_tile_read_errors_total',
      help: 'Tile reads SQLite refused: busy (locked by another process: 503), broken (corrupt or I/O error: 500)',
      labelNames: ['kind'] as const,
      registers: [this.prom],
      collect() {
        for (const kind of ['busy', 'broken'] as const) {
          const total = tilesets.readProblems.totals[kind];
          this.inc({ kind }, total - counted[kind]);
          counted[kind] = total;
        }
      },
    });
    new Gauge({
      name: 'tilestamp_event_streams',
      help: 'Open /api/tile-version/events connections',
      registers: [this.prom],
      collect() {
        this.set(openStreams());
      },
    });
    collectDefaultMetrics({ register: this.prom, prefix: 'tilestamp_' });
  }

  reload(outcome: ReloadOutcome): void {
    this.#reloads.inc({ outcome });
  }

  /** Counts a tile answered by the hot path (tile-fast.ts), as the middleware below would. */
  tileAnswered(status: number, ms: number): void {
    let child = this.#tileAnswers.get(status);
    if (child === undefined) {
      child = this.#requests.labels(TILE_ROUTE, String(status));
      this.#tileAnswers.set(status, child);
    }
    child.inc();
    this.#tileSeconds.observe(ms / 1000);
  }

  /** Counts every request under its route pattern (never the raw path: bounded labels). */
  middleware() {
    return async (ctx: Context, next: Next): Promise<void> => {
      const started = performance.now();
      try {
        await next();
      } finally {
        const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
        this.#requests.inc({ route: String(route), status: String(ctx.status) });
        if (route === TILE_ROUTE && !ctx.path.endsWith('.json')) this.#tileSeconds.observe((performance.now() - started) / 1000);
      }
    };
  }

  /** GET /metrics: this process's metrics, or those of every worker when `all` gathers them. */
  async handler(ctx: Context, all?: () => Promise<string>): Promise<void> {
    ctx.type = this.prom.contentType;
    ctx.body = all ? await all() : await this.prom.metrics();
  }
}

/** Hot-tile cache figures, read from the cache when scraped. */
function registerCacheMetrics(prom: PromRegistry, cache: TileCache): void {
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [prom],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counter('tilestamp_tile_cache_hits_total', 'Tile reads answered from the hot-tile cache', () => cache.stats().hits);
  counter('tilestamp_tile_cache_misses_total', 'Tile reads that went to the file', () => cache.stats().misses);
  counter(
    'tilestamp_tile_cache_evictions_total',
    'Tiles dropped from the cache to stay within --cache-size',
    () => cache.stats().evictions,
  );
  new Gauge({
    name: 'tilestamp_tile_cache_bytes',
    help: 'Bytes of the hot-tile cache taken by kept tiles (each rounded up to 8, at least 128)',
    registers: [prom],
    collect() {
      this.set(cache.stats().bytes);
    },
  });
  new Gauge({
    name: 'tilestamp_tile_cache_limit_bytes',
    help: 'The hot-tile cache budget (--cache-size), per process',
    registers: [prom],
    aggregator: 'max',
    collect() {
      this.set(cache.maxBytes);
    },
  });
}
