// What a master needs to enforce a job timeout from outside a worker whose job blocks its event
// loop (issue 10, item 4): the `job` event before the handler with a job id, Queue.failInflight
// (lua/fail-inflight-3.lua) and Queue.holdLocks (lua/hold-1n.lua), against a private redis-server.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue } from '../packages/resque/src/queue.js';
import { Worker, type InFlightJob } from '../packages/resque/src/worker.js';
import { readRecords } from './helpers/resque.js';
import { ROOT, spawnNode } from './helpers/spawn.js';
import { storeSuite } from './helpers/store-suite.js';
import { slow } from './helpers/slowness.js';
import { pollUntil } from './helpers/wait.js';

const suite = storeSuite();
const key = suite.key;
let queue: Queue;
let dir: string;
const workers: Worker[] = [];
const sha1 = (b: string | Buffer) => createHash('sha1').update(b).digest('hex');
const ID = 'h:1:q';

beforeEach(() => {
  queue = new Queue({ redis: suite.redis.url, namespace: suite.ns });
  dir = mkdtempSync(join(tmpdir(), 'baton-lease-'));
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceful: false, graceMs: 100 }).catch(() => undefined)));
  await queue.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the 'job' event", () => {
  it('comes synchronously right before the handler, with jobId = sha1 hex of the payload bytes', async () => {
    const seen: Array<{ job: InFlightJob; microtaskRan: boolean }> = [];
    let microtaskRan = false;
    const w = new Worker({
      redis: suite.redis.url,
      namespace: suite.ns,
      queues: ['q'],
      jobs: { J: () => void seen.push({ job: emitted!, microtaskRan }) },
    });
    workers.push(w);
    let emitted: InFlightJob | undefined;
    w.on('job', (job) => {
      emitted = job;
      microtaskRan = false;
      queueMicrotask(() => (microtaskRan = true));
    });
    const raw = Buffer.from('{"class":"J","args":["\xe9t\xe9",1]}', 'latin1'); // not UTF-8
    await queue.enqueueRaw('q', raw);
    await queue.enqueue('q', 'J', 2);
    await w.start();
    await pollUntil(() => seen.length === 2, { what: 'both jobs' });
    // Nothing ran between the event and the handler (not even a microtask).
    expect(seen.map((s) => s.microtaskRan)).toEqual([false, false]);
    expect(seen[0]!.job.jobId).toBe(sha1(raw));
    expect(seen[0]!.job.bytes.equals(raw)).toBe(true);
    expect(seen[1]!.job.jobId).toBe(sha1('{"class":"J","args":[2]}'));
  });
});

describe('Queue.failInflight (fail-inflight-3.lua)', () => {
  it('fails the job with that id: Ruby failure record with the exact bytes, stats counted; the rest of the slot is left for recoverWorker', async () => {
    const bad = Buffer.from('{"class":"Block","args":["x\xff",0]}', 'latin1');
    const jobs = [Buffer.from('{"class":"J","args":[1]}'), bad, Buffer.from('{"class":"J","args":[3]}')];
    for (const j of jobs) await suite.store.push('q', j);
    await suite.store.settle(ID, ['q'], 5000, { held: 0, acks: [], keep: 0, want: 3 });

    expect(await queue.failInflight(ID, sha1('nope'), { exception: 'Resque::JobTimeout', error: 'x' })).toBe(false);
    expect(await queue.failInflight(ID, sha1(bad), { exception: 'Resque::JobTimeout', error: 'job ran past its timeout of 12 s' })).toBe(true);
    // Found once only.
    expect(await queue.failInflight(ID, sha1(bad), { exception: 'Resque::JobTimeout', error: 'again' })).toBe(false);

    expect(await suite.client.lrangeBuffer(key(`baton:inflight:${ID}`), 0, -1)).toEqual([Buffer.from('q'), jobs[0], Buffer.from('q'), jobs[2]]);
    const [record] = await suite.client.lrangeBuffer(key('failed'), 0, -1);
    const text = record!.toString('latin1');
    expect(text).toMatch(
      /^\{"failed_at":"\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC","payload":\{"class":"Block","args":\["x\xff",0\]\},"exception":"Resque::JobTimeout","error":"job ran past its timeout of 12 s","backtrace":\[\],"worker":"h:1:q","queue":"q"\}$/,
    );
    expect(record!.includes(bad)).toBe(true);
    expect(await suite.client.mget(key('stat:processed'), key('stat:failed'), key(`stat:processed:${ID}`), key(`stat:failed:${ID}`))).toEqual(['1', '1', '1', '1']);
    // The master's usual recovery afterwards puts the others back, in order.
    await suite.store.registerWorker(ID, 5000);
    expect(await queue.recoverWorker(ID)).toBe(2);
    expect(await suite.client.lrangeBuffer(key('queue:q'), 0, -1)).toEqual([jobs[0], jobs[2]]);
  });
});

