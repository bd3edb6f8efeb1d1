import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue as NRQueue, Scheduler as NRScheduler, Worker as NRWorker } from 'node-resque';
import { Queue, Scheduler, Worker } from '../packages/resque/src/index.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { ROOT, spawnNode } from './helpers/spawn.js';
import { pollUntil } from './helpers/wait.js';

// The scheduler's leadership (kill -9, graceful hand-over, racing ticks) and interop with
// node-resque's scheduler in both directions, against a private redis-server.
let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.close();
});

const FIXTURE = `${ROOT}test/fixtures/resque-scheduler.mjs`;
const spawnScheduler = (ns: string, ttl: number, schedule?: object, catchUpMs?: number) =>
  spawnNode(FIXTURE, [], {
    env: { REDIS_URL: redis.url, NS: ns, LOCK_TTL_MS: String(ttl), ...(schedule ? { SCHEDULE: JSON.stringify(schedule) } : {}), ...(catchUpMs !== undefined ? { CATCH_UP_MS: String(catchUpMs) } : {}) },
  });

function recorder(ns: string, queues: string[]) {
  const seen = new Map<string, number>();
  const worker = new Worker({
    redis: redis.url,
    namespace: ns,
    queues,
    jobs: { Count: (id: string) => void seen.set(id, (seen.get(id) ?? 0) + 1) },
  });
  return { seen, worker };
}

