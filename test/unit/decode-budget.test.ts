import { afterEach, describe, expect, it, vi } from 'vitest';
import { DecodeBudget } from '../../src/http/decode-budget.ts';

afterEach(() => vi.useRealTimers());

describe('DecodeBudget', () => {
  it('leases while there is room, and makes the next wait for a release', async () => {
    const budget = new DecodeBudget(100, 1_000);
    const first = await budget.acquire(60);
    expect(budget.free).toBe(40);
    let second: unknown;
    const waiting = budget.acquire(60).then((lease) => {
      second = lease;
      return lease;
    });
    await Promise.resolve();
    expect(second).toBeUndefined();
    first?.release();
    expect(await waiting).toBeDefined();
    expect(budget.free).toBe(40);
  });

  it('a lease shrunk to what the tile took lets a waiter in', async () => {
    const budget = new DecodeBudget(100, 1_000);
    const big = await budget.acquire(100);
    const waiting = budget.acquire(50);
    big?.shrink(30);
    expect(await waiting).toBeDefined();
    expect(budget.free).toBe(20);
    big?.release();
    expect(budget.free).toBe(50);
  });

  it('gives up after the wait: undefined, and the budget is as it was', async () => {
    vi.useFakeTimers();
    const budget = new DecodeBudget(100, 1_000);
    await budget.acquire(100);
    const waiting = budget.acquire(10);
    vi.advanceTimersByTime(1_000);
    expect(await waiting).toBeUndefined();
    expect(budget.free).toBe(0);
  });

  it('serves waiters in arrival order; a request larger than the budget takes the whole budget', async () => {
    const budget = new DecodeBudget(100, 1_000);
    const order: string[] = [];
    const hold = await budget.acquire(1_000);
    expect(budget.free).toBe(0);
    const a = budget.acquire(80).then(() => order.push('a'));
    const b = budget.acquire(10).then(() => order.push('b'));
    hold?.release();
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'b']);
  });

  it('releasing twice gives back once', async () => {
    const budget = new DecodeBudget(100, 1_000);
    const lease = await budget.acquire(40);
    lease?.release();
    lease?.release();
    expect(budget.free).toBe(100);
  });
});
