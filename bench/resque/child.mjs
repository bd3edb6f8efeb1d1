// One measurement in its own process (so CPU time and RSS belong to one system), started by
// bench.mjs over IPC: `node child.mjs '<json params>'`; the result goes back with process.send.
//   mode baseline  awaited ioredis PING loop for `seconds`
//   mode fill      enqueue `warmup + jobs` no-op jobs with the system's own producer
//   mode drain     start the system's worker and time the `jobs` after the first `warmup`
//                  (with `adjacentS`, a PING loop of that many seconds right before and after)
//   mode latency   idle worker + producer in this process: enqueue one job, wait for its start, repeat
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { producer, worker } from './systems.mjs';

const p = JSON.parse(process.argv[2]);
// The parent went away (Ctrl-C, crash): do not outlive it.
process.on('disconnect', () => process.exit(1));

try {
  const result = await ({ baseline, fill, drain, latency })[p.mode]();
  process.send({ ok: true, result }, () => process.exit(0));
} catch (err) {
  process.send({ ok: false, error: String(err?.stack ?? err) }, () => process.exit(1));
}

async function baseline() {
  return await pingLoop(p.seconds);
}

/** The awaited PING loop: warm-up, then as many round trips as fit in `seconds`. */
async function pingLoop(seconds) {
  const { Redis } = await import('ioredis');
  const r = new Redis(p.url);
  await r.ping();
  for (let i = 0; i < 2000; i++) await r.ping(); // warm-up
  const m0 = mark();
  let k = 0;
  const until = m0.t + seconds * 1000;
  while (performance.now() < until) {
    await r.ping();
    k++;
  }
  const res = summary(m0, mark(), k);
  r.disconnect();
  return res;
}

async function fill() {
  const q = await producer(p.system, p.url, p.ns, p);
  await q.addMany(p.warmup + p.jobs);
  await q.close();
  return {};
}

async function drain() {
  // This host's round-trip rate can change several-fold within seconds: measure it right before
  // and right after the drain too, so each run has a baseline from its own moment.
  const pingBefore = p.adjacentS > 0 ? (await pingLoop(p.adjacentS)).rate : undefined;
  const total = p.warmup + p.jobs;
  let done = 0;
  let m0;
  let finish;
  const finished = new Promise((r) => (finish = r));
  const w = await worker(
    p.system,
    p.url,
    p.ns,
    p.conc,
    {
      onStart: () => undefined,
      onDone: () => {
        done++;
        if (done === p.warmup) m0 = mark();
        if (done === total) finish(mark());
      },
    },
    p,
  );
  await w.prepare();
  if (p.warmup === 0) m0 = mark();
  await w.start();
  const m1 = await finished;
  const res = summary(m0, m1, p.jobs);
  await w.stop();
  res.problem = await w.verify(total);
  if (p.adjacentS > 0) {
    res.pingBefore = pingBefore;
    res.pingAfter = (await pingLoop(p.adjacentS)).rate;
    res.adjacentPing = (res.pingBefore + res.pingAfter) / 2;
  }
  return res;
}

async function latency() {
  let waiting;
  const w = await worker(p.system, p.url, p.ns, p.conc, { onStart: (t) => waiting?.(performance.now() - t), onDone: () => undefined }, p);
  const q = await producer(p.system, p.url, p.ns, p);
  await w.prepare();
  await w.start();
  await sleep(300);
  const samples = [];
  let m0;
  for (let i = 0; i < p.warmup + p.samples; i++) {
    if (i === p.warmup) m0 = mark();
    // Idle between jobs: a random gap so that pollers are caught at every phase of their cycle.
    await sleep(p.gapMs[0] + Math.random() * (p.gapMs[1] - p.gapMs[0]));
    const started = new Promise((r) => (waiting = r));
    const t = performance.now();
    await q.add(t);
    const ms = await started;
    waiting = undefined;
    if (i >= p.warmup) samples.push(ms);
  }
  const cost = summary(m0, mark(), p.samples);
  await w.stop();
  await q.close();
  samples.sort((a, b) => a - b);
  const pct = (x) => samples[Math.min(samples.length - 1, Math.ceil(x * samples.length) - 1)];
  // CPU here includes the producer in this process and the idle wake-ups between jobs.
  return { p50: pct(0.5), p99: pct(0.99), max: samples.at(-1), idleCpuUs: cost.cpuUs, idleRedisCpuUs: cost.redisCpuUs };
}

function mark() {
  return { t: performance.now(), cpu: process.cpuUsage(), redisTicks: redisTicks() };
}

function summary(m0, m1, n) {
  const ms = m1.t - m0.t;
  const cpu = m1.cpu.user - m0.cpu.user + (m1.cpu.system - m0.cpu.system);
  return {
    rate: (n * 1000) / ms,
    seconds: ms / 1000,
    cpuUs: cpu / n,
    // /proc clock ticks are 10 ms: only meaningful over runs of a second or more.
    redisCpuUs: m1.redisTicks === undefined ? undefined : ((m1.redisTicks - m0.redisTicks) * 10_000) / n,
    rssMb: process.memoryUsage().rss / 2 ** 20,
  };
}

/** utime + stime of the redis-server process, in clock ticks (USER_HZ = 100 on Linux). */
function redisTicks() {
  if (!p.redisPid) return undefined;
  try {
    const stat = readFileSync(`/proc/${p.redisPid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}
