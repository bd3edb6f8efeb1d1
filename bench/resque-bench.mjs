// @baton/resque vs node-resque vs BullMQ on one private redis-server, in one run (not a test).
// Each measurement runs in its own child process, so CPU and RSS are per system.
//   npm run build && node bench/resque-bench.mjs [--jobs 10000] [--samples 300]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : args[i + 1];
};
const now = () => performance.timeOrigin + performance.now();

if (args[0] === '--child') await child(args[1], Number(args[2]), args[3], args[4], Number(args[5]));
else await main();

async function main() {
  const jobs = Number(opt('jobs', 10000));
  const samples = Number(opt('samples', 300));
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stopRedis = () => redis.exitCode === null && redis.kill('SIGTERM');
  process.on('exit', stopRedis);
  process.on('SIGINT', () => process.exit(130));
  for await (const chunk of redis.stdout) if (/Ready to accept connections/.test(String(chunk))) break;
  redis.stdout.resume();
  const url = `redis://127.0.0.1:${port}`;
  console.log(`resque bench: ${jobs} no-op jobs per throughput row, ${samples} latency samples; redis-server 127.0.0.1:${port}; node ${process.version}`);

  const run = async (mode, system, conc) => {
    const c = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', system, String(conc), mode, url, String(mode === 'latency' ? samples : jobs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    await once(c, 'exit');
    return JSON.parse(out.trim().split('\n').pop());
  };
  const baseline = await run('baseline', 'ioredis', 1);
  const rows = [];
  for (const [system, conc, label] of [
    ['baton', 1, '@baton/resque, concurrency 1'],
    ['baton', 10, '@baton/resque, concurrency 10'],
    ['baton', 50, '@baton/resque, concurrency 50'],
    ['baton', 100, '@baton/resque, concurrency 100'],
    ['nr-worker', 1, 'node-resque Worker'],
    ['nr-multi', 50, 'node-resque MultiWorker (max 50)'],
    ['bullmq', 1, 'BullMQ, concurrency 1'],
    ['bullmq', 50, 'BullMQ, concurrency 50'],
    ['bullmq', 100, 'BullMQ, concurrency 100'],
  ]) {
    const t = await run('throughput', system, conc);
    const l = conc === 1 || system === 'nr-multi' ? await run('latency', system, conc) : undefined;
    rows.push({ label, system, conc, ...t, p50: l?.p50, p99: l?.p99 });
    console.error(`  ${label}: ${t.rate.toFixed(0)} jobs/s`);
  }
  stopRedis();
  const best = (sys) => rows.filter((r) => r.system === sys).reduce((a, b) => (b.rate > a.rate ? b : a));
  const fmt = (n, d = 0) => (n === undefined ? '—' : n.toFixed(d));
  console.log(`\nbaseline: one awaited ioredis round trip (PING) = ${baseline.rate.toFixed(0)}/s\n`);
  console.log('| system | jobs/s | CPU µs/job | RSS MB | enqueue→start p50 ms | p99 ms |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.label} | ${fmt(r.rate)} | ${fmt(r.cpuPerJobUs)} | ${fmt(r.rssMb)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} |`);
  const b1 = rows.find((r) => r.system === 'baton' && r.conc === 1);
  const bb = best('baton');
  const qb = best('bullmq');
  console.log(`\nratios:`);
  console.log(`  @baton/resque concurrency 1 / awaited round trip: ${((100 * b1.rate) / baseline.rate).toFixed(0)} % (goal ≥ 80 %)`);
  console.log(`  @baton/resque best (c=${bb.conc}) / BullMQ best (c=${qb.conc}): ${(bb.rate / qb.rate).toFixed(2)}× (goal ≥ 2×)`);
  console.log(`  @baton/resque best / node-resque MultiWorker: ${(bb.rate / best('nr-multi').rate).toFixed(2)}×`);
  console.log(`  @baton/resque enqueue→start p50 at idle: ${b1.p50.toFixed(2)} ms (goal < 2 ms)`);
  await once(redis, 'exit');
}

async function child(system, conc, mode, url, n) {
  const u = new URL(url);
  const connection = { host: u.hostname, port: Number(u.port) };
  const ns = `bench-${system}-${conc}-${mode}`;
  let done = 0;
  let target = n;
  let onDone;
  const starts = [];
  const job = (t) => {
    if (mode === 'latency') starts.push(now() - t);
    if (++done === target) onDone?.();
  };
  const finished = () => new Promise((r) => (onDone = r));

  if (mode === 'baseline') {
    const { Redis } = await import('ioredis');
    const r = new Redis(url);
    const t0 = performance.now();
    let k = 0;
    while (performance.now() - t0 < 2000) {
      await r.ping();
      k++;
    }
    print({ rate: (k * 1000) / (performance.now() - t0) });
    r.disconnect();
    return;
  }

  let enqueue, startWorker, stop;
  if (system === 'baton') {
    const { Queue, Worker } = await import('@baton/resque');
    const q = new Queue({ redis: url, namespace: ns });
    const w = new Worker({ redis: url, namespace: ns, queues: ['bench'], concurrency: conc, jobs: { Noop: job } });
    enqueue = async (count, arg) => {
      const p = [];
      for (let i = 0; i < count; i++) p.push(q.enqueue('bench', 'Noop', arg ?? 0));
      await Promise.all(p);
    };
    startWorker = () => w.start();
    stop = async () => {
      await w.stop();
      await q.close();
    };
  } else if (system === 'nr-worker' || system === 'nr-multi') {
    const NR = await import('node-resque');
    const conn = { ...connection, namespace: ns };
    const q = new NR.Queue({ connection: conn });
    await q.connect();
    const jobs = { Noop: { perform: async (t) => job(t) } };
    const w =
      system === 'nr-worker'
        ? new NR.Worker({ connection: conn, queues: ['bench'], timeout: 5 }, jobs)
        : new NR.MultiWorker({ connection: conn, queues: ['bench'], minTaskProcessors: 1, maxTaskProcessors: conc, timeout: 5, checkTimeout: 50 }, jobs);
    enqueue = async (count, arg) => {
      const p = [];
      for (let i = 0; i < count; i++) p.push(q.enqueue('bench', 'Noop', [arg ?? 0]));
      await Promise.all(p);
    };
    startWorker = async () => {
      if (w.connect) await w.connect();
      await w.start();
    };
    stop = async () => {
      await w.end();
      await q.end();
    };
  } else {
    const { Queue, Worker } = await import('bullmq');
    const q = new Queue(ns, { connection });
    let w;
    enqueue = async (count, arg) => {
      for (let i = 0; i < count; i += 1000) {
        await q.addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'Noop', data: { t: arg ?? 0 }, opts: { removeOnComplete: true } })));
      }
    };
    startWorker = async () => {
      w = new Worker(ns, async (j) => job(j.data.t), { connection, concurrency: conc });
      await w.waitUntilReady();
    };
    stop = async () => {
      await w.close();
      await q.obliterate({ force: true });
      await q.close();
    };
  }

  if (mode === 'throughput') {
    await enqueue(n);
    const all = finished();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await startWorker();
    await all;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    print({ rate: (n * 1000) / ms, cpuPerJobUs: (cpu.user + cpu.system) / n, rssMb: process.memoryUsage().rss / 1e6 });
  } else {
    await startWorker();
    target = 1;
    for (let i = 0; i < 20 + n; i++) {
      // Idle between samples (the worker backs off to its slowest poll), so this is latency at idle.
      await new Promise((r) => setTimeout(r, 20));
      done = 0;
      const p = finished();
      await enqueue(1, now());
      await p;
    }
    const s = starts.slice(20).sort((a, b) => a - b);
    print({ p50: s[Math.floor(s.length / 2)], p99: s[Math.floor(s.length * 0.99)] });
  }
  await stop();
  process.exit(0);
}

function print(o) {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}
