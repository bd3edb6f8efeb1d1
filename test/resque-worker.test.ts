import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Queue, Worker, currentJob, type WorkerOptions } from '../packages/resque/src/index.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { readRecords, startWorkerProcess } from './helpers/resque.js';
import { pollUntil, waitForPidExit } from './helpers/wait.js';

let redis: TestRedis;
let ns: string;
let dir: string;
let queue: Queue;
const workers: Worker[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.close();
});
beforeEach(() => {
  ns = redis.namespace();
  dir = mkdtempSync(join(tmpdir(), 'baton-resque-'));
  queue = new Queue({ redis: redis.url, namespace: ns });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceful: false, graceMs: 100 }).catch(() => undefined)));
  await queue.close();
  rmSync(dir, { recursive: true, force: true });
});

function worker(options: Partial<WorkerOptions> & Pick<WorkerOptions, 'jobs'>): Worker {
  const w = new Worker({ redis: redis.url, namespace: ns, ...options });
  workers.push(w);
  return w;
}
const once = <T extends unknown[]>(w: Worker, event: 'success' | 'failure' | 'idle' | 'paused' | 'lost' | 'requeued' | 'recovered'): Promise<T> =>
  new Promise((resolve) => w.once(event, (...a: unknown[]) => resolve(a as T)));
const key = (k: string) => `${ns}:${k}`;

