import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/http/errors.ts';
import { GenerationGate } from '../../src/http/generation-gate.ts';

/** A job that runs until `finish()`, counting how many run at once. */
function jobs() {
  let running = 0;
  let most = 0;
  const finishers: (() => void)[] = [];
  const job = () => async () => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((done) => finishers.push(done));
    running--;
    return 'made';
  };
  return { job, finishers, most: () => most, running: () => running };
}

/** Lets every already-settled promise run its callbacks. */
const settle = () => new Promise((done) => setImmediate(done));

describe('GenerationGate', () => {
  it('runs at most maxActive at once, the rest in arrival order as slots free', async () => {
    const gate = new GenerationGate(2, 10);
    const { job, finishers, most, running } = jobs();
    const results = Array.from({ length: 5 }, () => gate.run(job()));
    await settle();
    expect([running(), gate.active, gate.queued]).toEqual([2, 2, 3]);
    while (finishers.length > 0) {
      finishers.shift()?.();
      await settle();
    }
    expect(await Promise.all(results)).toEqual(Array(5).fill('made'));
    expect(most()).toBe(2);
    expect([gate.active, gate.queued]).toEqual([0, 0]);
  });

  it('refuses with 503 and Retry-After when the queue is full, and frees the slot of a failed job', async () => {
    const gate = new GenerationGate(1, 1);
    const { job, finishers } = jobs();
    const first = gate.run(job());
    const second = gate.run(job());
    const refused = gate.run(job()).catch((error: unknown) => error);
    const error = (await refused) as HttpError;
    expect(error).toBeInstanceOf(HttpError);
    expect(error.status).toBe(503);
    expect(error.retryAfter).toBeGreaterThan(0);
    await settle();
    finishers.shift()?.();
    expect(await first).toBe('made');
    const failing = gate.run(() => Promise.reject(new Error('bad font')));
    await settle();
    finishers.shift()?.();
    expect(await second).toBe('made');
    await expect(failing).rejects.toThrow('bad font');
    expect([gate.active, gate.queued]).toEqual([0, 0]);
  });
});
