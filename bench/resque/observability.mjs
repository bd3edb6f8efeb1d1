// What observability costs resque-starter: no-op jobs/s through a real master and its worker
// processes (dist/cli.js), with metrics off and on and JSON job lines (a line per job) off and
// on, at each worker count given; the master's stderr (and so its workers' lines) goes to a
// file. The same private redis-server for every run, runs interleaved (every other round in the
// reverse order) so drift hits every variant alike; medians, ranges and each round's ratio to
// the "both off" run next to it are printed. --side-by-side runs each variant at the same time
// as a "both off" master instead, so a busy host's load falls on both alike. Not a test.
//   node bench/resque/observability.mjs                 (about 10 min on 2 cores)
//   node bench/resque/observability.mjs --side-by-side --conc 1,2
//   node bench/resque/observability.mjs --quick
//   node bench/resque/observability.mjs --help
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, cleanup, freePort, resqueModuleEnv, scratchDir, startRedis, waitUntil } from '../../examples/resque/lib/chain.mjs';

const HELP = `usage: node bench/resque/observability.mjs [options]

  --jobs N        no-op jobs timed per run (default 20000; --quick 8000)
  --warmup N      jobs done before the clock starts (default 20000; --quick 4000): the workers'
                  code is compiled by then (a short warm-up times V8 compiling the logging code)
  --conc LIST     worker processes (resque-starter concurrency) to try (default 1,2,3; --quick 1,2)
  --repeat N      runs per variant and count, interleaved (default 5; --quick 2)
  --metrics-only  leave out the JSON job line axis (logFormat 'json', jobLog true)
  --prefetch N    the workers' prefetch (default: the config's default, 16; 1 = a job per Redis call)
  --side-by-side  run each variant at the same time as a "both off" master (own namespace, same
                  redis-server) and count both over the same --window-ms: a busy host's load
                  falls on both alike (each has less of the host than alone)
  --window-ms N   the side-by-side counting window (default 4000)
  --only LIST     only these variants (comma-separated names, e.g. "both off,both on")
  --cpu-prof DIR  run the master (and so its workers) with --cpu-prof into DIR
  --node-arg ARG  one more node flag for the master and its workers (--perf-basic-prof, …)
  --quick         the smaller defaults above
  --help`;

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log(HELP);
  process.exit(0);
}
const quick = argv.includes('--quick');
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? def : argv[i + 1];
};
const jobs = Number(opt('jobs', quick ? 8000 : 20000));
const warmup = Number(opt('warmup', quick ? 4000 : 20000));
const concs = String(opt('conc', quick ? '1,2' : '1,2,3')).split(',').map(Number);
const repeat = Number(opt('repeat', quick ? 2 : 5));
const jsonLogs = !argv.includes('--metrics-only');
const only = opt('only', undefined)?.split(',');
const prefetch = opt('prefetch', undefined);
const sideBySide = argv.includes('--side-by-side');
const windowMs = Number(opt('window-ms', 4000));
const cpuProf = opt('cpu-prof', undefined);
const nodeArgs = [...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []), ...argv.flatMap((a, i) => (argv[i - 1] === '--node-arg' ? [a] : []))];

/**
 * Each variant: what it adds to conf.ts (`PORT` is replaced by a free port). Every one logs at
 * info; "off" has no line per job (`jobLog: false`: failures only) and no metrics.
 */
const OFF = "logFormat: 'text', jobLog: false,";
const JSON_LINES = "logFormat: 'json', jobLog: true,";
const METRICS = 'metrics: { port: PORT },';
const VARIANTS = [
  { name: 'both off', conf: OFF },
  { name: 'metrics', conf: `${OFF} ${METRICS}` },
  ...(jsonLogs
    ? [
        { name: 'json job lines', conf: JSON_LINES },
        { name: 'both on', conf: `${JSON_LINES} ${METRICS}` },
      ]
    : []),
].filter((v) => !only || only.includes(v.name));

