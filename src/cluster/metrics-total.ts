import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Logger } from '../log.ts';
import type { PrimaryMessage } from './protocol.ts';

export type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** How long the primary waits for each worker's metrics. */
const METRICS_TIMEOUT_MS = 3_000;

/**
 * Per-process limits, summed they mean nothing: the lowest one is what the server can count on.
 * (prom-client sums a gauge by default; the others it sums are totals over the processes.)
 */
const MIN_OF_PROCESSES = new Set(['tilestamp_process_max_fds']);

/** Families that only ever grow within a process: kept after it exits, so their totals never go back. */
function monotonic(metrics: readonly MetricJson[]): MetricJson[] {
  // prom-client's typings say an enum; at run time `type` is the name ('counter').
  return metrics.filter((metric) => ['counter', 'histogram'].includes(String(metric.type)));
}

/**
 * `/metrics` over `--workers N`: the primary's metrics and every worker's, as one Prometheus
 * text (the primary's first, for the families whose aggregator is `first`). Counters and
 * histograms are a running total that never goes back: a worker that exits leaves what was last
 * gathered from it in the total (its restarted successor counts from zero on top), and a worker
 * that does not answer in time counts with what it said last. So Prometheus never sees a counter
 * reset that did not happen; what a worker counted after the last gathering before it died is
 * not counted.
 */
export class ClusterMetrics {
  #nextRequest = 1;
  readonly #rounds = new Map<number, { answers: Map<Worker, MetricJson[]>; expect: Set<Worker>; finish: () => void }>();
  /** The monotonic families of each live worker, as last gathered. */
  readonly #lastSeen = new Map<Worker, MetricJson[]>();
  /** The monotonic families of every worker that exited, summed. */
  #retired: Promise<MetricJson[]> = Promise.resolve([]);
  /** Workers whose last metrics are in `#retired` already: never counted again. */
  readonly #gone = new WeakSet<Worker>();

  constructor(
    private readonly workers: () => Worker[],
    private readonly logger: Logger,
  ) {}

  /** Every process's metrics as Prometheus text; `own` is the primary's registry. */
  async gather(own: { getMetricsAsJSON(): Promise<MetricJson[]> }): Promise<string> {
    const request = this.#nextRequest++;
    const workers = this.workers().filter((worker) => worker.isConnected());
    const answers = new Map<Worker, MetricJson[]>();
    const round = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn({ missing: workers.length - answers.size }, 'metrics: some workers did not answer in time');
        resolve();
      }, METRICS_TIMEOUT_MS);
      this.#rounds.set(request, {
        answers,
        expect: new Set(workers),
        finish: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
    for (const worker of workers) worker.send({ type: 'tilestamp:own-metrics-request', request } satisfies PrimaryMessage);
    if (workers.length === 0) this.#rounds.get(request)?.finish();
    const mine = await own.getMetricsAsJSON();
    await round;
    this.#rounds.delete(request);
    const all = [mine];
    for (const worker of workers) {
      if (this.#gone.has(worker)) continue; // exited during this round: counted in `#retired`
      const answer = answers.get(worker);
      if (answer !== undefined) this.#lastSeen.set(worker, monotonic(answer));
      const counted = answer ?? this.#lastSeen.get(worker);
      if (counted !== undefined) all.push(counted);
    }
    all.push(await this.#retired);
    return aggregate(all).metrics();
  }

  /** A worker's answer to `own-metrics-request`. */
  answer(request: number, worker: Worker, metrics: MetricJson[]): void {
    const round = this.#rounds.get(request);
    if (round === undefined) return;
    round.answers.set(worker, metrics);
    round.expect.delete(worker);
    if (round.expect.size === 0) round.finish();
  }

  /** A worker exited: what was last gathered from it stays in the totals. */
  retire(worker: Worker): void {
    this.#gone.add(worker);
    const last = this.#lastSeen.get(worker);
    this.#lastSeen.delete(worker);
    if (last === undefined) return;
    this.#retired = this.#retired.then((retired) => aggregate([retired, last]).getMetricsAsJSON() as Promise<MetricJson[]>);
  }
}

/** prom-client's sum over processes, with the per-process limits taken at their lowest. */
function aggregate(all: MetricJson[][]): ReturnType<typeof AggregatorRegistry.aggregate> {
  const adjusted = all.map((metrics) =>
    metrics.map((metric) => (MIN_OF_PROCESSES.has(metric.name) ? { ...metric, aggregator: 'min' as const } : metric)),
  );
  return AggregatorRegistry.aggregate(adjusted);
}
