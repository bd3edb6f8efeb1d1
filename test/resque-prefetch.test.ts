// Prefetch at concurrency 1: lua/settle-3.lua's contract through DataStore.settle, recover-3.lua
// on a slot holding several jobs, and the Worker's batches (order, give-back of jobs a slow job
// holds up, pause mid-batch, kill -9 mid-batch) against a private redis-server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DataStore } from '../packages/resque/src/data-store.js';
import { Queue } from '../packages/resque/src/queue.js';
import { Worker, type WorkerOptions } from '../packages/resque/src/worker.js';
import { readRecords, startWorkerProcess } from './helpers/resque.js';
import { storeSuite } from './helpers/store-suite.js';
import { pollUntil } from './helpers/wait.js';

const suite = storeSuite();
let queue: Queue;
let dir: string;
const workers: Worker[] = [];

beforeEach(() => {
  queue = new Queue({ redis: suite.redis.url, namespace: suite.ns });
  dir = mkdtempSync(join(tmpdir(), 'baton-prefetch-'));
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceful: false, graceMs: 100 }).catch(() => undefined)));
  await queue.close();
  rmSync(dir, { recursive: true, force: true });
});

const key = suite.key;
const job = (n: number) => `{"class":"J","args":[${n}]}`;
const ID = 'h:1:q';
const inflight = () => suite.client.lrange(key(`baton:inflight:${ID}`), 0, -1);
async function push(queueName: string, ...nums: number[]): Promise<void> {
  for (const n of nums) await suite.store.push(queueName, job(n));
}
const settle = async (...a: Parameters<DataStore['settle']>) => asText(await suite.store.settle(...a));
/** Payload bytes from the scripts as text, to compare with the JSON pushed (valid UTF-8 here). */
function asText<T>(v: T): T {
  if (Buffer.isBuffer(v)) return v.toString() as T;
  if (Array.isArray(v)) return v.map(asText) as T;
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asText(x)])) as T;
  return v;
}

function worker(options: Partial<WorkerOptions> & Pick<WorkerOptions, 'jobs'>): Worker {
  const w = new Worker({ redis: suite.redis.url, namespace: suite.ns, ...options });
  workers.push(w);
  return w;
}