describe('@baton/resque: Redis layout (byte-compatible with Ruby Resque)', () => {
  it('enqueue writes the queues set and a {"class","args"} payload', async () => {
    await queue.enqueue('high', 'GoodJob', 1, { k: 'v' });
    const c = redis.client();
    expect(await c.smembers(key('queues'))).toEqual(['high']);
    expect(await c.lrange(key('queue:high'), 0, -1)).toEqual(['{"class":"GoodJob","args":[1,{"k":"v"}]}']);
  });

  it('while working: workers set, worker record, started, heartbeat from Redis TIME; after success: stats, record gone', async () => {
    let release!: () => void;
    const w = worker({ queues: ['high', 'low'], jobs: { GoodJob: () => new Promise<void>((r) => (release = r)) } });
    await w.start();
    const id = `${hostname()}:${process.pid}:high,low`;
    expect(w.id).toBe(id);
    const c = redis.client();
    await queue.enqueue('low', 'GoodJob', 1, { k: 'v' });
    await pollUntil(async () => (await c.get(key(`worker:${id}`))) !== null, { what: 'working record' });
    const record = JSON.parse((await c.get(key(`worker:${id}`)))!);
    expect(Object.keys(record)).toEqual(['queue', 'run_at', 'payload']);
    expect(record.queue).toBe('low');
    expect(record.run_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(record.payload).toEqual({ class: 'GoodJob', args: [1, { k: 'v' }] });
    expect(await c.smembers(key('workers'))).toEqual([id]);
    expect(await c.get(key(`worker:${id}:started`))).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/);
    const hb = await c.hget(key('workers:heartbeat'), id);
    expect(hb).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    const [sec] = (await c.time()) as unknown as [string];
    expect(Math.abs(Date.parse(hb!) / 1000 - Number(sec))).toBeLessThan(5);
    const done = once(w, 'success');
    release();
    await done;
    expect(await c.get(key(`worker:${id}`))).toBeNull();
    expect(await c.mget(key('stat:processed'), key(`stat:processed:${id}`), key('stat:failed'))).toEqual(['1', '1', null]);
    await w.stop();
    // Unregistered exactly as Ruby does: nothing of this worker is left.
    expect(await c.smembers(key('workers'))).toEqual([]);
    expect(await c.hgetall(key('workers:heartbeat'))).toEqual({});
    expect(await c.keys(key(`*${id}*`))).toEqual([]);
  });

  it('a failure: failed record in Ruby field order, processed AND failed counted (Ruby semantics)', async () => {
    const w = worker({ queues: ['q'], jobs: { BadJob: (z: string) => { throw new RangeError(`boom ${z}`); } } });
    await w.start();
    const failed = once(w, 'failure');
    await queue.enqueue('q', 'BadJob', 'z');
    await failed;
    const c = redis.client();
    const [raw] = await c.lrange(key('failed'), 0, -1);
    const rec = JSON.parse(raw!);
    expect(Object.keys(rec)).toEqual(['failed_at', 'payload', 'exception', 'error', 'backtrace', 'worker', 'queue']);
    expect(rec).toMatchObject({ payload: { class: 'BadJob', args: ['z'] }, exception: 'RangeError', error: 'boom z', worker: w.id, queue: 'q' });
    expect(rec.failed_at).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC$/);
    expect(Array.isArray(rec.backtrace)).toBe(true);
    expect(await c.mget(key('stat:processed'), key('stat:failed'), key(`stat:failed:${w.id}`))).toEqual(['1', '1', '1']);
    await w.stop();
    // Requeue by index as Resque does: entry stays, marked retried; {class,args} enqueued again.
    expect(await queue.requeueFailed(0)).toBe(true);
    expect(await queue.peek('q')).toEqual([{ class: 'BadJob', args: ['z'] }]);
    expect((await queue.failed())[0]!.retried_at).toMatch(/UTC$/);
    await queue.removeFailed(0);
    expect(await queue.failedCount()).toBe(0);
  });

  it('every kind of bad input is a failure record, never a crash', async () => {
    const w = worker({
      queues: ['bad'],
      jobs: {
        ThrowsString: () => {
          throw 'a string'; // eslint-disable-line no-throw-literal
        },
        ThrowsObject: () => Promise.reject({ code: 42 }),
        Fine: () => undefined,
      },
    });
    await w.start();
    const raws = ['not json', '[1]', '{"args":[]}', '{"class":"Unknown","args":[]}', '{"class":"Fine","args":{"a":1}}', '{"class":"ThrowsString","args":[]}', '{"class":"ThrowsObject","args":[]}'];
    for (const r of raws) await queue.enqueueRaw('bad', r);
    await queue.enqueue('bad', 'Fine');
    await pollUntil(() => w.processed === raws.length + 1, { what: 'all jobs processed' });
    const failures = await queue.failed(0, 100);
    expect(failures.map((f) => [f.exception, f.error])).toEqual([
      ['JSON::ParserError', expect.stringMatching(/invalid job payload/)],
      ['TypeError', 'job payload is not a JSON object'],
      ['NameError', 'job payload has no class'],
      ['NameError', 'uninitialized constant Unknown'],
      ['TypeError', 'args of Fine must be an array, got object'],
      ['RuntimeError', 'non-Error thrown: a string'],
      ['RuntimeError', 'non-Error thrown: {"code":42}'],
    ]);
    expect(failures[0]!.payload).toBe('not json');
    expect(await queue.stats()).toMatchObject({ processed: 8, failed: 7 });
    expect(w.state).not.toBe('stopped');
  });

  it('queue priority: listed order, globs expanded on each poll and sorted, !exclusions', async () => {
    const order: string[] = [];
    for (const [q, n] of [['low', 1], ['b_q', 2], ['a_q', 3], ['critical', 4], ['skip_me', 5]] as const) await queue.enqueue(q, 'Rec', n);
    const w = worker({ queues: ['critical', '*', '!skip_*', '!low', 'low'], jobs: { Rec(this: { queue: string }) { order.push(this.queue); } } });
    await w.start();
    await pollUntil(() => order.length === 3, { what: '3 jobs' });
    expect(order).toEqual(['critical', 'a_q', 'b_q']);
    expect(await queue.size('skip_me')).toBe(1);
    expect(await queue.size('low')).toBe(1); // !low excludes it wherever it appears, as in Ruby
    expect(w.id).toBe(`${hostname()}:${process.pid}:critical,*,low`);
  });

  it('handlers get args spread, and their context through this and currentJob() (arrow functions)', async () => {
    const seen: unknown[] = [];
    const w = worker({
      queues: ['ctx'],
      jobs: {
        Classic(this: { queue: string; signal: AbortSignal }, a: number, b: string) {
          seen.push(['classic', a, b, this.queue, this.signal instanceof AbortSignal]);
        },
        Arrow: (x: number) => {
          const ctx = currentJob()!;
          seen.push(['arrow', x, ctx.className, ctx.payload.args]);
        },
      },
    });
    await w.start();
    await queue.enqueue('ctx', 'Classic', 1, 'two');
    await queue.enqueue('ctx', 'Arrow', 3);
    await pollUntil(() => seen.length === 2);
    expect(seen).toEqual([
      ['classic', 1, 'two', 'ctx', true],
      ['arrow', 3, 'Arrow', [3]],
    ]);
  });

  it('hooks run in order: beforePerform, aroundPerform, afterPerform; onFailure once per failure; start/exit', async () => {
    const calls: string[] = [];
    const w = worker({
      queues: ['h'],
      jobs: { Ok: () => calls.push('perform'), Fail: () => { throw new Error('x'); } },
      hooks: {
        workerStart: () => void calls.push('start'),
        beforePerform: (ctx) => void calls.push(`before ${ctx.className}`),
        aroundPerform: async (ctx, perform) => {
          calls.push(`around> ${ctx.className}`);
          const r = await perform();
          calls.push(`around< ${ctx.className}`);
          return r;
        },
        afterPerform: (ctx) => void calls.push(`after ${ctx.className}`),
        onFailure: (err, ctx) => void calls.push(`failure ${ctx.className} ${(err as Error).message}`),
        workerExit: () => void calls.push('exit'),
      },
    });
    await w.start();
    await queue.enqueue('h', 'Ok');
    await once(w, 'success');
    await queue.enqueue('h', 'Fail');
    await once(w, 'failure');
    await w.stop();
    expect(calls).toEqual(['start', 'before Ok', 'around> Ok', 'perform', 'around< Ok', 'after Ok', 'before Fail', 'around> Fail', 'failure Fail x', 'exit']);
  });

  it('pause-all-workers and pause()/resume() hold new jobs; jobs wait, nothing is lost', async () => {
    let ran = 0;
    const w = worker({ queues: ['p'], jobs: { J: () => void ran++ } });
    await w.start();
    await queue.pauseAll();
    await queue.enqueue('p', 'J');
    await pollUntil(() => w.state === 'paused', { what: 'worker to see pause-all-workers' });
    expect(ran).toBe(0);
    expect(await queue.size('p')).toBe(1);
    await queue.resumeAll();
    await pollUntil(() => ran === 1, { what: 'job after resume-all' });
    await pollUntil(() => w.state === 'idle');
    w.pause();
    await queue.enqueue('p', 'J');
    expect(w.state).toBe('paused');
    expect(await queue.size('p')).toBe(1);
    w.resume();
    await pollUntil(() => ran === 2);
  });

  it('an idle worker starts a new job within milliseconds (pub/sub wake-up, no busy loop)', async () => {
    const started: number[] = [];
    const w = worker({ queues: ['fast'], jobs: { J: () => void started.push(performance.now()) } });
    await w.start();
    await queue.enqueue('fast', 'J'); // warm-up
    await pollUntil(() => started.length === 1);
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      // let the worker back off to its slowest poll first, so only the wake-up can explain a fast start
      await pollUntil(() => w.state === 'idle');
      const t0 = performance.now();
      await queue.enqueue('fast', 'J');
      await pollUntil(() => started.length === i + 2, { intervalMs: 1 });
      latencies.push(started[i + 1]! - t0);
    }
    latencies.sort((a, b) => a - b);
    // Not a timing assertion on speed (bench/ measures that): it proves the wake-up path exists,
    // since the poll interval would otherwise be up to 1000 ms.
    expect(latencies[10]).toBeLessThan(200);
  });

  it('graceful stop finishes the job in flight; fast stop aborts it and puts it back at the HEAD of its queue', async () => {
    let release!: () => void;
    const w1 = worker({ queues: ['s'], jobs: { Slow: () => new Promise<void>((r) => (release = r)) } });
    await w1.start();
    await queue.enqueue('s', 'Slow', 1);
    await pollUntil(() => w1.state === 'busy');
    const stopping = w1.stop({ graceful: true });
    await queue.enqueue('s', 'Slow', 2);
    release();
    await stopping;
    expect(w1.processed).toBe(1);
    expect(await queue.size('s')).toBe(1); // job 2 was not taken

    const w2 = worker({
      queues: ['s'],
      jobs: {
        Slow(this: { signal: AbortSignal }) {
          return new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
        },
      },
    });
    await w2.start();
    await pollUntil(() => w2.state === 'busy');
    await queue.enqueue('s', 'Other', 3);
    const requeued = once(w2, 'requeued');
    await w2.stop({ graceful: false, graceMs: 2000 });
    await requeued;
    expect(await queue.peek('s', 0, 2)).toEqual([{ class: 'Slow', args: [2] }, { class: 'Other', args: [3] }]);
    expect(await queue.failedCount()).toBe(0);
    expect(await queue.stats()).toMatchObject({ processed: 1, workers: 0 });
  });

  it('a handler that ignores the abort: after graceMs its job is given back anyway', async () => {
    const w = worker({ queues: ['i'], jobs: { Stubborn: () => new Promise(() => undefined) } });
    await w.start();
    await queue.enqueue('i', 'Stubborn');
    await pollUntil(() => w.state === 'busy');
    await w.stop({ graceful: false, graceMs: 100 });
    expect(await queue.peek('i', 0, 5)).toEqual([{ class: 'Stubborn', args: [] }]);
    expect(await queue.stats()).toMatchObject({ processed: 0, workers: 0 });
  });
});

