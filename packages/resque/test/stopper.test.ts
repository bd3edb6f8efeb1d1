import { afterEach, describe, expect, it, vi } from 'vitest';
import { Grace } from '../src/grace.js';
import { Waker } from '../src/waker.js';
import { createStopper, delay, repeat, retry } from '../src/_utils.js';

// Every wait of a worker ends with its one AbortController: after the abort no timer is left.

afterEach(() => {
  vi.useRealTimers();
});

describe("the worker's stopper", () => {
  it('delay ends at its time, or at the abort, and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const stopper = createStopper();
    const ended: string[] = [];
    void delay(100, stopper.signal).then(() => ended.push('100'));
    void delay(10_000, stopper.signal).then(() => ended.push('10000'));
    await vi.advanceTimersByTimeAsync(100);
    expect(ended).toEqual(['100']);
    stopper.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(ended).toEqual(['100', '10000']);
    expect(vi.getTimerCount()).toBe(0);
    await delay(10_000, stopper.signal); // after the abort: at once
  });

  it('many waits on one worker signal raise no listener warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const stopper = createStopper();
      const waits = Array.from({ length: 50 }, () => delay(60_000, stopper.signal));
      stopper.abort();
      await Promise.all(waits);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('repeat runs after each period until more() says no, or the abort', async () => {
    vi.useFakeTimers();
    const stopper = createStopper();
    let runs = 0;
    let more = true;
    const errors: Error[] = [];
    const loop = repeat(
      50,
      async () => {
        runs++;
        if (runs === 2) throw new Error('redis down');
      },
      { signal: stopper.signal, more: () => more, onError: (e) => errors.push(e) },
    );
    await vi.advanceTimersByTimeAsync(49);
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(101);
    expect([runs, errors.map((e) => e.message)]).toEqual([3, ['redis down']]);
    stopper.abort();
    await loop;
    expect(vi.getTimerCount()).toBe(0);

    const other = createStopper();
    runs = 0;
    const stopped = repeat(50, async () => void (runs++, (more = false)), { signal: other.signal, more: () => more, onError: () => {} });
    await vi.advanceTimersByTimeAsync(200);
    await stopped;
    expect(runs).toBe(1);
  });

  it('retry waits 100 ms between attempts while the worker runs, and gives up at the abort', async () => {
    vi.useFakeTimers();
    const stopper = createStopper();
    let attempts = 0;
    const reported: Error[] = [];
    const result = retry(
      async () => {
        attempts++;
        if (attempts < 3) throw new Error(`attempt ${attempts}`);
        return 'landed';
      },
      { signal: stopper.signal, onError: (e) => reported.push(e) },
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    await expect(result).resolves.toBe('landed');
    expect(reported.map((e) => e.message)).toEqual(['attempt 1', 'attempt 2']);

    const never = retry(async () => Promise.reject(new Error('down')), { signal: stopper.signal, onError: () => {} });
    stopper.abort();
    await expect(never).rejects.toThrow('down');
  });

  it('a waker wait ends at a wake-up, at its time, or at the abort; a wake-up with nobody waiting ends the next wait at once', async () => {
    vi.useFakeTimers();
    const stopper = createStopper();
    const waker = new Waker(stopper.signal);
    const ended: string[] = [];
    void waker.wait(1000).then(() => ended.push('woken'));
    waker.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(ended).toEqual(['woken']);
    waker.wake(); // nobody waits: pending
    await waker.wait(1000);
    void waker.wait(1000).then(() => ended.push('timed out'));
    await vi.advanceTimersByTimeAsync(1000);
    void waker.wait(60_000).then(() => ended.push('stopped'));
    stopper.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(ended).toEqual(['woken', 'timed out', 'stopped']);
    expect(vi.getTimerCount()).toBe(0);
    await waker.wait(60_000); // after the abort: at once
  });

  it("a fast stop's grace runs out at the earliest deadline asked for; none once settled", async () => {
    vi.useFakeTimers();
    const stopper = createStopper();
    const grace = new Grace(stopper.signal);
    let over = false;
    void grace.over.then(() => (over = true));
    grace.shorten(5000);
    grace.shorten(8000); // later: ignored
    grace.shorten(1000);
    await vi.advanceTimersByTimeAsync(999);
    expect(over).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(over).toBe(true);
    stopper.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);

    const settled = new Grace(createStopper().signal);
    settled.settle();
    settled.shorten(10);
    expect(vi.getTimerCount()).toBe(0);
  });
});
