#!/usr/bin/env node
import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
// Worker start-up benchmark (not a test; issue 16): one resque-starter worker process started
// the way the master starts it (dist/worker.js, IPC channel, the compiled config), again and
// again, interleaved with a bare `node -e ''`, against a private redis-server. Per run: wall time
// from spawn to the worker's `ready` message, its CPU then (its own cpuUsage, from its debug
// line), its RSS once idle; the same for the bare start. Far quicker than rolling-restart.mjs,
// for comparing start-up changes; the ratios to the bare start are the issue's goal (≤ 2×).
//
//   npm run build && node bench/worker-start.mjs [--runs 10] [--root DIR] [--ab DIR] [--prof DIR]
//   --root: another checkout (built) to measure instead of this one
//   --ab: also another checkout (built), its worker started right after ours in each run (A/B)
//   --prof: write a --cpu-prof profile of each worker into DIR
//   --flags-b "F": B is this checkout's worker started with node flags F (say "--max-semi-space-size=8")
//   --spare: start each worker as a spare (as a rolling restart does), let it load, then hand it its
//     slot; ready and CPU are then counted from the hand-over (the part on a rolling restart's path)
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { cleanup, ROOT, resqueModuleEnv, scratchDir, startRedis } from '../examples/resque/lib/chain.mjs';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    root: { type: 'string', default: ROOT },
    ab: { type: 'string' },
    prof: { type: 'string' },
    'flags-b': { type: 'string' },
    spare: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 16).join('\n').replace(/^\/\/ ?/gm, '') + '\n');
  process.exit(0);
}
const RUNS = Number(opt.runs);
const root = opt.root;
const out = (s = '') => process.stdout.write(`${s}\n`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const med = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.floor((v.length - 1) / 2)];
};

const dir = scratchDir('bench-ws-');
const redis = await startRedis(dir);
try {
  copyFileSync(join(root, 'examples/resque/conf.ts'), join(dir, 'conf.ts'));
  copyFileSync(join(root, 'examples/resque/jobs.ts'), join(dir, 'jobs.ts'));
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const env = { ...process.env, ...resqueModuleEnv().env, REDIS_URL: redis.url, RESQUE_NAMESPACE: 'bench', CONCURRENCY: '1', BATON_LOG_LEVEL: 'debug' };
  // What the master does once: compile the config into the cache (the workers import the result).
  const roots = [root, ...(opt.ab ? [opt.ab] : opt['flags-b'] !== undefined ? [root] : [])];
  const flagsOf = (j) => (j === 1 && opt['flags-b'] ? opt['flags-b'].split(/\s+/).filter(Boolean) : []);
  const compiled = [];
  for (const r of roots) {
    const { loadConfigFile } = await import(pathToFileURL(join(r, 'packages/resque-starter/dist/load-config.js')).href);
    const { config } = await loadConfigFile(join(dir, 'conf.ts'), env, { compile: true });
    compiled.push(config.compiled ?? '');
  }
  out(`worker start${opt.spare ? ' (spare handed its slot: ready and CPU from the hand-over)' : ''}: ${RUNS} runs, node ${process.version}, load ${load()}`);
  for (const [i, r] of roots.entries()) out(`  ${i ? 'B' : 'A'}: ${r}${flagsOf(i).length ? ` with ${flagsOf(i).join(' ')}` : ''}, compiled config ${compiled[i] || '(none: jiti)'}`);
  const rows = [];
  for (let i = 0; i < RUNS; i++) {
    const bareRun = await bare();
    const workers = [];
    for (const [j, r] of roots.entries()) workers.push(await worker(r, env, compiled[j], `${i}-${j}`, flagsOf(j)));
    rows.push({ bare: bareRun, workers });
  }
  out('');
  out(`run  ${roots.map((_, j) => `${j ? 'B' : 'A'} ready / CPU / RSS      `).join('')}bare wall / CPU / RSS   ratio wall / CPU (A)`);
  for (const [i, r] of rows.entries()) {
    const b = r.bare;
    const ws = r.workers.map((w) => `${fmt(w.readyMs)} / ${fmt(w.cpuMs)} / ${w.rssMb.toFixed(1)} MB  `).join('');
    out(`${String(i + 1).padEnd(4)} ${ws} ${fmt(b.wallMs)} / ${fmt(b.cpuMs)} / ${b.rssMb.toFixed(1)} MB   ${(r.workers[0].readyMs / b.wallMs).toFixed(2)} / ${(r.workers[0].cpuMs / b.cpuMs).toFixed(2)}`);
  }
  const m = (f) => med(rows.map(f));
  out(`bare: ${fmt(m((r) => r.bare.wallMs))} / ${fmt(m((r) => r.bare.cpuMs))} ms (median wall / CPU)`);
  for (const [j] of roots.entries()) {
    out(`${j ? 'B' : 'A'} median: worker ready ${fmt(m((r) => r.workers[j].readyMs))} ms, CPU ${fmt(m((r) => r.workers[j].cpuMs))} ms, idle RSS ${m((r) => r.workers[j].rssMb).toFixed(1)} MB; ` +
      `ratio to bare (median of runs): wall ${m((r) => r.workers[j].readyMs / r.bare.wallMs).toFixed(2)}, CPU ${m((r) => r.workers[j].cpuMs / r.bare.cpuMs).toFixed(2)}`);
    out(`  self-reported phases (median ms): ${phases(rows.map((r) => r.workers[j].self))}`);
  }
  out(`load average at end: ${load()}`);
} finally {
  await redis.stop();
  cleanup(dir);
}