const dir = scratchDir('bench-obs-');
const children = new Set();
let redis;
const stopAll = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (redis?.pid) {
    try {
      process.kill(redis.pid, 'SIGKILL');
    } catch {}
  }
};
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await redis?.stop();
  cleanup(dir);
}

async function main() {
  redis = await startRedis(dir);
  const { Redis } = await import('ioredis');
  const r = new Redis(redis.url);
  console.log(`observability bench: ${jobs} timed no-op jobs per run (after ${warmup} warm-up), ${repeat} runs per variant and count; worker processes ${concs.join(', ')}; node ${process.version}; load average ${loadavg()[0].toFixed(1)}`);
  const runs = new Map(); // `${variant}|${conc}` → [{ rate, cpu: { master, workers } }]
  const ratios = new Map(); // `${variant}|${conc}` → [rate / the rate of the "both off" run beside it]
  const add = (map, key, x) => map.set(key, [...(map.get(key) ?? []), x]);
  const show = (v, conc, run1) => {
    const notes = [
      `CPU/job master ${run1.cpu.master.toFixed(1)} µs, workers ${run1.cpu.workers.toFixed(1)} µs (system ${run1.cpu.workersSys.toFixed(1)})`,
      run1.scraped !== undefined ? `endpoint: ${run1.scraped} processed` : '',
      `log ${(run1.logBytes / 1e6).toFixed(1)} MB`,
      `load ${loadavg()[0].toFixed(1)}`,
    ]
      .filter(Boolean)
      .join(', ');
    console.error(`  ${v.name.padEnd(16)} conc ${conc}: ${run1.rate.toFixed(0)} jobs/s (${notes})`);
  };
  for (let i = 0; i < repeat; i++) {
    for (const conc of concs) {
      if (sideBySide) {
        for (const v of VARIANTS.slice(1)) {
          const [off, on] = await runPair(r, VARIANTS[0], v, conc, `p${i}${conc}${v.name.replace(/\W/g, '')}`);
          add(runs, `${VARIANTS[0].name}|${conc}`, off);
          add(runs, `${v.name}|${conc}`, on);
          add(ratios, `${v.name}|${conc}`, on.rate / off.rate);
          show(VARIANTS[0], conc, off);
          show(v, conc, on);
        }
        continue;
      }
      // Every other round backwards: no variant always runs first (or right after another).
      const round = new Map();
      for (const v of i % 2 ? [...VARIANTS].reverse() : VARIANTS) {
        const run1 = await run(r, v, conc, `b${i}${conc}${v.name.replace(/\W/g, '')}`);
        round.set(v.name, run1);
        add(runs, `${v.name}|${conc}`, run1);
        show(v, conc, run1);
      }
      for (const v of VARIANTS.slice(1)) add(ratios, `${v.name}|${conc}`, round.get(v.name).rate / round.get(VARIANTS[0].name).rate);
    }
  }
  await r.quit();
  const OFF = VARIANTS[0].name;
  const rates = (v, c) => (runs.get(`${v}|${c}`) ?? []).map((x) => x.rate);
  /** Each run against the "both off" run beside it (the same round, or at the same time): less drift than a ratio of medians. */
  const paired = (v, c) => ratios.get(`${v}|${c}`) ?? [];
  const bestConc = concs.reduce((a, c) => (median(rates(OFF, c)) > median(rates(OFF, a)) ? c : a), concs[0]);
  const range = (xs, f) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  const int = (x) => x.toFixed(0);
  console.log('\njobs/s, median (min–max) of the runs:');
  printTable([
    ['worker processes', ...VARIANTS.map((v) => v.name)],
    ...concs.map((c) => [`${c}${c === bestConc ? ' (best)' : ''}`, ...VARIANTS.map((v) => `${int(median(rates(v.name, c)))} (${range(rates(v.name, c), int)})`)]),
  ]);
  console.log(`\nagainst both off: median (min–max) of each run's ratio to the "both off" run ${sideBySide ? 'at the same time' : 'of its round; then the ratio of the medians'}:`);
  printTable([
    ['worker processes', ...VARIANTS.slice(1).map((v) => `${v.name} / off`)],
    ...concs.map((c) => [
      `${c}${c === bestConc ? ' (best)' : ''}`,
      ...VARIANTS.slice(1).map((v) => `${pct(median(paired(v.name, c)))} (${range(paired(v.name, c), (x) => (100 * x).toFixed(0))})${sideBySide ? '' : `; ${pct(median(rates(v.name, c)) / median(rates(OFF, c)))}`}`),
    ]),
  ]);
  console.log('\nCPU per job (µs, median of the runs; /proc utime+stime of the master and of its workers over the timed jobs):');
  const cpu = (v, c, k) => median((runs.get(`${v}|${c}`) ?? []).map((x) => x.cpu[k]));
  printTable([
    ['worker processes', ...VARIANTS.flatMap((v) => [`${v.name} master`, `${v.name} workers`])],
    ...concs.map((c) => [String(c), ...VARIANTS.flatMap((v) => ['master', 'workers'].map((k) => cpu(v.name, c, k).toFixed(1)))]),
  ]);
  console.log(`\nall runs (jobs/s, in order):`);
  for (const [key, xs] of runs) console.log(`  ${key.replace('|', ', conc ')}: ${xs.map((x) => x.rate.toFixed(0)).join(' / ')}`);
  const both = VARIANTS.find((v) => v.name === 'both on');
  if (both) {
    for (const c of new Set([concs[0], bestConc])) {
      console.log(`both on / both off at ${c} worker process(es)${c === bestConc ? ' (the best count)' : ''}: ${pct(median(paired(both.name, c)))} (rounds ${range(paired(both.name, c), (x) => (100 * x).toFixed(0))} %)`);
    }
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One run: fill the queue, start a master with `conc` workers, time the drain by Resque's processed stat. */
async function run(r, variant, conc, ns) {
  await r.flushall();
  const total = warmup + jobs;
  await fill(r, ns, total);
  const m = await startMaster(r, variant, conc, ns);
  try {
    await waitUntil(async () => (await m.processed()) >= warmup, `${warmup} warm-up jobs (${variant.name}, conc ${conc})\n${m.tail()}`, 120_000, 5);
    const t0 = performance.now();
    const n0 = await m.processed();
    const cpu0 = cpuOf(m.pid);
    await waitUntil(async () => (await m.processed()) >= total, `all jobs (${variant.name}, conc ${conc})\n${m.tail()}`, 300_000, 5);
    const t1 = performance.now();
    const cpu1 = cpuOf(m.pid);
    return { rate: ((total - n0) * 1000) / (t1 - t0), cpu: cpuPerJob(cpu0, cpu1, total - n0), ...(await m.finish()) };
  } finally {
    await m.stop();
  }
}

/**
 * Side by side: "both off" and `variant` at the same time, each its own master and namespace on
 * the same redis-server, each counted over the same window once both are warm (their queues
 * hold more than either can do in it).
 */
async function runPair(r, off, variant, conc, ns) {
  await r.flushall();
  const ms = [];
  try {
    for (const [v, suffix] of [
      [off, 'a'],
      [variant, 'b'],
    ]) {
      await fill(r, ns + suffix, warmup + 200_000);
      ms.push(await startMaster(r, v, conc, ns + suffix));
    }
    for (const m of ms) await waitUntil(async () => (await m.processed()) >= warmup, `${warmup} warm-up jobs (${m.variant.name}, conc ${conc})\n${m.tail()}`, 120_000, 5);
    const n0 = await Promise.all(ms.map((m) => m.processed()));
    const cpu0 = ms.map((m) => cpuOf(m.pid));
    const t0 = performance.now();
    await sleep(windowMs);
    const n1 = await Promise.all(ms.map((m) => m.processed()));
    const cpu1 = ms.map((m) => cpuOf(m.pid));
    const t1 = performance.now();
    const out = [];
    for (const [i, m] of ms.entries()) {
      const done = n1[i] - n0[i];
      out.push({ rate: (done * 1000) / (t1 - t0), cpu: cpuPerJob(cpu0[i], cpu1[i], done), ...(await m.finish()) });
    }
    return out;
  } finally {
    for (const m of ms) await m.stop();
  }
}

async function fill(r, ns, total) {
  const payload = JSON.stringify({ class: 'Noop', args: [] });
  await r.sadd(`${ns}:queues`, 'bench');
  for (let i = 0; i < total; i += 5000) await r.rpush(`${ns}:queue:bench`, ...Array.from({ length: Math.min(5000, total - i) }, () => payload));
}

/** CPU per job (µs), less sensitive to a shared host than the rate: the master, and its workers together. */
function cpuPerJob(cpu0, cpu1, n) {
  const perJob = (a, b) => ((b - a) * 1000) / n;
  return { master: perJob(cpu0.master, cpu1.master), workers: perJob(cpu0.workers, cpu1.workers), workersSys: perJob(cpu0.workersSys, cpu1.workersSys) };
}

/** A master with `conc` workers on namespace `ns`, its lines (and its workers') to a file. */
async function startMaster(r, variant, conc, ns) {
  const port = await freePort();
  const conf = join(dir, `${ns}.conf.ts`);
  const status = join(dir, `${ns}.status.json`);
  writeFileSync(
    conf,
    `import { defineConfig } from '@baton/resque-starter';
export default defineConfig({
  concurrency: ${conc},
  queues: ['bench'],
  redis: ${JSON.stringify(redis.url)},
  namespace: ${JSON.stringify(ns)},
  statusFile: ${JSON.stringify(status)},
  scheduler: { enabled: false },
  logLevel: 'info',${prefetch ? `\n  prefetch: ${Number(prefetch)},` : ''}
  ${variant.conf.replaceAll('PORT', String(port))}
  jobs: { Noop() {} },
});
`,
  );
  const env = { ...process.env, ...resqueModuleEnv().env, NO_COLOR: '1' };
  delete env.BATON_LOG_LEVEL;
  delete env.BATON_LOG_FORMAT;
  // The lines go to a file, as with a service's redirected stderr (workers inherit it).
  const logPath = join(dir, `${ns}.log`);
  const log = openSync(logPath, 'w');
  const master = spawn(process.execPath, [...nodeArgs, BIN.resqueStarter, '-c', conf], { env, stdio: ['ignore', log, log] });
  closeSync(log);
  children.add(master);
  return {
    variant,
    pid: master.pid,
    tail: () => readFileSync(logPath, 'utf8').slice(-3000),
    processed: async () => Number((await r.get(`${ns}:stat:processed`)) ?? 0),
    /** With metrics: what the endpoint counted (after the workers' last 100 ms batches). */
    async finish() {
      let scraped;
      if (/metrics/.test(variant.conf)) {
        await sleep(300);
        scraped = sumProcessed(await get(port));
      }
      return { scraped, logBytes: statSync(logPath).size };
    },
    async stop() {
      master.kill('SIGTERM');
      if (master.exitCode === null) await once(master, 'exit');
      children.delete(master);
    },
  };
}

/** CPU ms (utime + stime) of `pid` and of its children (the workers), from /proc. */
function cpuOf(pid) {
  const ticks = (stat) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12])) * 10, sys: Number(f[12]) * 10 };
  };
  let master = 0;
  let workers = 0;
  let workersSys = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const t = ticks(readFileSync(`/proc/${e}/stat`, 'utf8'));
      if (Number(e) === pid) master = t.ms;
      else if (t.ppid === pid) {
        workers += t.ms;
        workersSys += t.sys;
      }
    } catch {
      // gone
    }
  }
  return { master, workers, workersSys };
}

function get(port) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

function sumProcessed(body) {
  return body
    .split('\n')
    .filter((l) => l.startsWith('resque_starter_jobs_processed_total{'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const [i, row] of rows.entries()) {
    console.log(row.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}