describe('Queue.holdLocks (hold-1n.lua)', () => {
  it('extends the locks that exist and refreshes their heartbeat; never sets a lock that is gone', async () => {
    const [a, b] = ['h:1:q', 'h:2:q'];
    await suite.store.registerWorker(a, 300);
    await suite.store.registerWorker(b, 300);
    await suite.client.hset(key('workers:heartbeat'), a, 'old');
    await suite.client.del(key(`baton:lock:${b}`));
    expect(await queue.holdLocks([a, b], 5000)).toEqual([b]);
    expect(await suite.client.pttl(key(`baton:lock:${a}`))).toBeGreaterThan(4000);
    expect(await suite.client.exists(key(`baton:lock:${b}`))).toBe(0);
    expect(await suite.client.hget(key('workers:heartbeat'), a)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    // A longer lock keeps its expiry.
    await suite.client.pexpire(key(`baton:lock:${a}`), 20_000);
    await queue.holdLocks([a], 5000);
    expect(await suite.client.pttl(key(`baton:lock:${a}`))).toBeGreaterThan(15_000);
  });

  it('a job that blocks its worker past the lock lifetime runs once, acknowledged once, while a master holds its locks and another worker runs its janitor', async () => {
    const file = join(dir, 'records');
    const lockTtlMs = 600;
    const a = spawnNode(`${ROOT}test/fixtures/resque-block-worker.mjs`, [], {
      env: { REDIS_URL: suite.redis.url, NS: suite.ns, QUEUES: 'q', LOCK_TTL_MS: String(lockTtlMs), RECORD: file },
      label: 'blocking resque worker',
    });
    const ids = (await a.waitForLine(/ready (\S+)/))[1]!.split(',');
    // The master's side: keep the leases of the worker it sees alive.
    const holder = holdLeases(queue, ids, lockTtlMs);
    const gone = holder.gone;
    try {
      await a.waitForLine(/leases held/);
      // Blocks 4 lock lifetimes, then awaits a timer its signal would cancel.
      await queue.enqueue('q', 'Block', 'j1', 4 * lockTtlMs, 300);
      await pollUntil(() => readRecords(file).some((r) => r.what === 'start'), { what: 'the job to start' });
      // Another worker on the same queue, whose janitor would recover a slot whose lock lapsed.
      const recovered: string[] = [];
      const b = new Worker({
        redis: suite.redis.url,
        namespace: suite.ns,
        queues: ['q'],
        lockTtlMs,
        jobs: { Block: (id: string) => void recovered.push(`ran ${id}`) },
      });
      workers.push(b);
      b.on('recovered', (id) => recovered.push(id));
      await b.start();
      await a.waitForLine(/(success|failure|lost|requeued) j1/, { timeoutMs: 15_000 });
      expect(a.output).toMatch(/success j1/);
      expect(a.output).not.toMatch(/lost|requeued|aborting/);
      expect(recovered).toEqual([]);
      expect(gone).toEqual([]);
      expect(readRecords(file).map((r) => `${r.what} ${r.id} ${r.pid}`)).toEqual([`start j1 ${a.pid}`, `done j1 ${a.pid}`]);
      expect(await suite.client.mget(key('stat:processed'), key('stat:failed'))).toEqual(['1', null]);
      expect(await suite.client.llen(key('queue:q'))).toBe(0);
      expect(await suite.client.exists(key(`baton:inflight:${ids[0]}`))).toBe(0);
    } finally {
      holder.holding = false;
      await holder.done;
      a.kill('SIGTERM');
      await a.waitForExit();
    }
  });
});

// A worker process for the lease tests below (written next to the test's records, inside the repo
// so that `@baton/resque` resolves). Env: REDIS_URL, NS, LOCK_TTL_MS, CONCURRENCY, RECORD,
// HELD_BY_MASTER=1 for `leasesHeldByMaster`. Jobs: Block(id, blockMs) blocks the event loop
// blockMs on its first run only, then yields once on a 0 ms timer its AbortSignal cancels;
// Wait(id, ms) waits ms on such a timer. Both record "start" and "done". Prints "ready <ids>",
// its debug and warn lines, and "<event> <id>" for every job outcome.
const LEASE_WORKER = `
import { appendFileSync } from 'node:fs';
import { Worker } from '@baton/resque';
const record = (id, what) => appendFileSync(process.env.RECORD, what + ' ' + id + ' ' + process.pid + '\\n');
const say = (line) => process.stderr.write(line + '\\n');
const blocked = new Set();
const wait = (signal, ms) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); });
});
const worker = new Worker({
  redis: process.env.REDIS_URL,
  namespace: process.env.NS,
  queues: ['q'],
  concurrency: Number(process.env.CONCURRENCY ?? 1),
  prefetch: 1,
  lockTtlMs: Number(process.env.LOCK_TTL_MS),
  leasesHeldByMaster: process.env.HELD_BY_MASTER === '1',
  logger: { debug: (m) => say('debug ' + m), info: () => undefined, warn: (m) => say('warn ' + m), error: (m) => say('error ' + m) },
  jobs: {
    async Block(id, blockMs) {
      record(id, 'start');
      if (!blocked.has(id)) {
        blocked.add(id);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, blockMs);
      }
      await wait(this.signal, 0);
      record(id, 'done');
    },
    async Wait(id, ms) {
      record(id, 'start');
      await wait(this.signal, ms);
      record(id, 'done');
    },
  },
});
for (const ev of ['success', 'failure', 'lost', 'requeued']) worker.on(ev, (job) => say(ev + ' ' + job.payload?.args?.[0]));
worker.on('error', () => undefined);
process.on('SIGTERM', () => worker.stop({ graceful: false, graceMs: 1000 }).then(() => process.exit(0)));
await worker.start();
say('ready ' + worker.ids.join(','));
`;

describe('leases held from outside (Worker: leasesHeldByMaster, held locks read back at each renewal)', () => {
  const lockTtlMs = 1000;
  /** Starts the worker process; the holder (the master's side) keeps its leases while `holding`. */
  const startLeaseWorker = async (env: Record<string, string>) => {
    const work = mkdtempSync(join(ROOT, 'tmp', 'lease-'));
    const script = join(work, 'worker.mjs');
    writeFileSync(script, LEASE_WORKER);
    const file = join(dir, 'records');
    const proc = spawnNode(script, [], {
      env: { REDIS_URL: suite.redis.url, NS: suite.ns, LOCK_TTL_MS: String(lockTtlMs), RECORD: file, ...env },
      label: 'lease worker',
    });
    const ids = (await proc.waitForLine(/ready (\S+)/, { timeoutMs: slow(10_000) }))[1]!.split(',');
    const holder = holdLeases(queue, ids, lockTtlMs);
    const stop = async () => {
      holder.holding = false;
      await holder.done;
      proc.kill('SIGTERM');
      await proc.waitForExit({ timeoutMs: slow(10_000) });
      rmSync(work, { recursive: true, force: true });
    };
    return { proc, ids, file, holder, stop };
  };
  beforeEach(() => mkdirSync(join(ROOT, 'tmp'), { recursive: true }));

  it('with leasesHeldByMaster, a job that blocks right after start does not abort the other slot’s job: both run once', async () => {
    // Queued before the worker starts: slot 0 takes Wait, slot 1 Block, before any renewal.
    await queue.enqueue('q', 'Wait', 'w1', 4 * lockTtlMs);
    await queue.enqueue('q', 'Block', 'b1', 2 * lockTtlMs);
    const w = await startLeaseWorker({ CONCURRENCY: '2', HELD_BY_MASTER: '1' });
    try {
      await w.proc.waitForLine(/success w1/, { timeoutMs: slow(15_000) });
      await w.proc.waitForLine(/success b1/, { timeoutMs: slow(5000) });
      expect(w.proc.output).not.toMatch(/aborting|requeued|lost|failure/);
      expect(readRecords(w.file).map((r) => `${r.what} ${r.id}`).sort()).toEqual(['done b1', 'done w1', 'start b1', 'start w1']);
      expect(w.holder.gone).toEqual([]);
      expect(await suite.client.mget(key('stat:processed'), key('stat:failed'))).toEqual(['2', null]);
    } finally {
      await w.stop();
    }
  });

  it('once nobody holds its locks any more (the master is gone), a blocked job is aborted before it can finish, as without a master', async () => {
    // Learnt from the locks (no leasesHeldByMaster): a renewal reads back `held <id>`.
    const w = await startLeaseWorker({});
    try {
      await w.proc.waitForLine(/held from outside too/, { timeoutMs: slow(10_000) });
      w.holder.holding = false; // the master is gone
      await w.holder.done;
      await w.proc.waitForLine(/no longer held from outside/, { timeoutMs: slow(10_000) });
      await queue.enqueue('q', 'Block', 'b2', 2 * lockTtlMs);
      // The first run is aborted at once on waking (its lock had lapsed: another worker may run
      // it), before its 0 ms timer; given back, it runs again without blocking.
      await w.proc.waitForLine(/success b2/, { timeoutMs: slow(15_000) });
      expect(w.proc.output).toMatch(/warn worker \S+ renewed no lock for [\d.]+s .*aborting its job Block/);
      expect(w.proc.output).toMatch(/requeued b2/);
      expect(readRecords(w.file).map((r) => `${r.what} ${r.id}`)).toEqual(['start b2', 'start b2', 'done b2']);
    } finally {
      await w.stop();
    }
  });
});

/** The master's side of a lease: renews `ids` every 100 ms (its renewal period) until `holding` is cleared. */
function holdLeases(queue: { holdLocks(ids: readonly string[], ttlMs: number): Promise<string[]> }, ids: readonly string[], ttlMs: number) {
  const holder = { holding: true, gone: [] as string[], done: Promise.resolve() };
  holder.done = (async () => {
    while (holder.holding) {
      holder.gone.push(...(await queue.holdLocks(ids, ttlMs)));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return holder;
}

describe('a graceful stop keeps the leases of the jobs it waits for', () => {
  it('a job longer than the lock lifetime, running when a graceful stop starts, is not recovered by another worker: it runs once, acknowledged once', async () => {
    const lockTtlMs = 1000;
    const runs: string[] = [];
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    const stopping = new Worker({
      redis: suite.redis.url,
      namespace: suite.ns,
      queues: ['q'],
      lockTtlMs,
      jobs: {
        Long: async (id: string) => {
          runs.push(`stopping ${id}`);
          started();
          await new Promise((r) => setTimeout(r, 3 * lockTtlMs));
        },
      },
    });
    // Another live worker whose janitor would recover a slot whose owner lock lapsed.
    const other = new Worker({
      redis: suite.redis.url,
      namespace: suite.ns,
      queues: ['other'],
      lockTtlMs,
      jobs: { Long: (id: string) => void runs.push(`other ${id}`) },
    });
    workers.push(stopping, other);
    const recovered: string[] = [];
    other.on('recovered', (id) => recovered.push(id));
    await queue.enqueue('q', 'Long', 'j1');
    await Promise.all([stopping.start(), other.start()]);
    await startedP;
    await stopping.stop({ graceful: true, graceMs: 10 * lockTtlMs });
    expect(runs).toEqual(['stopping j1']);
    expect(recovered).toEqual([]);
    expect(await suite.client.llen(key('queue:q'))).toBe(0);
    expect(await suite.client.get(key('stat:processed'))).toBe('1');
    // The stopped worker is gone for good: a late renewal did not register it again.
    expect(await suite.client.sismember(key('workers'), stopping.id)).toBe(0);
  });
});
