import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Scheduler, Worker, type JobDefinition } from '../packages/resque/src/index.js';
import { readRecords, startWorkerProcess } from './helpers/resque.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { pollUntil, waitForPidExit } from './helpers/wait.js';

// Retries with backoff through the delayed queue, against a private redis-server.
let redis: TestRedis;
let dir: string;
beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'baton-retry-'));
});
afterAll(async () => {
  await redis.close();
  rmSync(dir, { recursive: true, force: true });
});

async function withWorker(ns: string, jobs: Record<string, JobDefinition>, body: (w: Worker, q: Queue) => Promise<void>): Promise<void> {
  const queue = new Queue({ redis: redis.url, namespace: ns });
  const scheduler = new Scheduler({ redis: redis.url, namespace: ns, lockTtlMs: 3000 });
  const worker = new Worker({ redis: redis.url, namespace: ns, queues: ['r'], jobs });
  await scheduler.start();
  await worker.start();
  try {
    await body(worker, queue);
  } finally {
    await worker.stop();
    await scheduler.stop();
    await queue.close();
  }
}

describe('retry: { limit, backoff }', () => {
  it('retries on the backoff schedule (measured), then fails with every attempt summarised', async () => {
    const ns = redis.namespace();
    const runs: Array<{ attempt: number; at: number }> = [];
    const backoff = [300, 600, 900];
    const retries: Date[] = [];
    await withWorker(
      ns,
      {
        Flaky: {
          perform(this: { attempt: number }, n: number) {
            runs.push({ attempt: this.attempt, at: Date.now() });
            throw new TypeError(`boom ${n} #${this.attempt}`);
          },
          retry: { limit: 3, backoff },
        },
      },
      async (worker, queue) => {
        worker.on('retry', (_job, _err, at) => retries.push(at));
        await queue.enqueue('r', 'Flaky', 7);
        await pollUntil(async () => (await queue.failedCount()) === 1, { what: 'the job to end in failed', timeoutMs: 20_000 });
        expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
        const gaps = runs.slice(1).map((r, i) => r.at - runs[i]!.at);
        console.log(`retry gaps (ms): ${gaps.join(', ')} for backoff ${backoff.join(', ')}`);
        gaps.forEach((g, i) => {
          expect(g).toBeGreaterThanOrEqual(backoff[i]! - 5);
          expect(g).toBeLessThan(backoff[i]! + 2000);
        });
        expect(retries).toHaveLength(3);
        const [f] = await queue.failed();
        expect(f).toMatchObject({ exception: 'TypeError', error: 'boom 7 #4', queue: 'r', payload: { class: 'Flaky', args: [7], baton_retry: { attempt: 4 } } });
        expect(f!.backtrace.slice(0, 4)).toEqual([
          expect.stringMatching(/^attempt 1 of 4 failed at \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC: TypeError: boom 7 #1$/),
          expect.stringMatching(/^attempt 2 of 4 failed at .*: TypeError: boom 7 #2$/),
          expect.stringMatching(/^attempt 3 of 4 failed at .*: TypeError: boom 7 #3$/),
          expect.stringMatching(/^attempt 4 of 4 failed at .*: TypeError: boom 7 #4$/),
        ]);
        // Resque counts every failed attempt (as with resque-retry).
        expect(await queue.stats()).toMatchObject({ processed: 4, failed: 4 });
        expect(await queue.delayedCount()).toBe(0);
      },
    );
  });

  it('a job that succeeds on a retry leaves nothing in failed; this.attempt says which run it is', async () => {
    const ns = redis.namespace();
    const seen: number[] = [];
    await withWorker(
      ns,
      {
        Once: {
          perform(this: { attempt: number }) {
            seen.push(this.attempt);
            if (this.attempt < 2) throw new Error('first time fails');
          },
          retry: { limit: 5, backoff: 50 },
        },
      },
      async (_worker, queue) => {
        await queue.enqueue('r', 'Once');
        await pollUntil(() => seen.length === 2, { what: 'the retry to run', timeoutMs: 20_000 });
        await pollUntil(async () => (await queue.stats()).processed === 2, { what: 'the retry to be acknowledged' });
        expect(seen).toEqual([1, 2]);
        expect(await queue.failedCount()).toBe(0);
      },
    );
  });

  it('retryOn: a failure it does not name goes to failed at once', async () => {
    const ns = redis.namespace();
    let runs = 0;
    class Transient extends Error {}
    await withWorker(
      ns,
      {
        Picky: {
          perform(kind: string) {
            runs++;
            if (kind === 'transient') throw new Transient('try again');
            throw new RangeError('never works');
          },
          retry: { limit: 2, backoff: 20, retryOn: [Transient, 'Net::Timeout'] },
        },
      },
      async (_worker, queue) => {
        await queue.enqueue('r', 'Picky', 'fatal');
        await pollUntil(async () => (await queue.failedCount()) === 1, { what: 'the job to fail' });
        expect(runs).toBe(1);
        const [f] = await queue.failed();
        expect(f).toMatchObject({ exception: 'RangeError', payload: { class: 'Picky', args: ['fatal'] } });
      },
    );
  });

  it('bad retry options are a one-line error when the worker is made', () => {
    expect(() => new Worker({ redis: redis.url, jobs: { X: { perform() {}, retry: { limit: -1 } } } })).toThrow('Expected jobs.X.retry.limit to be an integer >= 0, got `-1`');
    expect(() => new Worker({ redis: redis.url, jobs: { X: { perform() {}, retry: { limit: 1, backoff: [] } } } })).toThrow(/Expected jobs\.X\.retry\.backoff to be ms/);
    expect(() => new Worker({ redis: redis.url, jobs: { X: 5 as never } })).toThrow('Expected jobs.X to be a function or { perform, retry }, got `number`');
  });

  it('a job recovered from a worker killed -9 is not counted as an attempt', async () => {
    const ns = redis.namespace();
    const rec = join(dir, `crash-${ns}`);
    const queue = new Queue({ redis: redis.url, namespace: ns });
    try {
      const env = { REDIS_URL: redis.url, NS: ns, QUEUES: 'c', LOCK_TTL_MS: '60000', RECORD: rec };
      await queue.enqueue('c', 'CrashOnce', 'x');
      const a = await startWorkerProcess(env);
      await a.proc.waitForLine(/crashing/);
      await waitForPidExit(a.proc.pid);
      expect(await queue.recoverWorker(a.id)).toBe(1);
      const b = await startWorkerProcess(env);
      await pollUntil(() => readRecords(rec).length === 2, { what: 'the recovered job to run again' });
      // limit 0: had the crash counted, the second run would not have happened (or not as attempt 1).
      expect(readRecords(rec).map((r) => r.what)).toEqual(['attempt1', 'attempt1']);
      await pollUntil(async () => (await queue.stats()).processed === 1, { what: 'its acknowledgement' });
      expect(await queue.failedCount()).toBe(0);
      await b.proc.stop();
    } finally {
      await queue.close();
    }
  });
});
