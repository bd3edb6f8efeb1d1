// Delayed jobs: @baton/resque (enqueueAt + Scheduler + Worker) vs BullMQ (delay + Worker), on ONE
// private redis-server started here, in one run. N jobs due within a window a few seconds ahead;
// each job records when its handler starts. Prints lateness (start − due) p50/p99/max and Redis
// CPU per job (INFO cpu, user+sys, from the first enqueue to the last job's start). Not a test.
//   node bench/resque/delayed.mjs                 (10,000 jobs due within 3 s, 2 s ahead)
//   node bench/resque/delayed.mjs --jobs 2000 --window-ms 2000 --concurrency 50 --only baton
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Queue, Scheduler, Worker } from '@baton/resque';
import { startRedis } from '../../examples/resque/lib/chain.mjs';

const HELP = `usage: node bench/resque/delayed.mjs [--jobs N] [--window-ms MS] [--lead-ms MS] [--concurrency N] [--only baton,bullmq]

  --jobs N          delayed jobs per system (default 10000)
  --window-ms MS    due times spread uniformly over this window (default 3000)
  --lead-ms MS      the window starts this long after enqueueing starts (default 2000)
  --concurrency N   worker concurrency, the same for both (default 50)
  --only LIST       systems to run (default baton,bullmq)`;
const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log(HELP);
  process.exit(0);
}
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? def : argv[i + 1];
};
const cfg = {
  jobs: Number(opt('jobs', 10000)),
  windowMs: Number(opt('window-ms', 3000)),
  leadMs: Number(opt('lead-ms', 2000)),
  concurrency: Number(opt('concurrency', 50)),
  only: String(opt('only', 'baton,bullmq')).split(','),
};

const dir = mkdtempSync(join(tmpdir(), 'baton-delayed-bench-'));
const redis = await startRedis(dir);
const admin = new Redis(redis.url);

async function redisCpuMs() {
  const info = await admin.info('cpu');
  const get = (k) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)[1]);
  return (get('used_cpu_user') + get('used_cpu_sys')) * 1000;
}

function dueTimes() {
  const start = Date.now() + cfg.leadMs;
  return Array.from({ length: cfg.jobs }, () => start + Math.floor(Math.random() * cfg.windowMs));
}

function summary(name, late, cpuMs, enqueueMs) {
  const s = [...late].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { name, jobs: s.length, p50: q(0.5), p99: q(0.99), max: s[s.length - 1], min: s[0], cpuUsPerJob: ((cpuMs * 1000) / s.length).toFixed(1), enqueueMs };
}

async function runBaton() {
  const ns = `bench-${Date.now()}`;
  const queue = new Queue({ redis: redis.url, namespace: ns });
  const scheduler = new Scheduler({ redis: redis.url, namespace: ns });
  const late = [];
  let done;
  const all = new Promise((r) => (done = r));
  const worker = new Worker({
    redis: redis.url,
    namespace: ns,
    queues: ['delayed'],
    concurrency: cfg.concurrency,
    jobs: {
      D(due) {
        late.push(Date.now() - due);
        if (late.length === cfg.jobs) done();
      },
    },
  });
  await scheduler.start();
  await worker.start();
  const dues = dueTimes();
  const cpu0 = await redisCpuMs();
  const t0 = Date.now();
  for (let i = 0; i < dues.length; i += 500) await Promise.all(dues.slice(i, i + 500).map((d) => queue.enqueueAt(d, 'delayed', 'D', d)));
  const enqueueMs = Date.now() - t0;
  await all;
  const cpu = (await redisCpuMs()) - cpu0;
  await worker.stop();
  await scheduler.stop();
  await queue.close();
  return summary('@baton/resque enqueueAt + Scheduler', late, cpu, enqueueMs);
}

async function runBull() {
  const prefix = `bull-${Date.now()}`;
  const conns = [0, 1].map(() => new Redis(redis.url, { maxRetriesPerRequest: null }));
  const queue = new BullQueue('delayed', { connection: conns[0], prefix });
  const late = [];
  let done;
  const all = new Promise((r) => (done = r));
  const worker = new BullWorker(
    'delayed',
    async (job) => {
      late.push(Date.now() - job.data.due);
      if (late.length === cfg.jobs) done();
    },
    { connection: conns[1], prefix, concurrency: cfg.concurrency },
  );
  await worker.waitUntilReady();
  const dues = dueTimes();
  const cpu0 = await redisCpuMs();
  const t0 = Date.now();
  for (let i = 0; i < dues.length; i += 500) {
    await queue.addBulk(dues.slice(i, i + 500).map((due) => ({ name: 'D', data: { due }, opts: { delay: Math.max(0, due - Date.now()), removeOnComplete: true } })));
  }
  const enqueueMs = Date.now() - t0;
  await all;
  const cpu = (await redisCpuMs()) - cpu0;
  await worker.close();
  await queue.close();
  for (const c of conns) c.disconnect();
  return summary('BullMQ delay', late, cpu, enqueueMs);
}

const rows = [];
try {
  if (cfg.only.includes('baton')) rows.push(await runBaton());
  if (cfg.only.includes('bullmq')) rows.push(await runBull());
} finally {
  admin.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${cfg.jobs} delayed jobs due within ${cfg.windowMs} ms, ${cfg.leadMs} ms ahead; worker concurrency ${cfg.concurrency}; one redis-server`);
console.log('| system | jobs | lateness p50 ms | p99 ms | max ms | min ms | Redis CPU µs/job | enqueue ms |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.jobs} | ${r.p50} | ${r.p99} | ${r.max} | ${r.min} | ${r.cpuUsPerJob} | ${r.enqueueMs} |`);