describe('@baton/resque: bulk actions on the failed list (requeueFailedMany, removeFailedMany)', () => {
  // 1,200 entries as a worker writes them (Ruby's field order), a few of them odd.
  const record = (i: number) =>
    JSON.stringify({ failed_at: '2026/12/03 11:00:00 UTC', payload: { class: i % 2 ? 'B' : 'A', args: [i, { note: 'é/\u00e9' }], extra: 1 }, exception: 'Error', error: `boom ${i}`, backtrace: ['a.js:1'], worker: 'h:1:q', queue: `q${i % 3}` });
  const odd: Record<number, string> = { 5: 'not json', 7: '{"payload":{"args":[]},"queue":"q0"}', 9: JSON.stringify({ payload: { class: 'A', args: [] }, queue: '' }), 11: '[1,2]' };
  const entries = Array.from({ length: 1200 }, (_, i) => odd[i] ?? record(i));
  async function fill(): Promise<void> {
    const c = redis.client();
    await c.del(key('failed'));
    await c.rpush(key('failed'), ...entries);
  }
  // What Resque's requeue(i) (and requeueFailed) writes: the record with retried_at, and {class, args}.
  const retried = (raw: string, at: string) => JSON.stringify({ ...JSON.parse(raw), retried_at: at });
  const job = (raw: string) => {
    const r = JSON.parse(raw);
    return JSON.stringify({ class: r.payload.class, args: r.payload.args });
  };

  it.each([
    ['every entry (one LRANGE a batch)', Array.from({ length: 1200 }, (_, i) => i)],
    ['every 10th, and one past the end (an LINDEX each)', [...Array.from({ length: 120 }, (_, i) => i * 10 + 5), 5000]],
  ])('requeueFailedMany: %s, each as requeueFailed retries it, jobs enqueued in order', async (_, indices) => {
    await fill();
    const c = redis.client();
    const res = await queue.requeueFailedMany(indices);
    const after = await c.lrange(key('failed'), 0, -1);
    const at = /"retried_at":"([^"]+)"/.exec(after.find((r) => r.includes('retried_at'))!)![1]!;
    expect(at).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC$/);
    const ok = (i: number) => i < entries.length && odd[i] === undefined;
    expect(res).toEqual(indices.map(ok));
    expect(after).toEqual(entries.map((raw, i) => (indices.includes(i) && ok(i) ? retried(raw, at) : raw)));
    for (const q of ['q0', 'q1', 'q2']) {
      expect(await c.lrange(key(`queue:${q}`), 0, -1)).toEqual(indices.filter((i) => ok(i) && JSON.parse(entries[i]!).queue === q).map((i) => job(entries[i]!)));
    }
    expect((await c.smembers(key('queues'))).sort()).toEqual(['q0', 'q1', 'q2']);
    // The single retry is the same path: the same bytes.
    await fill();
    expect(await queue.requeueFailed(1)).toBe(true);
    expect(await queue.requeueFailed(5)).toBe(false);
    expect((await c.lindex(key('failed'), 1))!.replace(/"retried_at":"[^"]+"/, `"retried_at":"${at}"`)).toBe(retried(entries[1]!, at));
  });

  it('requeueFailedMany writes nothing for an entry that is another by the time of the write (indices shifted by a removal)', async () => {
    await fill();
    const c = redis.client();
    const { defineScripts, runScript } = await import('../packages/resque/src/scripts.js');
    defineScripts(c);
    // The script as requeueFailedMany calls it, with entry 2 read before a removal shifted it.
    const args = (i: number, raw: string) => [i, raw, retried(raw, 'T'), JSON.parse(raw).queue, job(raw)];
    await queue.removeFailed(0);
    const res = await runScript(c, 'retryFailed', [key('queue:q2'), key('queue:q0')], [`${ns}:`, key('baton:enqueued'), ...args(2, entries[2]!), ...args(2, entries[3]!)]);
    expect(res).toEqual([0, 1]);
    expect(await c.lindex(key('failed'), 1)).toBe(entries[2]);
    expect(await c.lindex(key('failed'), 2)).toBe(retried(entries[3]!, 'T'));
    expect(await c.lrange(key('queue:q2'), 0, -1)).toEqual([]);
    expect(await c.lrange(key('queue:q0'), 0, -1)).toEqual([job(entries[3]!)]);
  });

  it('removeFailedMany removes exactly the entries named (any order, across batches), as removeFailed one by one would', async () => {
    await fill();
    const c = redis.client();
    const gone = Array.from({ length: 1200 }, (_, i) => i).filter((i) => i % 3 !== 1 || i % 7 === 0);
    await queue.removeFailedMany([...gone].reverse().sort((a, b) => (a % 2) - (b % 2)));
    expect(await c.lrange(key('failed'), 0, -1)).toEqual(entries.filter((_, i) => !gone.includes(i)));
    await queue.removeFailedMany([]);
    expect(await c.llen(key('failed'))).toBe(1200 - gone.length);
  });
});

