// What a line per job costs (issue 15): no-op jobs/s of one resque-starter worker with
// `jobLog: false` and with JSON (and text) job lines, the master's stderr going to a file.
// One private redis-server; rows interleaved, the best of --repeat kept; each worker first does
// --warmup jobs untimed (V8 compiles its code meanwhile). Not a test.
//   node bench/job-log.mjs [--jobs 20000] [--warmup 20000] [--repeat 3] [--job-concurrency 1]
import { execFileSync, spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { BIN, resqueModuleEnv, scratchDir, startRedis } from '../examples/resque/lib/chain.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
};
const JOBS = arg('jobs', 20000);
const WARMUP = arg('warmup', 20000);
const REPEAT = arg('repeat', 3);
const JOB_CONCURRENCY = arg('job-concurrency', 1);
const ROWS = [
  { name: 'jobLog false (failures only)', jobLog: 'false', format: 'text' },
  { name: 'jobLog true, text lines', jobLog: 'true', format: 'text' },
  { name: 'jobLog true, JSON lines', jobLog: 'true', format: 'json' },
  { name: 'jobLog { sample: 0.1 }, JSON', jobLog: '{ sample: 0.1 }', format: 'json' },
];

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const dir = scratchDir('job-log-bench-');
const redis = await startRedis(dir);
const r = new Redis(redis.url);
const best = new Map();
try {
  for (let round = 0; round < REPEAT; round++) {
    for (const row of ROWS) {
      const ns = `bench${round}${ROWS.indexOf(row)}`;
      const conf = join(dir, `${ns}.ts`);
      writeFileSync(
        conf,
        `import { defineConfig } from '@baton/resque-starter';
export default defineConfig({ concurrency: 1, jobConcurrency: ${JOB_CONCURRENCY}, queues: ['q'], redis: ${JSON.stringify(redis.url)}, namespace: '${ns}', logFormat: '${row.format}', jobLog: ${row.jobLog}, jobs: { Noop() {} } });\n`,
      );
      const logPath = join(dir, `${ns}.log`);
      const out = openSync(logPath, 'w');
      const master = spawn(process.execPath, [BIN.resqueStarter, '-c', conf], { cwd: dir, env: { ...process.env, ...resqueModuleEnv().env, BATON_LOG_LEVEL: 'info' }, stdio: ['ignore', out, out] });
      // Ready: the worker is registered (resque:workers has it).
      for (let i = 0; (await r.scard(`${ns}:workers`)) < 1; i++) {
        if (i > 600) throw new Error('no worker after 30 s');
        await sleep(50);
      }
      const worker = Number(execFileSync('pgrep', ['-P', String(master.pid)]).toString().trim().split('\n')[0]);
      const payload = JSON.stringify({ class: 'Noop', args: [] });
      const fill = async (n) => {
        const p = r.pipeline();
        p.sadd(`${ns}:queues`, 'q');
        for (let i = 0; i < n; i += 1000) p.rpush(`${ns}:queue:q`, ...Array(Math.min(1000, n - i)).fill(payload));
        await p.exec();
      };
      const processed = async () => Number((await r.get(`${ns}:stat:processed`)) ?? 0);
      await fill(WARMUP);
      while ((await processed()) < WARMUP) await sleep(5);
      const cpu0 = cpuMs(worker);
      const t0 = performance.now();
      await fill(JOBS);
      while ((await processed()) < WARMUP + JOBS) await sleep(5);
      const s = (performance.now() - t0) / 1000;
      const cpuUsPerJob = ((cpuMs(worker) - cpu0) * 1000) / JOBS;
      master.kill('SIGQUIT');
      await new Promise((res) => master.once('exit', res));
      const rate = JOBS / s;
      const b = best.get(row.name);
      best.set(row.name, { rate: Math.max(b?.rate ?? 0, rate), cpu: Math.min(b?.cpu ?? Infinity, cpuUsPerJob) });
      console.log(`round ${round + 1}: ${row.name.padEnd(32)} ${Math.round(rate)} jobs/s, worker CPU ${cpuUsPerJob.toFixed(1)} µs/job (log ${Math.round(statSync(logPath).size / 1024)} KiB)`);
    }
  }
  const base = best.get(ROWS[0].name);
  console.log(`\nbest of ${REPEAT}, ${JOBS} no-op jobs after ${WARMUP} untimed, jobConcurrency ${JOB_CONCURRENCY} (worker CPU per job: less noisy than jobs/s on a busy host):`);
  for (const [name, b] of best) {
    console.log(`  ${name.padEnd(32)} ${String(Math.round(b.rate)).padStart(7)} jobs/s  ${((b.rate / base.rate) * 100).toFixed(1)} %   CPU ${b.cpu.toFixed(1)} µs/job  ${((base.cpu / b.cpu) * 100).toFixed(1)} %`);
  }
} finally {
  r.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