/** dist/worker.js (the bundled worker entry), or dist/worker-main.js in a checkout from before it. */
function workerScript(root) {
  const bundled = join(root, 'packages/resque-starter/dist/worker.js');
  return existsSync(bundled) ? bundled : join(root, 'packages/resque-starter/dist/worker-main.js');
}

function fmt(x) {
  return String(Math.round(x)).padStart(4);
}

function phases(selfs) {
  const keys = Object.keys(selfs.find(Boolean) ?? {});
  return keys.map((k) => `${k} ${Math.round(med(selfs.map((s) => s?.[k] ?? NaN)))}`).join(', ');
}

/** `node -e ''`: wall from spawn to exit, its own CPU and peak RSS. */
async function bare() {
  const code = "process.on('exit',()=>{const u=process.resourceUsage();process.stdout.write(JSON.stringify({cpu:(u.userCPUTime+u.systemCPUTime)/1000,rss:u.maxRSS}))})";
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  await new Promise((r) => child.once('exit', r));
  const self = JSON.parse(text);
  return { wallMs: performance.now() - t0, cpuMs: self.cpu, rssMb: self.rss / 1024 };
}

/** One worker as the master starts it: spawn → `ready` over IPC; its debug line's timings; RSS once idle; QUIT. */
async function worker(root, env, compiled, i, flags = []) {
  const args = [...flags, ...(opt.prof ? ['--cpu-prof', `--cpu-prof-dir=${opt.prof}`, `--cpu-prof-name=worker-${i}.cpuprofile`] : []), workerScript(root)];
  const slotVars = {
    RESQUE_STARTER_CONFIG: join(dir, 'conf.ts'),
    RESQUE_STARTER_COMPILED_CONFIG: compiled,
    RESQUE_STARTER_SLOT: '0',
  };
  let t0 = performance.now();
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...env, ...(opt.spare ? { RESQUE_STARTER_SPARE: '1' } : slotVars), RESQUE_STARTER_MASTER_PID: String(process.pid) },
  });
  let cpuBefore = 0;
  if (opt.spare) {
    // A spare has loaded what it loads ahead once its CPU stops moving (100 ms without a tick).
    const cpuOf = () => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0);
    let last = -1;
    let still = 0;
    const deadline = performance.now() + 10_000;
    while (still < 10 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      const now = cpuOf();
      still = now === last ? still + 1 : 0;
      last = now;
    }
    cpuBefore = last * 10;
    t0 = performance.now();
    child.send({ t: 'become', env: slotVars });
  }
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((r) => child.once('exit', r));
  const readyMs = await new Promise((resolve, reject) => {
    child.on('message', (m) => m?.t === 'ready' && resolve(performance.now() - t0));
    child.on('message', (m) => m?.t === 'fatal' && reject(new Error(m.message)));
    exited.then(() => reject(new Error(`worker exited before ready:\n${log}`)));
  });
  // Idle: let it settle into its reserve loop before reading its memory.
  await new Promise((r) => setTimeout(r, 300));
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
  child.kill('SIGQUIT');
  await exited;
  if (process.env.DUMP) require("fs").appendFileSync(process.env.DUMP, log);
  const line = /ready (\d+) ms after exec, (\d+) ms CPU \(([^)]*)\)/.exec(log);
  if (!line) throw new Error(`no start-up timings in the worker's log:\n${log}`);
  const self = { exec: Number(line[1]) };
  for (const [, k, v] of line[3].matchAll(/([A-Za-z ]+?) (\d+) ms/g)) self[k.trim()] = Number(v);
  // A spare: its CPU from the hand-over (its own total, less what /proc counted before, in 10 ms ticks).
  return { readyMs, cpuMs: Number(line[2]) - cpuBefore, rssMb, self };
}
