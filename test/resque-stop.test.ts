// How a Worker stops (issue 10, items 7 and 9): a fast stop after a graceful one applies its
// grace, and a graceful stop decided in a 'finished' listener starts no further job, against a
// private redis-server.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue } from '../packages/resque/src/queue.js';
import { Worker, type InFlightJob, type WorkerOptions } from '../packages/resque/src/worker.js';
import { startForwarder } from './helpers/redis-topology.js';
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

describe('a stop with Redis gone for good (issue 17)', () => {
  it('ends within stopRedisTimeoutMs of the last handler, says what stays behind, and the unacknowledged job is recovered and run again: none lost', { timeout: slow(60_000) }, async () => {
    // The worker reaches Redis through a forwarder that is then shut: Redis is gone for it, and
    // stays here (with what the worker could not write) for the checks and the recovery.
    const link = await startForwarder(suite.redis.port);
    const runs: string[] = [];
    const gate: { release?: () => void } = {};
    const lines: string[] = [];
    const a = worker({
      redis: link.url,
      lockTtlMs: 1000,
      stopRedisTimeoutMs: 1000,
      logger: { debug: () => undefined, info: () => undefined, warn: (m) => void lines.push(String(m)), error: (m) => void lines.push(String(m)) },
      jobs: { Rec: (id: number) => (runs.push(`a:${id}`), new Promise<void>((r) => (gate.release = r))) },
    });
    let acked = 0;
    a.on('success', () => void acked++);
    await queue.enqueue('q', 'Rec', 1);
    await a.start();
    await pollUntil(() => runs.length === 1, { what: 'the job to start' });
    await link.close();
    const t0 = performance.now();
    const stopping = a.stop({ graceful: true });
    // The handler runs on after the stop began: the deadline counts from its end.
    await new Promise((r) => setTimeout(r, 300)); // a window in which the stop must not end: it waits for the handler
    let stopped = false;
    void stopping.then(() => (stopped = true));
    expect(stopped).toBe(false);
    const handlerEnd = performance.now();
    gate.release!();
    await within(stopping, slow(10_000), 'the stop');
    const took = performance.now() - handlerEnd;
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(1000 + slow(3000));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1250);
    expect(acked).toBe(0);
    expect(lines.filter((l) => /did not take the stop's last writes/.test(l))).toEqual([
      `worker ${a.id}: Redis did not take the stop's last writes within 1000 ms; stopping without them: 1 finished job(s) not acknowledged and 0 other job(s) stay in its in-flight lists, with its registration, to be recovered (and run again) like a dead worker's`,
    ]);
    // What could not be written is still there: the job in the slot's inflight list, the registration.
    expect(await suite.client.lrange(key(`baton:inflight:${a.id}`), 0, -1)).toEqual(['q', '{"class":"Rec","args":[1]}']); // its queue, then the job
    expect(await suite.client.smembers(key('workers'))).toEqual([a.id]);

    // Another worker recovers it once the owner lock has lapsed, and runs it again: at least once, never lost.
    const b = worker({ pid: process.pid + 1, lockTtlMs: 1000, jobs: { Rec: (id: number) => void runs.push(`b:${id}`) } }); // another process
    const recovered: string[] = [];
    b.on('recovered', (id) => void recovered.push(id));
    await b.start();
    await pollUntil(() => runs.length === 2, { what: 'the recovered job to run', timeoutMs: slow(10_000) });
    expect(runs).toEqual(['a:1', 'b:1']);
    expect(recovered).toEqual([a.id]);
    await pollUntil(async () => (await suite.client.smembers(key('workers'))).join() === b.id, { what: 'the dead registration to go' });
  });
});
