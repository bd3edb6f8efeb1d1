import { setMaxListeners } from 'node:events';

// Internal helpers of the worker: never re-exported.

/**
 * Why: the worker's one AbortController ends every wait of the worker at once (a stop), however
 * many are pending (one per slot at concurrency N: no listener-count warning).
 */
export function createStopper(): AbortController {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  return ac;
}

/** Why: a sleep that no stop has to wait for: it ends after `ms` or as soon as `signal` aborts, whichever is first. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** Why: a periodic task (lock renewal, janitor) whose next run is scheduled only after the last one ended, until `signal` aborts or `more()` says no. */
export async function repeat(ms: number, fn: () => Promise<void>, o: { signal: AbortSignal; more: () => boolean; onError: (err: Error) => void }): Promise<void> {
  for (;;) {
    await delay(ms, o.signal);
    if (o.signal.aborted) return;
    await fn().catch(o.onError);
    if (!o.more()) return;
  }
}

/**
 * Why: acknowledgements and give-backs must land: while Redis is away or refuses writes, retry
 * with backoff (50 ms doubling to 1 s, jittered; commands also wait for a reconnection in
 * ioredis), until it is back, about a minute has passed, or the worker is stopped (`signal`).
 */
export async function retry<T>(fn: () => Promise<T>, o: { signal: AbortSignal; onError: (err: Error) => void }): Promise<T> {
  const until = performance.now() + 60_000;
  let ms = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      o.onError(err as Error);
      if (performance.now() > until || o.signal.aborted) throw err;
      ms = ms === 0 ? 50 : Math.min(1000, ms * 2);
      await delay(Math.round(ms * (0.75 + Math.random() * 0.5)), o.signal);
    }
  }
}

/** Why: a promise and its resolve, for a wait that something else ends (Node 20 has no Promise.withResolvers). */
export function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Why: a handler's plain return value is used as is, not awaited (one microtask less per job, hot path). */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

/** Why: what was thrown, as one line for a log, whatever it was. */
export function messageOf(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/** Why: one shared do-nothing (silent logger, ignored settlements) instead of a closure each time. */
export const noop = (): undefined => undefined;
