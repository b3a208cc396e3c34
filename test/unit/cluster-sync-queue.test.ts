import { describe, expect, it } from 'vitest';
import { SYNC_RETRY_CAP_MS, SYNC_RETRY_MS, syncQueue } from '../../src/cluster/sync-queue.ts';
import { ManualClock } from '../helpers/clock.ts';

interface Sync {
  seq: number;
  name: string;
}

/** A hand-driven `apply`: each call waits until the test settles it, complete or not. */
function controlledApply() {
  const calls: { message: Sync; settle: (complete: boolean) => Promise<void> }[] = [];
  const applied: string[] = [];
  const apply = (message: Sync) =>
    new Promise<boolean>((resolve) => {
      calls.push({
        message,
        settle: async (complete) => {
          applied.push(message.name);
          resolve(complete);
          // Let the queue take its next step (the promise chain) before the test goes on.
          for (let i = 0; i < 5; i++) await Promise.resolve();
        },
      });
    });
  return { apply, calls, applied };
}

/** A sync queue over a hand-driven `apply` and a hand-moved clock. */
function queue() {
  const clock = new ManualClock();
  const { apply, calls, applied } = controlledApply();
  return { clock, calls, applied, deliver: syncQueue<Sync>(apply, clock) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('syncQueue: a worker applies the primary syncs in order, newest last', () => {
  it('retries an incomplete sync after the backoff', async () => {
    const { clock, calls, deliver } = queue();
    deliver({ seq: 1, name: 'A' });
    await calls[0]?.settle(false);
    expect(clock.pending).toEqual([SYNC_RETRY_MS]);
    clock.advance(SYNC_RETRY_MS);
    await turn();
    expect(calls.map((c) => c.message.name)).toEqual(['A', 'A']);
  });

  it('skips a sync overtaken by a newer one while it waited', async () => {
    const { calls, deliver } = queue();
    deliver({ seq: 1, name: 'A' });
    deliver({ seq: 2, name: 'B' });
    deliver({ seq: 3, name: 'C' });
    await calls[0]?.settle(true);
    await calls[1]?.settle(true);
    expect(calls.map((c) => c.message.name)).toEqual(['A', 'C']);
  });

  it('never lets the retry of an older sync run after a newer sync', async () => {
    const { clock, calls, applied, deliver } = queue();
    deliver({ seq: 1, name: 'A' });
    await calls[0]?.settle(false); // A could not be done whole: its retry waits
    deliver({ seq: 2, name: 'B' }); // B starts, and takes a while
    expect(calls.map((c) => c.message.name)).toEqual(['A', 'B']);
    clock.advance(SYNC_RETRY_MS); // A's retry falls due while B is being applied
    await turn();
    await calls[1]?.settle(true);
    await turn();
    // Nothing older than B may be applied after B.
    expect(applied.slice(applied.indexOf('B'))).toEqual(['B']);
    expect(calls.slice(2).map((c) => c.message.name)).toEqual([]);
    expect(clock.pending).toEqual([]);
  });

  it('ignores a sync older than one already applied (a message that arrives late)', async () => {
    const { calls, deliver } = queue();
    deliver({ seq: 5, name: 'E' });
    await calls[0]?.settle(true);
    deliver({ seq: 4, name: 'D' });
    await turn();
    expect(calls.map((c) => c.message.name)).toEqual(['E']);
  });

  it('retries the newest sync, not the one that failed, when a newer one failed too', async () => {
    const { clock, calls, deliver } = queue();
    deliver({ seq: 1, name: 'A' });
    await calls[0]?.settle(false);
    deliver({ seq: 2, name: 'B' });
    await calls[1]?.settle(false);
    clock.advance(SYNC_RETRY_CAP_MS);
    await turn();
    expect(calls.slice(2).map((c) => c.message.name)).toEqual(['B']);
  });
});
