import { describe, expect, it } from 'vitest';
import { BUSY_SHOWN_MS, READ_PROBLEM_LOG_MS, ReadProblems } from '../../src/source/read-problems.ts';
import { ManualClock } from '../helpers/clock.ts';

describe('ReadProblems', () => {
  it('asks for one log line per tileset and kind a minute, counting those left out', () => {
    const clock = new ManualClock();
    const problems = new ReadProblems(clock);
    const source = {};
    expect(problems.report('a', source, 'broken', 'malformed')).toBe(1);
    expect(problems.report('a', source, 'broken', 'malformed')).toBe(0);
    expect(problems.report('b', {}, 'broken', 'malformed')).toBe(1); // per tileset
    clock.advance(READ_PROBLEM_LOG_MS - 1);
    expect(problems.report('a', source, 'broken', 'malformed')).toBe(0);
    clock.advance(1);
    expect(problems.report('a', source, 'broken', 'malformed')).toBe(3); // this one and the two left out
    expect(problems.report('a', source, 'busy', 'locked')).toBe(1); // another kind starts afresh
    expect(problems.totals).toEqual({ busy: 1, broken: 5 });
  });

  it('shows broken until forgotten, busy only while recent, and starts afresh for a new source', () => {
    const clock = new ManualClock();
    const problems = new ReadProblems(clock);
    const old = {};
    problems.report('a', old, 'busy', 'locked');
    problems.report('a', old, 'busy', 'locked');
    expect(problems.current('a')).toMatchObject({ kind: 'busy', count: 2, since: 0, last: 0 });
    clock.advance(BUSY_SHOWN_MS + 1);
    expect(problems.current('a')).toBeUndefined();
    expect(problems.report('a', {}, 'broken', 'malformed')).toBe(1);
    clock.advance(10 * BUSY_SHOWN_MS);
    expect(problems.current('a')).toMatchObject({ kind: 'broken', count: 1 });
    problems.forget('a');
    expect(problems.current('a')).toBeUndefined();
  });
});
