// @baton/resque vs node-resque vs BullMQ vs one awaited ioredis round trip, on ONE private
// redis-server started here, in one run. Every measurement runs in its own child process
// (child.mjs), so CPU time and RSS are per system. Not a test: nothing here asserts timings.
//   npm run bench:resque                      (about 2–3 min)
//   node bench/resque/bench.mjs --quick       (about 40 s)
//   node bench/resque/bench.mjs --help
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../../examples/resque/lib/chain.mjs';
import { NR_MULTI, NR_TIMEOUT_MS } from './systems.mjs';

const HELP = `usage: node bench/resque/bench.mjs [options]

  --jobs N            no-op jobs timed per throughput run (default 20000; --quick 10000)
  --warmup N          jobs drained before the clock starts (default jobs/10)
  --samples N         enqueue→start latency samples per row (default 300; --quick 100)
  --repeat N          throughput runs per row, interleaved, the best is kept (default 3; --quick 1)
  --baton-conc LIST   our Worker concurrencies to try (default 1,10,50,100,200; --quick 1,100);
                      with 1, also a row for c=1 with prefetch 1 (one job per reserve)
  --bullmq-conc LIST  BullMQ concurrencies to try (default 1,50,100,200; --quick 1,100)
  --nr-multi-max LIST node-resque MultiWorker maxTaskProcessors to try (default 20,50; --quick 20)
  --baseline-s S      seconds of the awaited PING loop, run before and after (default 2)
  --adjacent-s S      seconds of a PING loop right before and after each drain, in its process
                      (its own baseline for "vs adj. RTT"; default 0.5; 0: off)
  --only LIST         systems to run: baton,nr-worker,nr-multi,bullmq (default all)
  --durability N      also run each @baton/resque concurrency with durability { replicas: N }
                      (WAIT after each enqueue, reserve and acknowledgement): starts N replicas
                      of the bench's redis-server on loopback
  --quick             the smaller defaults above
  --help`;

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}
const quick = argv.includes('--quick');
const known = new Set(['--jobs', '--warmup', '--samples', '--repeat', '--baton-conc', '--bullmq-conc', '--nr-multi-max', '--baseline-s', '--adjacent-s', '--only', '--quick', '--durability']);
for (const a of argv) {
  if (a.startsWith('--') && !known.has(a)) {
    console.error(`unknown option ${a}\n\n${HELP}`);
    process.exit(2);
  }
}
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  if (i === -1) return def;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) {
    console.error(`--${name} needs a value`);
    process.exit(2);
  }
  return v;
};
const int = (name, def) => {
  const n = Number(opt(name, def));
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer`);
    process.exit(2);
  }
  return n;
};
const list = (name, def) => String(opt(name, def)).split(',').map((s) => s.trim()).filter(Boolean);

const cfg = {
  jobs: int('jobs', quick ? 10000 : 20000),
  samples: int('samples', quick ? 100 : 300),
  repeat: Math.max(1, int('repeat', quick ? 1 : 3)),
  batonConc: list('baton-conc', quick ? '1,100' : '1,10,50,100,200').map(Number),
  bullmqConc: list('bullmq-conc', quick ? '1,100' : '1,50,100,200').map(Number),
  nrMultiMax: list('nr-multi-max', quick ? '20' : '20,50').map(Number),
  baselineS: Number(opt('baseline-s', quick ? 1 : 2)),
  adjacentS: Number(opt('adjacent-s', 0.5)),
  only: new Set(list('only', 'baton,nr-worker,nr-multi,bullmq')),
  durability: int('durability', 0),
  latencyWarmup: 20,
  gapMs: [5, 25],
};
cfg.warmup = int('warmup', Math.max(100, Math.floor(cfg.jobs / 10)));
if (!(cfg.adjacentS >= 0) || !(cfg.baselineS > 0)) {
  console.error('--adjacent-s must be a number ≥ 0 and --baseline-s a number > 0');
  process.exit(2);
}
if (cfg.jobs < 1 || cfg.samples < 1 || [...cfg.batonConc, ...cfg.bullmqConc, ...cfg.nrMultiMax].some((c) => !Number.isInteger(c) || c < 1)) {
  console.error('--jobs, --samples and concurrencies must be ≥ 1');
  process.exit(2);
}

// --- process bookkeeping: everything started here is stopped here, also on errors and Ctrl-C ---

const children = new Set();
let redis; // { url, pid, stop() }: a private redis-server (examples/resque/lib/chain.mjs)
let redisDir;
const replicas = []; // { url, pid, stop() }: its replicas (--durability N)

function killEverything() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of [redis, ...replicas]) {
    if (!r?.pid) continue;
    try {
      process.kill(r.pid, 'SIGKILL');
    } catch {}
  }
}
process.on('exit', killEverything);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\n${sig}: stopping redis-server and the children`);
    killEverything();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