describe('Scheduler leadership', () => {
  it('a leader killed -9 is replaced within the lock TTL; every delayed job runs exactly once', async () => {
    const ns = redis.namespace();
    const ttl = 2000;
    const queue = new Queue({ redis: redis.url, namespace: ns });
    const { seen, worker } = recorder(ns, ['d']);
    await worker.start();
    const a = spawnScheduler(ns, ttl);
    try {
      await a.waitForLine(/^leader /m);
      const b = spawnScheduler(ns, ttl);
      await b.waitForLine(/^started$/m);
      const n = 300;
      const start = Date.now();
      for (let i = 0; i < n; i++) await queue.enqueueAt(start + 200 + i * 15, 'd', 'Count', `job-${i}`);
      await pollUntil(() => seen.size >= 30, { what: 'the first leader to move some jobs' });
      const killedAt = Date.now();
      a.kill('SIGKILL');
      await b.waitForLine(/^leader /m, { timeoutMs: 20_000 });
      const takeover = Date.now() - killedAt;
      console.log(`takeover after kill -9: ${takeover} ms (lock TTL ${ttl} ms)`);
      expect(takeover).toBeLessThan(ttl + 1500); // within the TTL, plus a busy machine's slack
      await pollUntil(() => seen.size === n, { what: 'every delayed job to run', timeoutMs: 20_000 });
      // A window for a duplicate to show up (an absence has no event to wait on), not a synchronisation.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
      expect(await queue.delayedCount()).toBe(0);
      await b.stop();
    } finally {
      await worker.stop();
      await queue.close();
    }
  });

  // The catch-up window: the runs a leader killed -9 missed until its lock lapsed are enqueued by
  // the next leader, each once; with catchUpMs 0 (the old rule: only the latest) they are skipped.
  it.each([
    { catchUpMs: undefined, gaps: false },
    { catchUpMs: 0, gaps: true },
  ])('a leader killed -9: the runs missed until the take-over are caught up (catchUpMs $catchUpMs → gaps: $gaps)', async ({ catchUpMs, gaps }) => {
    const ns = redis.namespace();
    const ttl = 1500;
    const schedule = { beat: { every: 200, class: 'Beat', queue: 'b' } };
    const a = spawnScheduler(ns, ttl, schedule, catchUpMs);
    await a.waitForLine(/^leader /m);
    const b = spawnScheduler(ns, ttl, schedule, catchUpMs);
    await b.waitForLine(/^started$/m);
    await a.waitForLine(/^tick beat \d+$(?:[^]*?^tick beat \d+$){4}/m, { timeoutMs: 10_000 });
    a.kill('SIGKILL');
    await b.waitForLine(/^leader /m, { timeoutMs: 20_000 });
    await b.waitForLine(/^tick beat \d+$(?:[^]*?^tick beat \d+$){3}/m, { timeoutMs: 10_000 });
    await b.stop();
    // The truth is in Redis (a line of the killed leader may be lost): each enqueued tick has its key.
    const r = redis.client();
    const ticks = (await r.keys(`${ns}:baton:schedule:tick:beat:*`)).map((k) => Number(k.split(':').pop()));
    const sorted = [...ticks].sort((x, y) => x - y);
    expect(await r.llen(`${ns}:queue:b`)).toBe(ticks.length); // each tick enqueued once
    const steps = sorted.slice(1).map((t, i) => t - sorted[i]!);
    // The take-over takes about the lock's TTL: without catch-up, several runs are skipped.
    if (gaps) expect(Math.max(...steps)).toBeGreaterThan(200);
    else expect(steps.every((s) => s === 200), steps.join(',')).toBe(true);
  });

  it('a leader that stops releases the lock: a follower takes over at once, never two leaders', async () => {
    const ns = redis.namespace();
    const ttl = 10_000;
    const a = spawnScheduler(ns, ttl);
    await a.waitForLine(/^leader /m);
    const b = spawnScheduler(ns, ttl);
    await b.waitForLine(/^started$/m);
    const stoppedAt = Date.now();
    a.kill('SIGTERM');
    await b.waitForLine(/^leader /m, { timeoutMs: 20_000 });
    const gap = Date.now() - stoppedAt;
    console.log(`hand-over on a graceful stop: ${gap} ms (lock TTL ${ttl} ms)`);
    expect(gap).toBeLessThan(ttl / 2);
    expect((await a.waitForExit()).code).toBe(0);
    await b.stop();
  });

  it('stop() with Redis gone does not hang: it gives up within seconds (the lock lapses within its TTL)', async () => {
    const r2 = await startRedis();
    const s = new Scheduler({ redis: r2.url, namespace: 'x', lockTtlMs: 1000 });
    try {
      await s.start();
      await pollUntil(() => s.isLeader, { what: 'the scheduler to lead' });
      await r2.stopServer();
      const t0 = Date.now();
      await s.stop();
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await r2.close();
    }
  });

  it('schedulers racing (hand-overs, locks lost while leading) never enqueue a cron or every tick twice', async () => {
    const ns = redis.namespace();
    const schedule = { fast: { every: 50, class: 'Tick', args: ['fast'], queue: 'ticks' }, sec: { cron: '* * * * * *', class: 'Tick', args: ['sec'], queue: 'ticks' } };
    const ticks: string[] = [];
    const make = () => {
      const s = new Scheduler({ redis: redis.url, namespace: ns, lockTtlMs: 1000, schedule });
      s.on('tick', (name, ms) => ticks.push(`${name}@${ms}`));
      return s;
    };
    const live = [make(), make(), make()];
    await Promise.all(live.map((s) => s.start()));
    const r = redis.client();
    try {
      const until = Date.now() + 4000;
      let round = 0;
      while (Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 120));
        round++;
        if (round % 2 === 0) {
          // The lock vanishes under a live leader (as if it expired while blocked): another takes it.
          await r.del(`${ns}:${ns}:resque_scheduler_master_lock`);
        } else {
          const leader = live.find((s) => s.isLeader);
          if (leader) {
            live.splice(live.indexOf(leader), 1);
            await leader.stop();
            const s = make();
            live.push(s);
            await s.start();
          }
        }
      }
    } finally {
      await Promise.all(live.map((s) => s.stop()));
    }
    const queued = await r.llen(`${ns}:queue:ticks`);
    console.log(`racing schedulers: ${ticks.length} ticks enqueued (${ticks.filter((t) => t.startsWith('fast')).length} every-50ms, ${ticks.filter((t) => t.startsWith('sec')).length} cron per second)`);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(queued).toBe(ticks.length);
    expect(ticks.filter((t) => t.startsWith('fast')).length).toBeGreaterThan(20);
  });
});

