import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { runService, type Service } from '../../src/lifecycle.ts';

const logger = pino({ level: 'silent' });

/** A service whose start and stop the test settles by hand, recording what it was asked. */
function controlled() {
  const asked: string[] = [];
  let started: (service: Service) => void = () => {};
  let stopped: (code: number) => void = () => {};
  const service: Service = {
    stop(signal) {
      asked.push(`stop ${signal}`);
      return new Promise((resolve) => {
        stopped = resolve;
      });
    },
    rescan: () => asked.push('rescan'),
  };
  const start = () =>
    new Promise<Service>((resolve) => {
      started = resolve;
    });
  return { asked, service, start, started: () => started(service), stopped: (code: number) => stopped(code) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('runService: signals, start-up and shutdown, the same for every role', () => {
  it('stops once on SIGTERM (a second signal is not a second stop) and exits with the stop code', async () => {
    const signals = new EventEmitter();
    const run = controlled();
    const code = runService(run.start, { logger, shutdownTimeoutMs: 60_000, signals });
    run.started();
    await turn();
    signals.emit('SIGHUP');
    signals.emit('SIGTERM');
    signals.emit('SIGINT');
    run.stopped(0);
    expect(await code).toBe(0);
    expect(run.asked).toEqual(['rescan', 'stop SIGTERM']);
  });

  it('a signal during start-up stops the service as soon as it exists', async () => {
    const signals = new EventEmitter();
    const run = controlled();
    const code = runService(run.start, { logger, shutdownTimeoutMs: 60_000, signals });
    signals.emit('SIGINT');
    await turn();
    expect(run.asked).toEqual([]);
    run.started();
    await turn();
    expect(run.asked).toEqual(['stop SIGINT']);
    run.stopped(0);
    expect(await code).toBe(0);
  });

  it('a stop asked for by the service itself (a worker told by its primary) runs as a signal would', async () => {
    const signals = new EventEmitter();
    const run = controlled();
    let stopFromInside: (signal: string) => void = () => {};
    const code = runService(
      (stop) => {
        stopFromInside = stop;
        return run.start();
      },
      { logger, shutdownTimeoutMs: 60_000, signals },
    );
    run.started();
    await turn();
    stopFromInside('SIGTERM');
    signals.emit('SIGTERM');
    run.stopped(1);
    expect(await code).toBe(1);
    expect(run.asked).toEqual(['stop SIGTERM']);
  });

  it('a start-up failure is told and exits 1', async () => {
    const told: string[] = [];
    const code = await runService(() => Promise.reject(new Error('data folder /nope does not exist')), {
      logger,
      shutdownTimeoutMs: 60_000,
      signals: new EventEmitter(),
      onStartFailure: (message) => told.push(message),
    });
    expect([code, told]).toEqual([1, ['data folder /nope does not exist']]);
  });
});