const t0 = performance.now();
try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await stopRedis();
}
if (process.exitCode === undefined || process.exitCode === 0) console.error(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s; redis-server stopped, no child left`);

async function main() {
  checkBuild();
  redisDir = mkdtempSync(join(tmpdir(), 'baton-bench-redis-'));
  redis = await startRedis(redisDir);
  const { Redis } = await import('ioredis');
  const admin = new Redis(redis.url, { lazyConnect: false });
  await startReplicas(Redis);
  const flush = () => admin.flushall();
  const versions = await packageVersions();
  console.log(
    `resque bench: ${cfg.jobs} timed no-op jobs per throughput run (after ${cfg.warmup} warm-up), best of ${cfg.repeat}; ` +
      `${cfg.samples} latency samples at idle (gaps ${cfg.gapMs[0]}–${cfg.gapMs[1]} ms)`,
  );
  console.log(`redis-server ${(await admin.info('server')).match(/redis_version:(\S+)/)?.[1]} on ${redis.url} (pid ${redis.pid}, --save '' --appendonly no); node ${process.version}; ${versions}`);
  if (replicas.length) console.log(`${replicas.length} replica(s) for --durability: ${replicas.map((r) => r.url).join(', ')}`);

  const baselines = [];
  const runBaseline = async () => {
    await flush();
    const b = await child({ mode: 'baseline', seconds: cfg.baselineS }, 30_000);
    baselines.push(b);
    progress(`awaited ioredis PING round trip: ${b.rate.toFixed(0)}/s`);
  };

  // Throughput rows, in this order; repeats are interleaved so slow drift hits every row alike.
  const rows = [];
  const add = (system, conc, label) => cfg.only.has(system.replace(/-(p1|d)$/, '')) && rows.push({ system, conc, label, runs: [], errors: [] });
  for (const c of cfg.batonConc) add('baton', c, `@baton/resque Worker`);
  if (cfg.durability > 0) for (const c of cfg.batonConc) add('baton-d', c, `@baton/resque Worker durability ${cfg.durability}`);
  if (cfg.batonConc.includes(1)) add('baton-p1', 1, '@baton/resque Worker prefetch 1');
  add('nr-worker', 1, 'node-resque Worker');
  for (const c of cfg.nrMultiMax) add('nr-multi', c, 'node-resque MultiWorker');
  for (const c of cfg.bullmqConc) add('bullmq', c, 'BullMQ Worker');

  await runBaseline();
  for (let r = 0; r < cfg.repeat; r++) {
    for (const row of rows) {
      const ns = `bench-${row.system}-${row.conc}-${r}`;
      const base = { system: row.system, conc: row.conc, ns, jobs: cfg.jobs, warmup: cfg.warmup, adjacentS: cfg.adjacentS, durability: cfg.durability };
      try {
        await flush();
        await child({ ...base, mode: 'fill' }, 120_000);
        const res = await child({ ...base, mode: 'drain' }, 30_000 + ((cfg.jobs + cfg.warmup) / 300) * 1000);
        row.runs.push(res);
        const adj = res.adjacentPing ? ` (${((100 * res.rate) / res.adjacentPing).toFixed(0)} % of PING ${res.pingBefore.toFixed(0)}/${res.pingAfter.toFixed(0)} right before/after)` : '';
        progress(`${rowName(row)}: ${res.rate.toFixed(0)} jobs/s${adj}${res.problem ? `  (!) ${res.problem}` : ''}`);
        if (res.problem) row.errors.push(res.problem);
      } catch (err) {
        row.errors.push(String(err.message ?? err).split('\n')[0]);
        progress(`${rowName(row)}: FAILED ${err.message ?? err}`);
      }
    }
  }
  await runBaseline();
  for (const row of rows) row.best = row.runs.reduce((a, b) => (!a || b.rate > a.rate ? b : a), undefined);

  // Latency at idle: concurrency 1 and each system's best concurrency.
  const bestOf = (system) => rows.filter((r) => r.system === system && r.best).reduce((a, b) => (!a || b.best.rate > a.best.rate ? b : a), undefined);
  const latencyRows = new Set();
  for (const system of ['baton', 'baton-p1', 'baton-d', 'nr-worker', 'nr-multi', 'bullmq']) {
    const one = rows.find((r) => r.system === system && r.conc === 1) ?? rows.find((r) => r.system === system);
    if (one) latencyRows.add(one);
    const best = bestOf(system);
    if (best) latencyRows.add(best);
  }
  for (const row of latencyRows) {
    try {
      await flush();
      row.latency = await child(
        { mode: 'latency', system: row.system, conc: row.conc, ns: `lat-${row.system}-${row.conc}`, samples: cfg.samples, warmup: cfg.latencyWarmup, gapMs: cfg.gapMs, durability: cfg.durability },
        30_000 + cfg.samples * 200,
      );
      progress(`${rowName(row)}: enqueue→start p50 ${row.latency.p50.toFixed(2)} ms, p99 ${row.latency.p99.toFixed(2)} ms`);
    } catch (err) {
      row.errors.push(`latency: ${String(err.message ?? err).split('\n')[0]}`);
      progress(`${rowName(row)} latency: FAILED ${err.message ?? err}`);
    }
  }
  await admin.quit();

  report(rows, baselines, bestOf);
}

function report(rows, baselines, bestOf) {
  const rtt = baselines.reduce((a, b) => a + b.rate, 0) / baselines.length;
  const f = (n, d = 0) => (n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
  const bests = new Set(['baton', 'bullmq', 'nr-multi', 'nr-worker'].map(bestOf).filter(Boolean));
  const table = [
    ['system', 'conc', 'jobs/s', 'vs RTT', 'vs adj. RTT', 'CPU µs/job', 'redis µs/job', 'RSS MB', 'p50 ms', 'p99 ms', 'idle CPU µs/job'],
    ['awaited ioredis PING (baseline)', '1', f(rtt), '100 %', '', f(mean(baselines.map((b) => b.cpuUs)), 1), f(mean(baselines.map((b) => b.redisCpuUs)), 1), f(mean(baselines.map((b) => b.rssMb))), '', '', ''],
  ];
  for (const r of rows) {
    const b = r.best;
    const l = r.latency;
    table.push([
      `${r.label}${bests.has(r) && rows.filter((x) => x.system === r.system).length > 1 ? ' (best)' : ''}`,
      r.system === 'nr-multi' ? `≤${r.conc}` : String(r.conc),
      b ? f(b.rate) : 'failed',
      b ? `${f((100 * b.rate) / rtt)} %` : '',
      b?.adjacentPing ? `${f((100 * b.rate) / b.adjacentPing)} %` : '',
      f(b?.cpuUs, 1),
      f(b?.redisCpuUs, 1),
      f(b?.rssMb),
      f(l?.p50, 2),
      f(l?.p99, 2),
      f(l?.idleCpuUs),
    ]);
  }
  console.log('');
  printTable(table, [false, true, true, true, true, true, true, true, true, true, true]);

  console.log(`\nbaseline: one awaited ioredis PING at a time, ${baselines.map((b) => f(b.rate)).join(' / ')} per second (before / after the throughput runs; mean ${f(rtt)})`);
  const rates = baselines.map((b) => b.rate);
  if (Math.max(...rates) > 1.5 * Math.min(...rates)) {
    console.log('  (!) the host changed speed during the run: "vs RTT" mixes two regimes; "vs adj. RTT" compares each run with PINGs right before and after it');
  }
  const b1 = rows.find((r) => r.system === 'baton' && r.conc === 1);
  const p1 = rows.find((r) => r.system === 'baton-p1');
  const bb = bestOf('baton');
  const qb = bestOf('bullmq');
  const m = bestOf('nr-multi');
  const q1 = rows.find((r) => r.system === 'bullmq' && r.conc === 1);
  const w1 = bestOf('nr-worker');
  const mark = (ok) => (ok ? 'met' : 'NOT met');
  console.log('\nratios and goals (issue 3, "Speed"):');
  const adjacent = (b1?.runs ?? []).filter((r) => r.adjacentPing).map((r) => r.rate / r.adjacentPing);
  if (adjacent.length) {
    const med = median(adjacent);
    console.log(
      `  @baton/resque conc 1 / adjacent round trip     ${f(100 * med)} % (median of ${adjacent.length} run(s): ${adjacent.map((x) => `${f(100 * x)} %`).join(', ')})   goal ≥ 80 %: ${mark(med >= 0.8)}`,
    );
  }
  if (b1?.best) console.log(`  @baton/resque conc 1 / before-after mean RTT   ${f((100 * b1.best.rate) / rtt)} %${adjacent.length ? '' : `   goal ≥ 80 %: ${mark(b1.best.rate >= 0.8 * rtt)}`}`);
  const strict = (p1?.runs ?? []).filter((r) => r.adjacentPing).map((r) => r.rate / r.adjacentPing);
  if (strict.length) console.log(`  prefetch 1 (one reserve per job) / adjacent    ${f(100 * median(strict))} % (median of ${strict.length}: ${strict.map((x) => `${f(100 * x)} %`).join(', ')})`);
  if (bb?.best && qb?.best) console.log(`  @baton/resque best (c=${bb.conc}) / BullMQ best (c=${qb.conc})   ${f(bb.best.rate / qb.best.rate, 2)}×   goal ≥ 2×: ${mark(bb.best.rate >= 2 * qb.best.rate)}`);
  if (b1?.latency) console.log(`  @baton/resque enqueue→start p50 at idle, c=1  ${f(b1.latency.p50, 2)} ms (p99 ${f(b1.latency.p99, 2)})   goal < 2 ms: ${mark(b1.latency.p50 < 2)}`);
  if (bb?.latency && bb !== b1) console.log(`  @baton/resque enqueue→start p50 at idle, c=${bb.conc} ${f(bb.latency.p50, 2)} ms (p99 ${f(bb.latency.p99, 2)})`);
  if (b1?.best && q1?.best) console.log(`  @baton/resque conc 1 / BullMQ conc 1           ${f(b1.best.rate / q1.best.rate, 2)}×`);
  if (b1?.best && w1?.best) console.log(`  @baton/resque conc 1 / node-resque Worker      ${f(b1.best.rate / w1.best.rate, 2)}×`);
  if (bb?.best && m?.best) console.log(`  @baton/resque best / node-resque MultiWorker   ${f(bb.best.rate / m.best.rate, 2)}×`);
  const d1 = rows.find((r) => r.system === 'baton-d' && r.conc === 1);
  const db = bestOf('baton-d');
  if (d1?.best && b1?.best) console.log(`  durability ${cfg.durability} cost at c=1: ${f(b1.best.rate)} → ${f(d1.best.rate)} jobs/s (${f((100 * d1.best.rate) / b1.best.rate)} %)`);
  if (db?.best && bb?.best) console.log(`  durability ${cfg.durability} cost at best conc: ${f(bb.best.rate)} (c=${bb.conc}) → ${f(db.best.rate)} jobs/s (c=${db.conc}, ${f((100 * db.best.rate) / bb.best.rate)} %)`);
  console.log('  reference measured earlier here (issue 3): BullMQ c=50 16.2k, node-resque MultiWorker 9.7k, BullMQ c=1 4.9k, node-resque Worker 3.2k, awaited round trip 10.7–12.7k jobs/s');
  const problems = rows.filter((r) => r.errors.length);
  if (problems.length) {
    console.log('\nproblems:');
    for (const r of problems) console.log(`  ${rowName(r)}: ${[...new Set(r.errors)].join('; ')}`);
    process.exitCode = 1;
  }
  console.log(
    `\nColumns: jobs/s = timed jobs / drain time after warm-up (best of ${cfg.repeat}); vs RTT = jobs/s ÷ awaited PINGs/s (mean of the before/after baselines); ` +
      `vs adj. RTT = jobs/s ÷ the mean of ${cfg.adjacentS} s PING loops run in the same process right before and after that drain; CPU µs/job = user+system CPU of the worker process ÷ jobs; ` +
      `redis µs/job = CPU of redis-server ÷ jobs (10 ms /proc ticks); RSS at the end of the drain; p50/p99 = enqueue→handler start at idle (producer in the worker's process); ` +
      `idle CPU = CPU of that process per latency sample, producer and idle polling included. node-resque polls every ${NR_TIMEOUT_MS} ms (its default 5000 ms), ` +
      `MultiWorker checkTimeout ${NR_MULTI.checkTimeout} ms, maxEventLoopDelay ${NR_MULTI.maxEventLoopDelay} ms; BullMQ jobs use removeOnComplete.`,
  );
}