describe('@baton/resque: nothing lost when a worker dies', () => {
  it('kill -9 of a worker process mid-job: a live worker recovers the job (owner lock expired) and it runs again', async () => {
    const rec = join(dir, 'records');
    const env = { REDIS_URL: redis.url, NS: ns, QUEUES: 'k', LOCK_TTL_MS: '600', RECORD: rec };
    const a = await startWorkerProcess(env);
    await queue.enqueue('k', 'Slow', 'job1', 60_000);
    await a.proc.waitForLine(/started job1/);
    a.proc.kill('SIGKILL');
    await waitForPidExit(a.proc.pid);
    const b = await startWorkerProcess({ ...env, REC: 'b' });
    await b.proc.waitForLine(new RegExp(`recovered ${a.id.replace(/[+]/g, '\\+')} \\{"requeued":1,"failed":0\\}`), { timeoutMs: 10_000 });
    await b.proc.waitForLine(/started job1/);
    const starts = readRecords(rec).filter((r) => r.what === 'start');
    expect(starts.map((s) => s.pid)).toEqual([a.proc.pid, b.proc.pid]);
    // The dead worker's registration is gone (no stale Resque worker left behind).
    const c = redis.client();
    expect(await c.sismember(key('workers'), a.id)).toBe(0);
    expect(await c.hexists(key('workers:heartbeat'), a.id)).toBe(0);
    expect(await c.exists(key(`worker:${a.id}`), key(`worker:${a.id}:started`))).toBe(0);
    await b.proc.stop();
  });

  it('the master-side recoverWorker() puts the job back at once, before the lock expires', async () => {
    const rec = join(dir, 'records');
    const env = { REDIS_URL: redis.url, NS: ns, QUEUES: 'm', LOCK_TTL_MS: '60000', RECORD: rec };
    const a = await startWorkerProcess(env);
    await queue.enqueue('m', 'Slow', 'j', 60_000);
    await queue.enqueue('m', 'Record', 'after');
    await a.proc.waitForLine(/started j/);
    a.proc.kill('SIGKILL');
    await waitForPidExit(a.proc.pid);
    expect(await queue.recoverWorker(a.id)).toBe(1);
    expect(await queue.peek('m', 0, 5)).toEqual([{ class: 'Slow', args: ['j', 60_000] }, { class: 'Record', args: ['after'] }]);
    expect(await queue.workers()).toEqual([]);
  });

  it('a job that keeps killing its worker goes to failed after maxRecoveries', async () => {
    const env = { REDIS_URL: redis.url, NS: ns, QUEUES: 'poison', LOCK_TTL_MS: '60000', RECORD: join(dir, 'r') };
    await queue.enqueue('poison', 'Crash');
    for (let i = 1; i <= 4; i++) {
      const w = await startWorkerProcess(env);
      await w.proc.waitForLine(/crashing/);
      await w.proc.waitForExit();
      await queue.recoverWorker(w.id);
    }
    expect(await queue.size('poison')).toBe(0);
    const [f] = await queue.failed();
    expect(f).toMatchObject({ exception: 'Resque::DirtyExit', payload: { class: 'Crash', args: [] }, queue: 'poison' });
    expect(f!.error).toMatch(/died while processing this job \(4 workers died on it\)/);
  });

  it('a frozen worker (SIGSTOP past its lock) loses the job to another; woken, it neither acks nor records it again', async () => {
    const rec = join(dir, 'records');
    const env = { REDIS_URL: redis.url, NS: ns, QUEUES: 'f', LOCK_TTL_MS: '500', RECORD: rec };
    const a = await startWorkerProcess(env);
    await queue.enqueue('f', 'Slow', 'frozen', 800);
    await a.proc.waitForLine(/started frozen/);
    process.kill(a.proc.pid, 'SIGSTOP');
    const b = await startWorkerProcess(env);
    await b.proc.waitForLine(/started frozen/, { timeoutMs: 10_000 });
    await pollUntil(() => readRecords(rec).some((r) => r.what === 'done' && r.pid === b.proc.pid), { what: 'B to finish the job', timeoutMs: 10_000 });
    process.kill(a.proc.pid, 'SIGCONT');
    await a.proc.waitForLine(/lost frozen/, { timeoutMs: 10_000 });
    expect(await queue.stats()).toMatchObject({ processed: 1, failed: 0 });
    // Woken, A's lock-renewal timer fires before the job's own timer: the job is aborted, not finished twice.
    expect(readRecords(rec).filter((r) => r.what === 'done' && r.id === 'frozen').map((r) => r.pid)).toEqual([b.proc.pid]);
    expect(await queue.failedCount()).toBe(0);
    // A registers again once awake and keeps working.
    await queue.enqueue('f', 'Record', 'next');
    await pollUntil(() => readRecords(rec).some((r) => r.id === 'next'));
    await a.proc.stop();
    await b.proc.stop();
    expect(await queue.workers()).toEqual([]);
  });
});

describe('@baton/resque: Redis going away', () => {
  it('workers ride out a redis-server restart and carry on; no crash', async () => {
    if (redis.external) return;
    let ran = 0;
    const log: string[] = [];
    const w = worker({ queues: ['r'], jobs: { J: () => void ran++ }, logger: { debug: () => undefined, info: () => undefined, warn: (m) => log.push(String(m)), error: () => undefined } });
    const errors: Error[] = [];
    w.on('error', (e) => errors.push(e));
    await w.start();
    await queue.enqueue('r', 'J');
    await pollUntil(() => ran === 1);
    await redis.stopServer();
    await pollUntil(() => errors.length > 0, { what: 'the worker to notice' });
    await redis.startServer();
    await queue.enqueue('r', 'J');
    await queue.enqueue('r', 'J');
    await pollUntil(() => ran === 3, { what: 'jobs after the restart', timeoutMs: 15_000 });
    await pollUntil(async () => (await queue.workers()).some((x) => x.id === w.id), { what: `the worker to register again (log: ${log.join(' | ')})`, timeoutMs: 15_000 });
  });
});