describe('settle-3.lua (DataStore.settle)', () => {
  it('reserves up to `want` jobs from the highest-priority queue that has any, in order; the working record names the first', async () => {
    await push('low', 1, 2);
    await push('high', 3, 4, 5);
    const r = await settle(ID, ['high', 'low'], 5000, { held: 0, acks: [], keep: 0, want: 4 });
    expect(r).toEqual({ acked: true, next: { kind: 'job', queue: 'high', raw: job(3) }, jobs: [job(3), job(4), job(5)] });
    expect(await inflight()).toEqual(['high', job(3), 'high', job(4), 'high', job(5)]);
    expect(JSON.parse((await suite.client.get(key(`worker:${ID}`)))!)).toMatchObject({ queue: 'high', payload: { class: 'J', args: [3] } });
    expect(await suite.client.pttl(key(`baton:lock:${ID}`))).toBeGreaterThan(4000);
    expect(await suite.client.lrange(key('queue:low'), 0, -1)).toEqual([job(1), job(2)]);
  });

  it('acknowledges the first m, keeps the next, gives the rest back to the head of their queue in order', async () => {
    await push('q', 1, 2, 3, 4, 9);
    await settle(ID, ['q'], undefined, { held: 0, acks: [], keep: 0, want: 4 });
    const failure = '{"failed_at":"x","payload":{"class":"J","args":[2]}}';
    const r = await settle(ID, ['q'], undefined, {
      held: 4,
      acks: [
        { raw: job(1), failure: undefined },
        { raw: job(2), failure },
      ],
      keep: 1,
      want: 4,
    });
    // Nothing reserved while a job is kept (still running).
    expect(r).toEqual({ acked: true, next: { kind: 'empty' }, jobs: [] });
    expect(await suite.client.mget(key('stat:processed'), key(`stat:processed:${ID}`), key('stat:failed'), key(`stat:failed:${ID}`))).toEqual(['2', '2', '1', '1']);
    expect(await suite.client.lrange(key('failed'), 0, -1)).toEqual([failure]);
    expect(await inflight()).toEqual(['q', job(3)]);
    expect(await suite.client.lrange(key('queue:q'), 0, -1)).toEqual([job(4), job(9)]);
    expect(JSON.parse((await suite.client.get(key(`worker:${ID}`)))!).payload.args).toEqual([3]);
    // The kept one finishes: acknowledged, nothing left; the next batch comes in the same call.
    const next = await settle(ID, ['q'], undefined, { held: 1, acks: [{ raw: job(3), failure: undefined }], keep: 0, want: 1 });
    expect(next.jobs).toEqual([job(4)]);
    expect(await inflight()).toEqual(['q', job(4)]);
  });

  it('paused or stopping (want 0): finished ones acknowledged, unstarted ones back at the head; inflight list and working record gone', async () => {
    await suite.client.rpush(key(`baton:inflight:${ID}`), 'a', job(1), 'b', job(3), 'a', job(2));
    await suite.client.set(key(`worker:${ID}`), '{}');
    await push('a', 7);
    const r = await settle(ID, [], undefined, { held: 3, acks: [{ raw: job(1), failure: undefined }], keep: 0, want: 0 });
    expect(r.acked).toBe(true);
    expect(await suite.client.get(key('stat:processed'))).toBe('1');
    expect(await suite.client.lrange(key('queue:a'), 0, -1)).toEqual([job(2), job(7)]);
    expect(await suite.client.lrange(key('queue:b'), 0, -1)).toEqual([job(3)]);
    expect((await suite.client.smembers(key('queues'))).sort()).toEqual(['a', 'b']);
    expect(await suite.client.exists(key(`baton:inflight:${ID}`), key(`worker:${ID}`))).toBe(0);
  });

  it('a list that is not what the caller holds (recovered meanwhile): nothing written, nothing reserved', async () => {
    await push('q', 1, 2, 3);
    await settle(ID, ['q'], undefined, { held: 0, acks: [], keep: 0, want: 2 });
    await suite.client.del(key(`baton:inflight:${ID}`));
    const r = await settle(ID, ['q'], undefined, { held: 2, acks: [{ raw: job(1), failure: undefined }], keep: 0, want: 2 });
    expect(r).toEqual({ acked: false, next: { kind: 'empty' }, jobs: [] });
    expect(await suite.client.get(key('stat:processed'))).toBeNull();
    expect(await suite.client.lrange(key('queue:q'), 0, -1)).toEqual([job(3)]);
    // An acknowledgement that names another payload is refused the same way.
    await settle(ID, ['q'], undefined, { held: 0, acks: [], keep: 0, want: 1 });
    const wrong = await settle(ID, ['q'], undefined, { held: 1, acks: [{ raw: job(1), failure: undefined }], keep: 0, want: 1 });
    expect(wrong.acked).toBe(false);
    expect(await inflight()).toEqual(['q', job(3)]);
  });

  it('busy when the list holds jobs the caller does not know of; paused by pause-all-workers', async () => {
    await suite.client.rpush(key(`baton:inflight:${ID}`), 'q', job(1));
    expect((await settle(ID, ['q'], undefined, { held: 0, acks: [], keep: 0, want: 4 })).next).toEqual({ kind: 'busy' });
    await suite.client.del(key(`baton:inflight:${ID}`));
    await push('q', 2);
    await suite.client.set(key('pause-all-workers'), 'true');
    expect((await settle(ID, ['q'], undefined, { held: 0, acks: [], keep: 0, want: 4 })).next).toEqual({ kind: 'paused' });
    expect(await suite.client.llen(key('queue:q'))).toBe(1);
  });

  it('a job that workers died on is reserved alone: it ends the batch before it, then comes by itself', async () => {
    await push('q', 1, 2, 3, 4, 5);
    const sha = (await suite.client.eval('return redis.sha1hex(ARGV[1])', 0, job(3))) as string;
    await suite.client.set(key(`baton:recoveries:${sha}`), '1');
    const a = await settle(ID, ['q'], undefined, { held: 0, acks: [], keep: 0, want: 5 });
    expect(a.jobs).toEqual([job(1), job(2)]);
    const b = await settle(ID, ['q'], undefined, { held: 2, acks: a.jobs.map((raw) => ({ raw, failure: undefined })), keep: 0, want: 5 });
    expect(b.jobs).toEqual([job(3)]);
    const c = await settle(ID, ['q'], undefined, { held: 1, acks: [{ raw: job(3), failure: undefined }], keep: 0, want: 5 });
    expect(c.jobs).toEqual([job(4), job(5)]);
  });
});

describe('recover-3.lua on a slot holding several jobs', () => {
  it('every held job goes back to the head of its queue in run order, each charged a recovery; one past the limit fails', async () => {
    await suite.client.rpush(key(`baton:inflight:${ID}`), 'q', job(1), 'r', job(2), 'q', job(3));
    await push('q', 9);
    const sha = (await suite.client.eval('return redis.sha1hex(ARGV[1])', 0, job(2))) as string;
    await suite.client.set(key(`baton:recoveries:${sha}`), '3');
    expect(await suite.store.recover(ID, true, 3)).toEqual({ requeued: 2, failed: 1 });
    expect(await suite.client.lrange(key('queue:q'), 0, -1)).toEqual([job(1), job(3), job(9)]);
    expect(await suite.client.llen(key('queue:r'))).toBe(0);
    expect(JSON.parse((await suite.client.lindex(key('failed'), 0))!)).toMatchObject({ exception: 'Resque::DirtyExit', payload: { args: [2] }, queue: 'r' });
    const sha1 = (await suite.client.eval('return redis.sha1hex(ARGV[1])', 0, job(1))) as string;
    expect(await suite.client.get(key(`baton:recoveries:${sha1}`))).toBe('1');
  });
});