// resque-scheduler's Resilient lock, as it runs: its master_lock_key sent through Redis::Namespace.
const RUBY_LOCK = `
require "redis"; require "redis/namespace"
url = URI(ENV.fetch("REDIS_URL"))
r = Redis::Namespace.new(ENV.fetch("NS"), redis: Redis.new(host: url.host, port: url.port))
key = "#{r.namespace}:resque_scheduler_master_lock"
sha = r.redis.script(:load, "if redis.call('SETNX', KEYS[1], ARGV[1]) == 1 then redis.call('EXPIRE', KEYS[1], 180) return 1 else return 0 end")
puts r.evalsha(sha, keys: [key], argv: [ARGV[0]])
`;
const rubyNamespace = spawnSync('ruby', ['-e', 'require "redis"; require "redis/namespace"']).status === 0;

describe("Ruby resque-scheduler's master lock", () => {
  it.skipIf(!rubyNamespace)('is the same key: while Ruby holds it ours follows; once ours holds it Ruby cannot take it', async () => {
    const ns = redis.namespace();
    const ruby = (who: string) => spawnSync('ruby', ['-e', RUBY_LOCK, who], { env: { ...process.env, REDIS_URL: redis.url, NS: ns }, encoding: 'utf8' }).stdout.trim();
    expect(ruby('rubyhost:1')).toBe('1');
    const r = redis.client();
    expect(await r.get(`${ns}:${ns}:resque_scheduler_master_lock`)).toBe('rubyhost:1');
    const s = new Scheduler({ redis: redis.url, namespace: ns, lockTtlMs: 1000 });
    await s.start();
    try {
      // Longer than our TTL (1000 ms): ours must not take a lock Ruby holds; an absence, so a window.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(s.isLeader).toBe(false);
      await r.del(`${ns}:${ns}:resque_scheduler_master_lock`);
      await pollUntil(() => s.isLeader, { what: 'ours to lead once Ruby let go' });
      expect(ruby('rubyhost:2')).toBe('0');
    } finally {
      await s.stop();
    }
  });
});

function nrConnection(namespace: string) {
  const url = new URL(redis.url);
  return { host: url.hostname, port: Number(url.port), namespace };
}

describe('interop with node-resque 9.7 delayed jobs', () => {
  it("node-resque's scheduler moves our delayed jobs; its worker runs them", async () => {
    const ns = redis.namespace();
    const queue = new Queue({ redis: redis.url, namespace: ns });
    const seen: string[] = [];
    const nrScheduler = new NRScheduler({ connection: nrConnection(ns), timeout: 50 });
    const nrWorker = new NRWorker({ connection: nrConnection(ns), queues: ['later'], timeout: 20 }, { Count: { perform: async (id: string) => void seen.push(id) } });
    await nrScheduler.connect();
    await nrWorker.connect();
    try {
      await queue.enqueueIn(300, 'later', 'Count', 'ms-precise');
      await queue.enqueueAt(new Date(Math.floor(Date.now() / 1000) * 1000 + 1000), 'later', 'Count', 'whole-second');
      await nrScheduler.start();
      await nrWorker.start();
      await pollUntil(() => seen.length === 2, { what: "node-resque to move and run our delayed jobs", timeoutMs: 20_000 });
      expect(seen.sort()).toEqual(['ms-precise', 'whole-second']);
      expect(await queue.delayedCount()).toBe(0);
    } finally {
      await nrWorker.end();
      await nrScheduler.end();
      await queue.close();
    }
  });

  it("our scheduler moves node-resque's delayed jobs; our worker runs them", async () => {
    const ns = redis.namespace();
    const nrQueue = new NRQueue({ connection: nrConnection(ns) });
    await nrQueue.connect();
    const { seen, worker } = recorder(ns, ['later']);
    const scheduler = new Scheduler({ redis: redis.url, namespace: ns, lockTtlMs: 3000 });
    await worker.start();
    await scheduler.start();
    try {
      await nrQueue.enqueueIn(500, 'later', 'Count', ['from-node-resque']);
      await nrQueue.enqueueAt(Date.now() + 1200, 'later', 'Count', ['also-from-node-resque']);
      await pollUntil(() => seen.size === 2, { what: "our scheduler to move node-resque's delayed jobs", timeoutMs: 20_000 });
      expect([...seen.keys()].sort()).toEqual(['also-from-node-resque', 'from-node-resque']);
      expect(await nrQueue.scheduledAt('later', 'Count', ['from-node-resque'])).toEqual([]);
    } finally {
      await scheduler.stop();
      await worker.stop();
      await nrQueue.end();
    }
  });
});
