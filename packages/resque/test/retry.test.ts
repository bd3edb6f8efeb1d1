import { describe, expect, it } from 'vitest';
import { attemptsSummary, backoffMs, retryDelayMs, retryStateOf, shouldRetry } from '../src/retry.js';

describe('backoff', () => {
  it.each([
    [{ limit: 5, backoff: 250 }, [250, 250, 250]],
    [{ limit: 5, backoff: [10, 60, 600] }, [10, 60, 600, 600]],
    [{ limit: 9, backoff: { exponential: 100, max: 500 } }, [100, 200, 400, 500, 500]],
    [{ limit: 3 }, [1000, 2000, 4000]],
  ])('%j waits %j before retries 1, 2, …', (r, delays) => {
    expect(delays.map((_, i) => backoffMs(r, i + 1))).toEqual(delays);
  });

  it('jitter spreads the delay by at most ± its fraction', () => {
    const r = { limit: 1, backoff: 1000, jitter: 0.2 };
    expect(retryDelayMs(r, 1, () => 0)).toBe(800);
    expect(retryDelayMs(r, 1, () => 0.5)).toBe(1000);
    expect(retryDelayMs(r, 1, () => 0.9999999)).toBe(1200);
  });
});

describe('shouldRetry', () => {
  class Transient extends Error {}
  it('retries attempts up to limit + 1 runs, only what retryOn names', () => {
    expect(shouldRetry({ limit: 2 }, 1, 'Error', new Error())).toBe(true);
    expect(shouldRetry({ limit: 2 }, 2, 'Error', new Error())).toBe(true);
    expect(shouldRetry({ limit: 2 }, 3, 'Error', new Error())).toBe(false);
    expect(shouldRetry(undefined, 1, 'Error', new Error())).toBe(false);
    const r = { limit: 1, retryOn: [Transient, 'Net::Timeout'] as const };
    expect(shouldRetry(r, 1, 'Transient', new Transient())).toBe(true);
    expect(shouldRetry(r, 1, 'Net::Timeout', 'x')).toBe(true);
    expect(shouldRetry(r, 1, 'RangeError', new RangeError())).toBe(false);
    expect(shouldRetry({ limit: 1, retryOn: (e) => (e as Error).message === 'again' }, 1, 'Error', new Error('again'))).toBe(true);
    expect(shouldRetry({ limit: 1, retryOn: () => { throw new Error('bad predicate'); } }, 1, 'Error', new Error())).toBe(false);
  });
});

describe('retry state in the payload', () => {
  it('a first run is attempt 1; baton_retry carries the attempt and earlier errors', () => {
    expect(retryStateOf({ class: 'X', args: [] })).toEqual({ attempt: 1, errors: [] });
    const s = retryStateOf({ class: 'X', args: [], baton_retry: { attempt: 3, errors: [{ at: 't1', exception: 'E', error: 'a' }, { at: 't2', exception: 'E', error: 'b' }] } });
    expect(s.attempt).toBe(3);
    expect(attemptsSummary(s, 3)).toEqual(['attempt 1 of 3 failed at t1: E: a', 'attempt 2 of 3 failed at t2: E: b']);
    expect(retryStateOf({ class: 'X', args: [], baton_retry: { attempt: 'x' } }).attempt).toBe(1);
  });
});