describe('Worker prefetch (concurrency 1)', () => {
  it('short jobs: reserved in batches yet run one at a time in queue order, each once, each counted; prefetch 1 holds one job only', async () => {
    for (const prefetch of [16, 1]) {
      const space = suite.redis.namespace();
      const q = new Queue({ redis: suite.redis.url, namespace: space });
      const total = 300;
      for (let i = 0; i < total; i++) await q.enqueue('q', 'N', i);
      await q.close();
      const order: number[] = [];
      let most = 0;
      let running = 0;
      let overlap = 0;
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      const w = worker({
        namespace: space,
        queues: ['q'],
        prefetch,
        jobs: {
          N(n: number) {
            if (running++ > 0) overlap++;
            order.push(n);
            running--;
          },
        },
      });
      // Sampled between jobs: how many jobs the slot's inflight list holds.
      w.on('job', () => void suite.client.llen(`${space}:baton:inflight:${w.id}`).then((n) => (most = Math.max(most, n / 2))));
      let count = 0;
      w.on('success', () => {
        if (++count === total) done();
      });
      await w.start();
      await finished;
      await w.stop();
      expect(order).toEqual(Array.from({ length: total }, (_, i) => i));
      expect(overlap).toBe(0);
      expect(await suite.client.mget(`${space}:stat:processed`, `${space}:stat:failed`)).toEqual([String(total), null]);
      expect(await suite.client.keys(`${space}:baton:inflight:*`)).toEqual([]);
      if (prefetch === 1) expect(most).toBeLessThanOrEqual(1);
      else expect(most).toBeGreaterThan(1);
    }
  });

  it('a slow job holds up its batch-mates at most 20 ms: they go back to the head of the queue and another worker runs them', async () => {
    let release!: () => void;
    let behind = -1;
    const ranBy = new Map<number, string>();
    const jobs = {
      N(this: { workerId: string }, n: number) {
        ranBy.set(n, this.workerId);
      },
      async Block(this: { workerId: string }) {
        behind = (await suite.client.llen(`${suite.ns}:baton:inflight:${this.workerId}`)) / 2 - 1;
        await new Promise<void>((r) => (release = r));
      },
    };
    // 31 short jobs grow the batch to 16 (1, 2, 4, 8, 16): Block starts the next batch of 16.
    for (let i = 0; i < 31; i++) await queue.enqueue('q', 'N', i);
    await queue.enqueue('q', 'Block');
    for (let i = 100; i < 130; i++) await queue.enqueue('q', 'N', i);
    const a = worker({ queues: ['q'], hostname: 'a', jobs });
    await a.start();
    await pollUntil(() => behind >= 0, { what: 'Block running' });
    // Its batch-mates went back (the queue holds all 30 again) while Block still runs.
    expect(behind).toBeGreaterThan(0);
    await pollUntil(async () => (await queue.size('q')) === 30, { what: 'batch-mates back in the queue', timeoutMs: 5000 });
    expect(await queue.peek('q', 0, 30)).toEqual(Array.from({ length: 30 }, (_, i) => ({ class: 'N', args: [100 + i] })));
    const b = worker({ queues: ['q'], hostname: 'b', jobs });
    await b.start();
    await pollUntil(() => [...ranBy.keys()].filter((n) => n >= 100).length === 30, { what: 'worker b ran them' });
    expect([...ranBy].filter(([n]) => n >= 100).every(([, id]) => id === b.id)).toBe(true);
    const blockDone = new Promise((r) => a.once('success', r));
    release();
    await blockDone;
    expect(await queue.stats()).toMatchObject({ processed: 62, failed: 0 });
  });

  it('pause mid-batch: the job running finishes, the rest of the batch goes back to the head of the queue', async () => {
    const ran: number[] = [];
    let pause!: () => void;
    const w = worker({
      queues: ['q'],
      jobs: {
        N(n: number) {
          ran.push(n);
          if (n === 40) pause();
        },
      },
    });
    pause = () => {
      w.pause();
    };
    for (let i = 0; i < 60; i++) await queue.enqueue('q', 'N', i);
    const paused = new Promise<void>((r) => w.once('paused', () => r()));
    await w.start();
    await paused;
    await pollUntil(async () => (await suite.client.exists(key(`baton:inflight:${w.id}`))) === 0, { what: 'inflight list emptied' });
    expect(ran).toEqual(Array.from({ length: 41 }, (_, i) => i));
    expect(await queue.peek('q', 0, 19)).toEqual(Array.from({ length: 19 }, (_, i) => ({ class: 'N', args: [41 + i] })));
    await pollUntil(async () => (await queue.stats()).processed === 41, { what: 'the 41 acknowledged' });
  });

  it.each([
    ['identical payloads', () => '{"class":"Same","args":[]}'],
    ['distinct payloads', (i: number) => `{"class":"Same","args":[${i}]}`],
  ])('a fast stop while the slot waits on Redis (%s): it waits for that call; nothing acknowledged unrun, nothing lost, nothing reported lost', async (_, payload) => {
    const total = 20_000;
    for (let i = 0; i < total; i += 1000) await suite.client.rpush(key('queue:q'), ...Array.from({ length: 1000 }, (_, j) => payload(i + j)));
    let ran = 0;
    const events = { success: 0, lost: 0 };
    const w = worker({
      queues: ['q'],
      jobs: {
        Same() {
          ran++;
        },
      },
    });
    w.on('success', () => events.success++);
    w.on('lost', () => events.lost++);
    await w.start();
    await w.store.redis.publish(key('baton:enqueued'), 'q');
    await pollUntil(() => ran > 2000, { what: '2000 jobs run' });
    // Redis stops answering everyone for 600 ms: the slot's next call (an acknowledgement and a
    // reserve) waits; the stop's 100 ms grace runs out meanwhile.
    const admin = suite.redis.client();
    await admin.call('CLIENT', 'PAUSE', '600', 'ALL');
    await w.stop({ graceful: false, graceMs: 100 });
    admin.disconnect();
    const processed = Number(await suite.client.get(key('stat:processed')));
    expect(processed).toBe(ran);
    expect(events).toEqual({ success: ran, lost: 0 });
    expect(processed + (await suite.client.llen(key('queue:q')))).toBe(total);
    expect(await suite.client.keys(key('baton:inflight:*'))).toEqual([]);
  });

  it('prefetch is at most 1000 (one script call moves at most that many jobs)', async () => {
    expect(() => new Worker({ redis: suite.redis.url, namespace: suite.ns, jobs: {}, prefetch: 1001 })).toThrow(/`prefetch` option to be at most 1000, got `1001`/);
    for (let i = 0; i < 1200; i += 100) await push('q', ...Array.from({ length: 100 }, (_, j) => i + j));
    const r = await settle(ID, ['q'], undefined, { held: 0, acks: [], keep: 0, want: 1000 });
    expect(r.jobs.length).toBe(1000);
    expect((await inflight()).length).toBe(2000);
    expect(await suite.client.llen(key('queue:q'))).toBe(200);
  });

  it('kill -9 mid-batch: the batch comes back in order, nothing is lost, and only the job that kills goes to failed', async () => {
    const rec = join(dir, 'records');
    const env = { REDIS_URL: suite.redis.url, NS: suite.ns, QUEUES: 'k', LOCK_TTL_MS: '60000', RECORD: rec };
    for (let i = 0; i < 40; i++) await queue.enqueue('k', 'Record', `r${i}`);
    await queue.enqueue('k', 'Crash');
    for (let i = 41; i < 80; i++) await queue.enqueue('k', 'Record', `r${i}`);
    const recovered: number[] = [];
    for (let round = 0; round < 6; round++) {
      const w = await startWorkerProcess(env);
      const outcome = await Promise.race([w.proc.waitForLine(/crashing/).then(() => 'crash'), pollUntil(async () => (await queue.stats()).processed === 79, { what: '79 done', timeoutMs: 20_000 }).then(() => 'done')]);
      if (outcome === 'done') {
        await w.proc.stop();
        break;
      }
      await w.proc.waitForExit();
      recovered.push(await queue.recoverWorker(w.id));
    }
    // The first crash brought back more than the job that crashed (its batch); after that the
    // crashing job was reserved alone, so its neighbours were charged at most once.
    expect(recovered.length).toBe(4);
    expect(recovered[0]).toBeGreaterThan(1);
    expect(recovered.slice(1)).toEqual([1, 1, 0]);
    const failed = await queue.failed();
    expect(failed.map((f) => (f.payload as { class: string }).class)).toEqual(['Crash']);
    const done = new Set(readRecords(rec).map((r) => r.id));
    expect(Array.from({ length: 80 }, (_, i) => `r${i}`).filter((id) => id !== 'r40' && !done.has(id))).toEqual([]);
    expect(await queue.size('k')).toBe(0);
  });
});