function printTable(rows, right) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((c, i) => (right[i] ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join(' | ')} |`;
  console.log(line(rows[0]));
  console.log(`|${w.map((n, i) => (right[i] ? `${'-'.repeat(n + 1)}:` : '-'.repeat(n + 2))).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
}

function rowName(r) {
  return `${r.label} c=${r.system === 'nr-multi' ? `≤${r.conc}` : r.conc}`;
}

function median(a) {
  const v = [...a].sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

function mean(a) {
  const v = a.filter((x) => typeof x === 'number');
  return v.length ? v.reduce((x, y) => x + y, 0) / v.length : undefined;
}

function progress(s) {
  console.error(`  [${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${s}`);
}

/** Runs one measurement in a child process; rejects on failure or after `timeoutMs` (then the child is killed). */
async function child(params, timeoutMs) {
  const c = spawn(process.execPath, [CHILD, JSON.stringify({ ...params, url: redis.url, redisPid: redis.pid })], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(c);
  let message;
  c.on('message', (m) => (message = m));
  const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
  try {
    const [code, signal] = await once(c, 'exit');
    if (message?.ok) return message.result;
    if (message) throw new Error(message.error);
    throw new Error(signal === 'SIGKILL' ? `${params.mode} timed out after ${(timeoutMs / 1000).toFixed(0)} s` : `${params.mode} exited with ${signal ?? code}`);
  } finally {
    clearTimeout(timer);
    children.delete(c);
  }
}

// --- the private redis-server ---

/**
 * Starts redis-server under a tiny sh watchdog that kills it when our end of its stdin closes,
 * so it cannot outlive this process even after a kill -9 of the bench.
 */
async function stopRedis() {
  const r = redis;
  redis = undefined;
  for (const x of replicas.splice(0)) await x.stop();
  await r?.stop();
  if (redisDir) rmSync(redisDir, { recursive: true, force: true });
}

/** --durability N: N replicas of the bench's redis-server, each linked before the runs start. */
async function startReplicas(Redis) {
  for (let i = 0; i < cfg.durability; i++) {
    const r = await startRedis(mkdtempSync(join(redisDir, 'replica-')), ['--replicaof', '127.0.0.1', new URL(redis.url).port]);
    replicas.push(r);
    const c = new Redis(r.url);
    for (let k = 0; k < 200 && !/master_link_status:up/.test(await c.info('replication')); k++) await new Promise((res) => setTimeout(res, 50));
    c.disconnect();
  }
}

// --- preconditions ---

function checkBuild() {
  const dist = `${ROOT}packages/resque/dist/index.js`;
  if (!existsSync(dist)) {
    throw new Error('packages/resque/dist is missing: run `npx turbo run build --filter=@baton/resque` first');
  }
  const srcDir = `${ROOT}packages/resque/src`;
  // Lua scripts are read from src/ at run time; only TypeScript needs a build.
  const ts = readdirSync(srcDir).filter((n) => n.endsWith('.ts')).reduce((m, n) => Math.max(m, statSync(`${srcDir}/${n}`).mtimeMs), 0);
  if (ts > statSync(dist).mtimeMs) console.error('warning: packages/resque/src is newer than dist; run `npx turbo run build --filter=@baton/resque` to measure the current code');
}

async function packageVersions() {
  const v = (name) => {
    try {
      return JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, 'utf8')).version;
    } catch {
      return '?';
    }
  };
  return `@baton/resque ${v('@baton/resque')}, node-resque ${v('node-resque')}, bullmq ${v('bullmq')}, ioredis ${v('ioredis')}`;
}
