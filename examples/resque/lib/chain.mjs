// Helpers shared by the demo (examples/resque/demo.mjs) and the benchmark
// (bench/rolling-restart.mjs): a private redis-server, the start-server → resque-starter chain,
// and a /proc sampler that counts live worker processes per master.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = {
  startServer: join(ROOT, 'packages/server-starter/dist/cli.js'),
  resqueStarter: join(ROOT, 'packages/resque-starter/dist/cli.js'),
  perlStartServer: '/usr/bin/start_server',
};

/** The Resque library the workers use: the real one when built, else the tests' stand-in. */
export function resqueModuleEnv() {
  if (existsSync(join(ROOT, 'node_modules/@baton/resque/dist/index.js'))) return { env: {}, which: '@baton/resque' };
  const fake = join(ROOT, 'test/fixtures/rs-fake-resque.mjs');
  return { env: { RESQUE_STARTER_RESQUE_MODULE: fake }, which: 'test stand-in (packages/resque not built)' };
}

export async function freePort() {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A private redis-server on a free loopback port, no persistence: `{ url, pid, stop() }`. */
export async function startRedis(dir, extraArgs = []) {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited ${code}:\n${out}`)));
    child.once('error', reject);
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** A scratch directory inside the repo (so conf.ts can import the workspace packages). */
export function scratchDir(prefix) {
  const base = join(ROOT, 'tmp');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, prefix));
}

/** Starts start-server (ours or Perl's) running resque-starter -c conf. */
export function startChain({ dir, conf, env, perl = false, interval = perl ? '1' : '0.5', log }) {
  const ssPid = join(dir, 'start-server.pid');
  const ssStatus = join(dir, 'start-server.status');
  const opts = [`--pid-file=${ssPid}`, `--status-file=${ssStatus}`, '--signal-on-hup=CONT', `--interval=${interval}`];
  const cmd = perl ? BIN.perlStartServer : process.execPath;
  const args = perl ? [...opts, '--', process.execPath, BIN.resqueStarter, '-c', conf] : [BIN.startServer, ...opts, '--', process.execPath, BIN.resqueStarter, '-c', conf];
  const child = spawn(cmd, args, { cwd: dirname(conf), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (d) => {
    output += d;
    log?.(String(d));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    get output() {
      return output;
    },
    async waitFor(re, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(output)) {
        if (child.exitCode !== null) throw new Error(`start-server exited before ${re}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${output}`);
        await sleep(10);
      }
    },
    async stop(timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** Live worker processes, grouped by the master that started them (RESQUE_STARTER_MASTER_PID). */
export function workersByMaster(marker) {
  const byMaster = new Map();
  for (const e of readdirSync('/proc')) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const state = stat[close + 2];
      if (state === 'Z' || state === 'X') continue;
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      if (!/^(node|resque-starte)/.test(comm)) continue;
      const env = readFileSync(`/proc/${e}/environ`, 'latin1');
      if (!env.includes(marker)) continue;
      const m = /(?:^|\0)RESQUE_STARTER_MASTER_PID=(\d+)/.exec(env);
      if (!m || !isWorker(e, env)) continue;
      const master = Number(m[1]);
      byMaster.set(master, [...(byMaster.get(master) ?? []), Number(e)]);
    } catch {
      // gone
    }
  }
  return byMaster;
}

/**
 * A worker: started for a slot (RESQUE_STARTER_SLOT), or a spare that has been handed one (its
 * environment at exec says spare; it takes a worker's title before it loads any app code).
 */
function isWorker(pid, env) {
  if (env.includes('RESQUE_STARTER_SLOT=')) return true;
  if (!env.includes('RESQUE_STARTER_SPARE=1\0')) return false;
  return readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('resque-starter worker[');
}

/** Samples workersByMaster every `everyMs`; records the peak and the timeline. */
export function startSampler(marker, everyMs = 5) {
  let peak = 0;
  let samples = 0;
  const timeline = [];
  const seenMasters = new Set();
  const t = setInterval(() => {
    const by = workersByMaster(marker);
    let total = 0;
    for (const [m, pids] of by) {
      total += pids.length;
      seenMasters.add(m);
    }
    samples++;
    peak = Math.max(peak, total);
    timeline.push({ at: Date.now(), by });
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return { peak, samples, timeline, masters: [...seenMasters] };
    },
  };
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}

export async function waitUntil(fn, what, timeoutMs = 60_000, everyMs = 10) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
