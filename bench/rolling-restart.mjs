#!/usr/bin/env node
// Rolling-restart benchmark (not a test): the setting — concurrency 3, 600 jobs of
// 200 ms — on a private redis-server, under our start-server and (when installed) Perl's
// start_server. For each HUP: time until every worker is new, peak live worker processes
// (sampled from /proc every 5 ms), longest gap between two job completions; at the end, jobs
// lost and run twice.
//
//   npm run build && node bench/rolling-restart.mjs [--concurrency 3] [--jobs 600] [--job-ms 200] [--restarts 3] [--only ours|perl]
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  BIN,
  cleanup,
  ROOT,
  resqueModuleEnv,
  scratchDir,
  startChain,
  startRedis,
  startSampler,
  waitUntil,
  workersByMaster,
} from '../examples/resque/lib/chain.mjs';

const { values: opt } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '600' },
    'job-ms': { type: 'string', default: '200' },
    restarts: { type: 'string', default: '3' },
    only: { type: 'string' },
    trace: { type: 'boolean', default: false },
  },
});
const C = Number(opt.concurrency);
const JOBS = Number(opt.jobs);
const JOB_MS = Number(opt['job-ms']);
const RESTARTS = Number(opt.restarts);
const out = (s = '') => process.stdout.write(`${s}\n`);

const supervisors = [{ name: 'start-server (ours)', perl: false }];
if (existsSync(BIN.perlStartServer)) supervisors.push({ name: 'start_server (Perl)', perl: true });
const chosen = supervisors.filter((s) => !opt.only || (opt.only === 'perl') === s.perl);

const lib = resqueModuleEnv();
out(`rolling restart: concurrency ${C}, ${JOBS} jobs × ${JOB_MS} ms, ${RESTARTS} HUP(s) mid-run; Resque library: ${lib.which}`);
out(`start-server flags: --signal-on-hup=CONT --interval=0.5 (Perl: --interval=1); /proc sampled every 5 ms`);
out('');
const rows = [];
const totals = [];
for (const sup of chosen) {
  const r = await runOne(sup);
  rows.push(...r.rows);
  totals.push(r.total);
}
out('');
out(pad(['supervisor', 'HUP', 'HUP→all new', 'peak alive', `limit`, 'longest gap', 'steady gap']));
for (const r of rows) out(pad([r.sup, String(r.n), `${r.allNewMs} ms`, String(r.peak), String(C + 1), `${r.gapMs} ms`, `${r.steadyGapMs} ms`]));
out('');
out(pad(['supervisor', 'enqueued', 'done', 'lost', 'run twice', 'wall time']));
for (const t of totals) out(pad([t.sup, String(JOBS), String(t.done), String(t.lost), String(t.dup), `${(t.wallMs / 1000).toFixed(1)} s`]));

async function runOne(sup) {
  const dir = scratchDir('bench-rr-');
  copyFileSync(join(ROOT, 'examples/resque/conf.ts'), join(dir, 'conf.ts'));
  copyFileSync(join(ROOT, 'examples/resque/jobs.ts'), join(dir, 'jobs.ts'));
  const mark = `BENCH_MARK=${randomUUID().slice(0, 8)}`;
  const redis = await startRedis(dir);
  const ns = 'bench';
  let chain;
  const client = new Redis(redis.url);
  try {
    chain = startChain({
      dir,
      conf: join(dir, 'conf.ts'),
      perl: sup.perl,
      interval: sup.perl ? '1' : '0.5',
      env: { ...lib.env, REDIS_URL: redis.url, RESQUE_NAMESPACE: ns, CONCURRENCY: String(C), BENCH_MARK: mark.split('=')[1], BATON_LOG_LEVEL: opt.trace ? 'debug' : 'warn' },
    });
    await waitUntil(() => [...workersByMaster(mark).values()].flat().length === C, `${C} workers`, 30_000);
    await client.sadd(`${ns}:queues`, 'images');
    const started = Date.now();
    const payloads = Array.from({ length: JOBS }, (_, i) => JSON.stringify({ class: 'ResizeImage', args: [`job-${i}`, JOB_MS] }));
    for (let i = 0; i < payloads.length; i += 500) await client.rpush(`${ns}:queue:images`, ...payloads.slice(i, i + 500));
    const sampler = startSampler(mark, 5);
    const restarts = [];
    const perRestart = Math.floor(JOBS / (RESTARTS + 1));
    for (let n = 1; n <= RESTARTS; n++) {
      await waitUntil(async () => (await client.llen(`${ns}:demo:done`)) >= perRestart * n, `${perRestart * n} jobs done`, 300_000);
      const before = [...workersByMaster(mark).keys()];
      const hupAt = Date.now();
      const logFrom = chain.output.length;
      chain.child.kill('SIGHUP');
      const allNewAt = await waitUntil(
        () => {
          const by = workersByMaster(mark);
          return before.every((m) => !by.has(m)) && [...by.values()].flat().length === C ? Date.now() : undefined;
        },
        'all workers replaced',
        120_000,
        2,
      );
      restarts.push({ hupAt, allNewAt });
      await sleep(300);
      if (opt.trace) showTrace(n, chain.output.slice(logFrom), hupAt, allNewAt);
    }
    await waitUntil(async () => (await client.llen(`${ns}:demo:done`)) >= JOBS && (await client.llen(`${ns}:queue:images`)) === 0, 'all jobs done', 600_000, 50);
    await sleep(JOB_MS * 2);
    const wallMs = Date.now() - started;
    const { timeline } = sampler.stop();
    const done = (await client.lrange(`${ns}:demo:done`, 0, -1)).map((l) => l.split(':'));
    const ids = new Set(done.map((d) => d[0]));
    const times = done.map((d) => Number(d[3])).sort((a, b) => a - b);
    const maxGap = (from, to) => {
      let gap = 0;
      const inside = times.filter((t) => t >= from && t <= to);
      for (let i = 1; i < inside.length; i++) gap = Math.max(gap, inside[i] - inside[i - 1]);
      return gap;
    };
    const steady = maxGap(started + 1000, restarts[0]?.hupAt ?? started + 5000);
    const rows = restarts.map((r, i) => {
      const peak = Math.max(0, ...timeline.filter((s) => s.at >= r.hupAt - 5 && s.at <= r.allNewAt + 1000).map((s) => [...s.by.values()].flat().length));
      return { sup: sup.name, n: i + 1, allNewMs: r.allNewAt - r.hupAt, peak, gapMs: maxGap(r.hupAt, r.allNewAt + JOB_MS), steadyGapMs: steady };
    });
    out(`${sup.name}: ${RESTARTS} restart(s) done`);
    return { rows, total: { sup: sup.name, done: ids.size, lost: JOBS - ids.size, dup: done.length - ids.size, wallMs } };
  } finally {
    await client.quit().catch(() => undefined);
    if (chain) await chain.stop();
    await redis.stop();
    cleanup(dir);
  }
}

// --trace: the supervisors' log lines (debug level) from HUP to all-new, as ms after the HUP.
function showTrace(n, text, hupAt, allNewAt) {
  out(`--- HUP ${n}: log, ms after HUP (all new at ${allNewAt - hupAt} ms) ---`);
  for (const line of text.split('\n')) {
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/.exec(line);
    if (!m) continue;
    const at = Date.parse(m[1]) - hupAt;
    if (at <= allNewAt - hupAt + 50) out(`${String(at).padStart(6)}  ${m[2]}`);
  }
}

function pad(cols) {
  const widths = [22, 6, 13, 11, 6, 12, 11];
  return cols.map((c, i) => c.padEnd(widths[i] ?? 12)).join(' ');
}
