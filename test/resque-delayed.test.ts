import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Scheduler, Worker } from '../packages/resque/src/index.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { pollUntil } from './helpers/wait.js';

// Delayed jobs in resque-scheduler's layout and the scheduler that moves them, against a private redis-server.
let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.close();
});

const at = (secs: number, ms = 0) => new Date(secs * 1000 + ms);

describe('Queue.enqueueAt / removeDelayed (resque-scheduler layout)', () => {
  it('writes delayed_queue_schedule, delayed:<secs> and timestamps:<payload> byte for byte as Ruby does', async () => {
    const ns = redis.namespace();
    const queue = new Queue({ redis: redis.url, namespace: ns });
    const r = redis.client();
    try {
      const secs = Math.floor(Date.now() / 1000) + 3600;
      await queue.enqueueAt(at(secs), 'mail', 'Mailer', 1, 'x');
      const item = '{"class":"Mailer","args":[1,"x"],"queue":"mail"}';
      expect(await r.zrange(`${ns}:delayed_queue_schedule`, 0, -1, 'WITHSCORES')).toEqual([String(secs), String(secs)]);
      expect(await r.lrange(`${ns}:delayed:${secs}`, 0, -1)).toEqual([item]);
      expect(await r.smembers(`${ns}:timestamps:${item}`)).toEqual([`delayed:${secs}`]);
      // A whole second needs nothing more: the keys are exactly Ruby's.
      expect(await r.exists(`${ns}:baton:delayed_at:${secs}`)).toBe(0);
      // Milliseconds: the same three keys, plus the due ms beside them.
      await queue.enqueueAt(at(secs, 250), 'mail', 'Mailer', 2);
      // The second's earlier job gets the second's start, so it is not held back by the later one.
      expect(await r.zrange(`${ns}:baton:delayed_at:${secs}`, 0, -1, 'WITHSCORES')).toEqual([item, String(secs * 1000), '{"class":"Mailer","args":[2],"queue":"mail"}', String(secs * 1000 + 250)]);
      expect(await r.pttl(`${ns}:baton:delayed_at:${secs}`)).toBeGreaterThan(3600_000);
      expect(await queue.delayedCount()).toBe(2);
      const listed = await queue.delayed();
      expect(listed.map((j) => [j.at.getTime(), j.queue, j.class, j.args])).toEqual([
        [secs * 1000, 'mail', 'Mailer', [1, 'x']],
        [secs * 1000 + 250, 'mail', 'Mailer', [2]],
      ]);
      expect(await queue.delayedCounts()).toEqual({ mail: 2 });
      // remove_delayed: every copy, whatever its time; emptied seconds leave the schedule.
      await queue.enqueueAt(at(secs + 60), 'mail', 'Mailer', 1, 'x');
      expect(await queue.removeDelayed('mail', 'Mailer', 1, 'x')).toBe(2);
      expect(await r.zrange(`${ns}:delayed_queue_schedule`, 0, -1)).toEqual([String(secs)]);
      expect(await r.exists(`${ns}:timestamps:${item}`)).toBe(0);
      expect(await queue.removeDelayed('mail', 'Mailer', 2)).toBe(1);
      expect(await queue.delayedCount()).toBe(0);
      expect(await r.keys(`${ns}:*`)).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('a time already come enqueues at once, as resque-scheduler does', async () => {
    const ns = redis.namespace();
    const queue = new Queue({ redis: redis.url, namespace: ns });
    try {
      await queue.enqueueAt(Date.now() - 5000, 'q', 'Late', 1);
      expect(await queue.peek('q', 0, 5)).toEqual([{ class: 'Late', args: [1] }]);
      expect(await queue.delayedCount()).toBe(0);
    } finally {
      await queue.close();
    }
  });

  it('rejects a due time that is not one, in one line', async () => {
    const queue = new Queue({ redis: redis.url, namespace: redis.namespace() });
    try {
      await expect(queue.enqueueAt(new Date('nope'), 'q', 'C')).rejects.toThrow('Expected a Date or epoch milliseconds for the due time, got `Invalid Date`');
      await expect(queue.enqueueIn(-5, 'q', 'C')).rejects.toThrow('Expected a delay in milliseconds (>= 0), got `-5`');
    } finally {
      await queue.close();
    }
  });
});

describe('reading the delayed queue (lua/delayed-count-1.lua, delayed-list-1.lua)', () => {
  it('counts per queue and in all, and lists a page, over thousands of seconds (several calls each), seconds holding several queues, Ruby and node-resque payloads', async () => {
    const ns = redis.namespace();
    const queue = new Queue({ redis: redis.url, namespace: ns });
    const r = redis.client();
    try {
      // 12,000 seconds (more than one count call's slice), each holding 1 to 3 jobs bound for
      // queues a, b, c round robin: a second with 2 or 3 jobs holds several queues.
      const secs0 = Math.floor(Date.now() / 1000) + 3600;
      const want: Record<string, number> = {};
      const all: Array<{ ms: number; item: string }> = [];
      const add = (m: ReturnType<typeof r.pipeline>, secs: number, item: string, q: string) => {
        m.zadd(`${ns}:delayed_queue_schedule`, secs, String(secs));
        m.rpush(`${ns}:delayed:${secs}`, item);
        m.sadd(`${ns}:timestamps:${item}`, `delayed:${secs}`);
        want[q] = (want[q] ?? 0) + 1;
        all.push({ ms: secs * 1000, item });
      };
      let n = 0;
      const m = r.pipeline();
      for (let i = 0; i < 12_000; i++) {
        for (let k = 0; k <= i % 3; k++, n++) add(m, secs0 + i, JSON.stringify({ class: 'Job', args: [n], queue: 'abc'[n % 3] }), 'abc'[n % 3]!);
      }
      // Ruby's and node-resque's key orders, a payload without a queue, one that is no job, one that is not JSON.
      add(m, secs0 + 5, '{"class":"Ruby","args":[{"queue":"x"}],"queue":"r"}', 'r');
      add(m, secs0 + 5, '{"class":"Node","queue":"nr","args":[]}', 'nr');
      add(m, secs0 + 7000, '{"class":"NoQueue","args":[]}', '');
      add(m, secs0 + 7000, '{"queue":"a","args":[]}', '');
      add(m, secs0 + 11_999, 'not json', '');
      await m.exec();
      // Jobs of ours due within their second (their ms in baton:delayed_at:<secs>), among the rest.
      for (const [secs, ms] of [[secs0 + 1, 900], [secs0 + 1, 100], [secs0 + 6001, 500]] as const) {
        await queue.enqueueAt(secs * 1000 + ms, 'b', 'Ms', ms);
        want.b = want.b! + 1;
        all.push({ ms: secs * 1000 + ms, item: JSON.stringify({ class: 'Ms', args: [ms], queue: 'b' }) });
      }
      const total = Object.values(want).reduce((a, b) => a + b, 0);
      expect(total).toBe(24_008);

      expect(await queue.delayedCounts()).toEqual(want);
      expect(await queue.delayedCount()).toBe(total);
      // Soonest first: by second, then by millisecond within one (a job without one: its second's start).
      const order = all.map((j, i) => ({ ...j, i })).sort((x, y) => Math.floor(x.ms / 1000) - Math.floor(y.ms / 1000) || x.ms - y.ms || x.i - y.i);
      const page = async (start: number, count: number) => (await queue.delayed(start, count)).map((j) => `${j.at.getTime()} ${j.raw}`);
      const expected = (start: number, count: number) => order.slice(start, start + count).map((j) => `${j.ms} ${j.item}`);
      expect(await page(0, 10)).toEqual(expected(0, 10));
      expect((await queue.delayed(0, 12)).map((j) => j.class)).toEqual(['Job', 'Job', 'Job', 'Ms', 'Ms', 'Job', 'Job', 'Job', 'Job', 'Job', 'Job', 'Job']);
      // A page starting inside a second; one past more seconds than a list call looks at; the end.
      expect(await page(950, 50)).toEqual(expected(950, 50));
      expect(await page(13_001, 40)).toEqual(expected(13_001, 40));
      expect(await page(total - 3, 10)).toEqual(expected(total - 3, 10));
      expect(await page(total, 10)).toEqual([]);
      expect((await page(23_990, 20)).at(-1)).toBe(`${(secs0 + 11_999) * 1000} not json`);
      // Read-only: the reads wrote nothing.
      expect(await r.zcard(`${ns}:delayed_queue_schedule`)).toBe(12_000);
    } finally {
      await queue.close();
    }
  });

  it('counts nothing and lists nothing when nothing is delayed', async () => {
    const queue = new Queue({ redis: redis.url, namespace: redis.namespace() });
    try {
      expect(await queue.delayedCount()).toBe(0);
      expect(await queue.delayedCounts()).toEqual({});
      expect(await queue.delayed(0, 10)).toEqual([]);
      expect(await queue.nextDelayedAt()).toBeUndefined();
    } finally {
      await queue.close();
    }
  });
});

describe('the mover (lua/move-2.lua)', () => {
  it('moves due jobs as Resque payloads (args byte for byte), keeps later ones, and fails a job without a queue', async () => {
    const ns = redis.namespace();
    const queue = new Queue({ redis: redis.url, namespace: ns });
    const r = redis.client();
    try {
      const now = Math.floor(Date.now() / 1000);
      // Ruby's and node-resque's key orders, args cjson would mangle ([] and big numbers).
      await r.rpush(`${ns}:delayed:${now - 5}`, '{"class":"A","args":[[],{},12345678901234567890,1.10],"queue":"q"}', '{"class":"B","queue":"q","args":[]}', '{"class":"C","args":[]}');
      await r.zadd(`${ns}:delayed_queue_schedule`, now - 5, String(now - 5));
      await queue.enqueueAt(at(now + 3600), 'q', 'Later');
      const res = await queue.delayedStore.moveDue('', 100);
      expect(res.moved).toBe(3);
      expect(res.more).toBe(false);
      expect(res.next).toBe((now + 3600) * 1000);
      expect(await r.lrange(`${ns}:queue:q`, 0, -1)).toEqual(['{"class":"A","args":[[],{},12345678901234567890,1.10]}', '{"class":"B","args":[]}']);
      expect(await r.smembers(`${ns}:queues`)).toEqual(['q']);
      const failed = JSON.parse((await r.lindex(`${ns}:failed`, 0))!);
      expect(failed).toMatchObject({ exception: 'ArgumentError', payload: { class: 'C', args: [] }, worker: 'scheduler' });
      expect(await r.exists(`${ns}:delayed:${now - 5}`)).toBe(0);
      expect(await queue.delayedCount()).toBe(1);
    } finally {
      await queue.close();
    }
  });

  it('moves nothing for a caller whose token is not the lock (a deposed leader)', async () => {
    const ns = redis.namespace();
    const queue = new Queue({ redis: redis.url, namespace: ns });
    const r = redis.client();
    try {
      // One second for both keys: read twice, a second's boundary between them left the schedule naming an empty list.
      const due = Math.floor(Date.now() / 1000) - 1;
      await r.rpush(`${ns}:delayed:${due}`, '{"class":"Due","args":[],"queue":"q"}');
      await r.zadd(`${ns}:delayed_queue_schedule`, due, String(due));
      await r.set(`${ns}:${ns}:resque_scheduler_master_lock`, 'someone-else');
      expect((await queue.delayedStore.moveDue('me', 100)).moved).toBe(-1);
      expect(await queue.size('q')).toBe(0);
      expect((await queue.delayedStore.moveDue('someone-else', 100)).moved).toBe(1);
    } finally {
      await queue.close();
    }
  });
});

describe('Scheduler', () => {
  it('is idle-cheap: an idle leader makes about two calls per third of its TTL (renew, move), nothing more', async () => {
    const ns = redis.namespace();
    const r = redis.client();
    const evalCalls = async () => {
      const info = await r.info('commandstats');
      return ['evalsha', 'eval'].reduce((sum, c) => sum + Number(new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(info)?.[1] ?? 0), 0);
    };
    const scheduler = new Scheduler({ redis: redis.url, namespace: ns, lockTtlMs: 1500 });
    await scheduler.start();
    try {
      await pollUntil(() => scheduler.isLeader, { what: 'the scheduler to lead' });
      const before = await evalCalls();
      // A measurement window, not a synchronisation: count what the idle leader sends in 2.5 s.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const calls = (await evalCalls()) - before;
      console.log(`idle leader, TTL 1500 ms: ${calls} script calls in 2.5 s`);
      expect(calls).toBeLessThanOrEqual(14);
    } finally {
      await scheduler.stop();
    }
  });

  it('runs delayed jobs at their time when idle (lateness reported), each once', async () => {
    const ns = redis.namespace();
    const queue = new Queue({ redis: redis.url, namespace: ns });
    const scheduler = new Scheduler({ redis: redis.url, namespace: ns, lockTtlMs: 3000 });
    const late: number[] = [];
    const worker = new Worker({ redis: redis.url, namespace: ns, queues: ['timed'], jobs: { Due: (dueMs: number) => void late.push(Date.now() - dueMs) } });
    await scheduler.start();
    await worker.start();
    try {
      await pollUntil(() => scheduler.isLeader, { what: 'the scheduler to lead' });
      const n = 20;
      for (let i = 0; i < n; i++) {
        const due = Date.now() + 300 + i * 37;
        await queue.enqueueAt(due, 'timed', 'Due', due);
      }
      await pollUntil(() => late.length === n, { what: 'every delayed job to run', timeoutMs: 20_000 });
      // A window for a duplicate to show up (an absence has no event to wait on), not a synchronisation.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(late).toHaveLength(n);
      const sorted = [...late].sort((a, b) => a - b);
      console.log(`delayed-job lateness at idle (ms, scheduler → worker ran it): min ${sorted[0]} p50 ${sorted[n >> 1]} max ${sorted[n - 1]}`);
      // Never early; the 50 ms target is measured and reported, asserted generously (busy machine).
      expect(sorted[0]).toBeGreaterThanOrEqual(0);
      expect(sorted[n >> 1]).toBeLessThan(1000);
    } finally {
      await worker.stop();
      await scheduler.stop();
      await queue.close();
    }
  });
});
