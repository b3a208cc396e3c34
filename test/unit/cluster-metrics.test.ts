import type { Worker } from 'node:cluster';
import pino from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ClusterMetrics, type MetricJson } from '../../src/cluster/metrics-total.ts';

/** One process's registry: a request counter and its descriptor limit. */
function processMetrics(maxFds: number) {
  const prom = new Registry();
  const requests = new Counter({ name: 'tilestamp_http_requests_total', help: 'r', labelNames: ['route'], registers: [prom] });
  new Gauge({ name: 'tilestamp_process_max_fds', help: 'm', registers: [prom] }).set(maxFds);
  return { prom, requests };
}

/** A stand-in for a cluster worker: answers every metrics request at once from its own registry. */
function fakeWorker(metrics: ClusterMetrics, prom: Registry): Worker {
  const worker = {
    isConnected: () => true,
    send(message: { request: number }) {
      void prom.getMetricsAsJSON().then((json) => metrics.answer(message.request, worker, json as MetricJson[]));
    },
  } as unknown as Worker;
  return worker;
}

const sample = (text: string, series: string) =>
  Number(
    text
      .split('\n')
      .find((line) => line.startsWith(`${series} `))
      ?.split(' ')[1],
  );

describe('ClusterMetrics: /metrics over the workers', () => {
  it('keeps counting a restarted worker on top of what its predecessor had counted, and takes the lowest fd limit', async () => {
    const primary = processMetrics(1024);
    const first = processMetrics(2048);
    const second = processMetrics(4096);
    let workers: Worker[] = [];
    const metrics = new ClusterMetrics(() => workers, pino({ level: 'silent' }));
    const one = fakeWorker(metrics, first.prom);
    workers = [one, fakeWorker(metrics, second.prom)];
    first.requests.inc({ route: '/ready' }, 30);
    second.requests.inc({ route: '/ready' }, 12);
    const before = await metrics.gather(primary.prom);
    expect(sample(before, 'tilestamp_http_requests_total{route="/ready"}')).toBe(42);
    expect(sample(before, 'tilestamp_process_max_fds')).toBe(1024);

    // Worker one dies; its successor starts from zero.
    metrics.retire(one);
    const successor = processMetrics(2048);
    workers = [fakeWorker(metrics, successor.prom), workers[1] as Worker];
    successor.requests.inc({ route: '/ready' }, 1);
    const after = await metrics.gather(primary.prom);
    expect(sample(after, 'tilestamp_http_requests_total{route="/ready"}')).toBe(43);
  });
});
