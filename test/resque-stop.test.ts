// How a Worker stops (issue 10, items 7 and 9): a fast stop after a graceful one applies its
// grace, and a graceful stop decided in a 'finished' listener starts no further job, against a
// private redis-server.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue } from '../packages/resque/src/queue.js';
import { Worker, type InFlightJob, type WorkerOptions } from '../packages/resque/src/worker.js';
import { storeSuite } from './helpers/store-suite.js';
import { pollUntil } from './helpers/wait.js';
import { slow } from './helpers/slowness.js';

const suite = storeSuite();
const key = suite.key;
let queue: Queue;
const workers: Worker[] = [];
const releases: Array<() => void> = [];

beforeEach(() => {
  queue = new Queue({ redis: suite.redis.url, namespace: suite.ns });
});
afterEach(async () => {
  for (const r of releases.splice(0)) r();
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceful: false, graceMs: 100 }).catch(() => undefined)));
  await queue.close();
});

function worker(options: Partial<WorkerOptions> & Pick<WorkerOptions, 'jobs'>): Worker {
  const w = new Worker({ redis: suite.redis.url, namespace: suite.ns, queues: ['q'], ...options });
  workers.push(w);
  return w;
}

/** Rejects after `ms` (a deadline for a promise that must settle). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms))),
  ]);
}

describe('stop({ graceful: true }) then stop({ graceful: false, graceMs })', () => {
  it('upgrades the stop: the job is aborted, given back to the head of its queue after graceMs, and both calls resolve', async () => {
    let started = 0;
    let aborted = false;
    const w = worker({
      jobs: {
        // Ignores its signal (only notes the abort): only the grace can end this stop.
        Stuck() {
          started++;
          this.signal.addEventListener('abort', () => (aborted = true));
          return new Promise<void>((r) => releases.push(r));
        },
      },
    });
    const requeued: InFlightJob[] = [];
    w.on('requeued', (job) => requeued.push(job));
    await queue.enqueue('q', 'Other', 0);
    await queue.enqueue('q', 'Stuck', 1);
    await w.start();
    await pollUntil(() => started === 1, { what: 'the job to start' });
    const graceful = w.stop({ graceful: true });
    const t0 = performance.now();
    const fast = w.stop({ graceful: false, graceMs: 200 });
    await within(fast, slow(5000), 'the fast stop');
    await within(graceful, 1000, 'the graceful stop');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(aborted).toBe(true);
    expect(requeued.map((j) => j.payload?.args)).toEqual([[1]]);
    expect(await suite.client.lrange(key('queue:q'), 0, -1)).toEqual(['{"class":"Stuck","args":[1]}']);
    expect(await suite.client.smembers(key('workers'))).toEqual([]);
  });

  it('a second fast stop with a shorter grace shortens it', async () => {
    let started = false;
    const w = worker({ jobs: { Stuck: () => ((started = true), new Promise<void>((r) => releases.push(r))) } });
    await queue.enqueue('q', 'Stuck');
    await w.start();
    await pollUntil(() => started, { what: 'the job to start' });
    void w.stop({ graceful: false, graceMs: 60_000 });
    await within(w.stop({ graceful: false, graceMs: 100 }), slow(5000), 'the shorter grace');
    expect(await suite.client.llen(key('queue:q'))).toBe(1);
  });
});

describe("a graceful stop decided in a 'finished' listener", () => {
  it.each([
    { prefetch: 16, concurrency: 1 },
    { prefetch: 1, concurrency: 1 },
    { prefetch: 16, concurrency: 2 },
    { prefetch: 1, concurrency: 2 },
  ])('starts no further job (prefetch $prefetch, concurrency $concurrency); the finished job is acknowledged once, the batch goes back in order', async ({ prefetch, concurrency }) => {
    const n = 40;
    const ran: number[] = [];
    const w = worker({
      prefetch,
      concurrency,
      // Quick jobs (so batches grow), async at concurrency 2 (so both slots are busy at once).
      jobs: { J: (i: number) => (ran.push(i), concurrency > 1 ? new Promise<void>((r) => setImmediate(r)) : undefined) },
    });
    for (let i = 0; i < n; i++) await queue.enqueue('q', 'J', i);
    let finished = 0;
    let stopping: Promise<void> | undefined;
    const startedAfterStop: unknown[] = [];
    const events: string[] = [];
    w.on('finished', (job, failure) => {
      events.push(`finished ${job.payload?.args[0]}`);
      expect(failure).toBeUndefined();
      if (++finished === 5) stopping = w.stop({ graceful: true });
    });
    w.on('success', (job) => events.push(`success ${job.payload?.args[0]}`));
    w.on('job', (job) => stopping && startedAfterStop.push(job.payload?.args[0]));
    await w.start();
    await pollUntil(() => stopping !== undefined, { what: 'the stop decision' });
    await within(stopping!, slow(5000), 'the graceful stop');

    expect(startedAfterStop).toEqual([]);
    // Every job that ran was acknowledged once; 'finished' came before its 'success'.
    expect(await suite.client.get(key('stat:processed'))).toBe(String(ran.length));
    for (const i of ran) expect(events.indexOf(`finished ${i}`)).toBeLessThan(events.indexOf(`success ${i}`));
    expect(events.filter((e) => e.startsWith('success')).length).toBe(ran.length);
    expect(ran.length).toBeLessThanOrEqual(5 + concurrency - 1);
    // What did not run is back in its queue, in order; nothing is held anywhere.
    const rest = Array.from({ length: n }, (_, i) => i).filter((i) => !ran.includes(i));
    expect(await suite.client.lrange(key('queue:q'), 0, -1)).toEqual(rest.map((i) => `{"class":"J","args":[${i}]}`));
    expect(await suite.client.keys(key('baton:inflight:*'))).toEqual([]);
    expect(await suite.client.llen(key('failed'))).toBe(0);
  });
});
