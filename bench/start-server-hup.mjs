#!/usr/bin/env node
// Restart-under-load benchmark (not a test). For each supervisor/app pair, once with
// one-connection-per-request clients and once with keep-alive clients: a bounded HTTP load on
// loopback (a separate load-generator process, bench/lib/http-load.mjs) while the supervisor
// gets a HUP every --hup-every seconds; then a side-by-side table of requests, failures (by
// error code), restarts, latency and throughput. Nothing is retried by the clients.
//
//   npm run build && node bench/start-server-hup.mjs [--duration 25] [--hup-every 2]
//       [--concurrency 8] [--interval 1] [--starlet-workers 8] [--app-delay-ms 0]
//       [--pairs default|all] [--modes close,keep-alive] [--node-app FILE] [--verbose]
//
// Pairs: ours = our start-server + examples/http-server/app.mjs (or --node-app); perl = Perl
// start_server + plackup -s Starlet (test/fixtures/perl-app.psgi). --pairs all adds the
// crossed pairs (Perl start_server + the Node app, our start-server + Starlet).
// Everything is started and stopped by the script; it ends by checking that no process it
// started is still alive.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLoad } from './lib/http-load.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUR_BIN = `${ROOT}packages/server-starter/bin/start-server.js`;
const PSGI_APP = `${ROOT}test/fixtures/perl-app.psgi`;
const LOADGEN = `${ROOT}bench/lib/http-load.mjs`;

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '25' },
    'hup-every': { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    interval: { type: 'string', default: '1' },
    'starlet-workers': { type: 'string' },
    'app-delay-ms': { type: 'string', default: '0' },
    pairs: { type: 'string', default: 'default' },
    'node-app': { type: 'string', default: `${ROOT}examples/http-server/app.mjs` },
    modes: { type: 'string', default: 'close,keep-alive' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 16).join('\n').replace(/^\/\/ ?/gm, '') + '\n');
  process.exit(0);
}
const DURATION_S = Number(opt.duration);
const HUP_EVERY_S = Number(opt['hup-every']);
const CONCURRENCY = Number(opt.concurrency);
const INTERVAL = opt.interval;
const STARLET_WORKERS = Number(opt['starlet-workers'] ?? CONCURRENCY);
const APP_DELAY_MS = opt['app-delay-ms'];
const MODES = opt.modes.split(',').map((m) => m.trim());
if (!(DURATION_S > 0 && HUP_EVERY_S > 0 && CONCURRENCY > 0) || !/^\d+$/.test(INTERVAL) || MODES.some((m) => m !== 'close' && m !== 'keep-alive')) {
  process.stderr.write('start-server-hup: bad arguments (see --help; --interval must be whole seconds, as Perl start_server wants)\n');
  process.exit(2);
}

const out = (s = '') => process.stdout.write(`${s}\n`);
const has = (script) => spawnSync('sh', ['-c', script], { stdio: 'ignore' }).status === 0;
const havePerl = has('command -v start_server');
const haveStarlet = has('command -v plackup && perl -MPlack::Handler::Starlet -e1');

// Every process the script starts carries this in its environment (inherited by grandchildren),
// so the final check can find any that survived.
const MARK = `BENCH_START_SERVER_HUP=${randomUUID().slice(0, 8)}`;
const started = new Set();

const supervisors = {
  ours: { name: 'start-server', cmd: process.execPath, args: (port) => [OUR_BIN, `--port=127.0.0.1:${port}`, `--interval=${INTERVAL}`] },
  perl: { name: 'start_server (Perl)', cmd: 'start_server', args: (port) => [`--port=127.0.0.1:${port}`, `--interval=${INTERVAL}`] },
};
const apps = {
  node: { name: 'node app.mjs', cmd: [process.execPath, opt['node-app']] },
  // -E deployment: no access log middleware. Keep-alive is off in Starlet by default.
  starlet: {
    name: 'Starlet',
    cmd: ['plackup', '-E', 'deployment', '-s', 'Starlet', `--max-workers=${STARLET_WORKERS}`, '--max-keepalive-reqs=100', PSGI_APP],
  },
};
const wanted = opt.pairs === 'all' ? [['ours', 'node'], ['perl', 'starlet'], ['perl', 'node'], ['ours', 'starlet']] : [['ours', 'node'], ['perl', 'starlet']];
const pairs = wanted.filter(([s, a]) => {
  const ok = (s !== 'perl' || havePerl) && (a !== 'starlet' || haveStarlet);
  if (!ok) out(`skipping ${supervisors[s].name} + ${apps[a].name}: Perl tools not installed (apt-get install libserver-starter-perl starlet)`);
  return ok;
});

out(`start-server HUP benchmark: ${DURATION_S} s of load per row, HUP every ${HUP_EVERY_S} s, ${CONCURRENCY} clients, --interval=${INTERVAL}`);
out(
  `node ${process.version}, ${cpus().length} CPU(s); app delay ${APP_DELAY_MS} ms; Starlet --max-workers=${STARLET_WORKERS} --max-keepalive-reqs=100` +
    (havePerl ? `; Perl start_server ${spawnSync('start_server', ['--version']).stdout?.toString().trim()}` : ''),
);
out('');

const rows = [];
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    interrupted = true;
    process.exitCode = 130;
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    setTimeout(() => {
      for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      process.exit(130);
    }, 5000).unref();
  });
}

try {
  for (const [s, a] of pairs) {
    for (const mode of MODES) {
      if (interrupted) break;
      try {
        const row = await runOne(supervisors[s], apps[a], mode === 'keep-alive');
        if (!interrupted) rows.push(row); // a row cut short by ^C is not a measurement
      } catch (err) {
        if (interrupted) break;
        // One broken pair should not hide the others' numbers.
        out(`ERROR: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
      }
    }
  }
  if (interrupted) out('interrupted');
} finally {
  const left = await leftovers();
  out('');
  printTable(rows);
  out('');
  out(left.length === 0 ? 'processes left running: none' : `processes left running (killed now): ${left.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
  if (left.length > 0) process.exitCode = 1;
}

async function runOne(sup, app, keepAlive) {
  const label = `${sup.name} + ${app.name}, ${keepAlive ? 'keep-alive' : 'Connection: close'}`;
  const port = await freePort();
  const ss = start(sup.cmd, [...sup.args(port), '--', ...app.cmd], { APP_DELAY_MS, BATON_LOG_LEVEL: 'info' }, label);
  try {
    // Both log this once the socket is bound; connections then wait in the backlog until
    // generation 1 accepts, so one request is the readiness probe.
    await ss.waitFor(/starting new worker \d+/, 20_000);
    const probe = await startLoad({ port, keepAlive: false, concurrency: 1, maxRequests: 1, timeoutMs: 20_000 }).done;
    if (probe.failed > 0) throw new Error(`${label}: first request failed: ${probe.samples.join('; ')}\n${ss.log}`);

    const load = start(
      process.execPath,
      [LOADGEN, '--port', String(port), '--concurrency', String(CONCURRENCY), '--duration', String(DURATION_S), ...(keepAlive ? ['--keep-alive'] : [])],
      {},
      'load',
    );
    const t0 = Date.now();
    let huped = 0;
    // HUP on a fixed cadence, never while the previous restart is still being checked (two
    // HUPs in one check would count as one restart); the last one completes before the load ends.
    for (let k = 1; k * HUP_EVERY_S <= DURATION_S - HUP_EVERY_S; k++) {
      const due = t0 + k * HUP_EVERY_S * 1000;
      if (Date.now() < due) await sleep(due - Date.now()); // load pacing, not synchronisation
      if (interrupted) break;
      const from = ss.log.length;
      ss.child.kill('SIGHUP');
      huped++;
      await ss.waitFor(/new worker is now running, sending \w+ to old workers:\d/, 15_000, from);
    }
    const exit = await load.exited(DURATION_S * 1000 + 30_000);
    const line = load.log.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`${label}: load generator printed no summary (exit ${JSON.stringify(exit)})\n${load.log}`);
    const summary = JSON.parse(line);
    // Restarts completed: old workers reaped after a HUP (Perl may print the same line twice).
    const reaped = new Set([...ss.log.matchAll(/old worker (\d+) died/g)].map((m) => m[1]));
    const stop = await ss.stop(30_000);
    const row = { label, sup: sup.name, app: app.name, keepAlive, huped, restarts: reaped.size, stop, ...summary };
    out(
      `${label}: ${summary.requests} requests, ${summary.failed} failed${summary.failed ? ` ${JSON.stringify(summary.errors)}` : ''}, ${huped} HUPs, ` +
        `${reaped.size} old generations reaped, ${Object.keys(summary.byGeneration).length} generations served, supervisor exit ${JSON.stringify(stop)}`,
    );
    if (summary.failed > 0 && opt.verbose) out(`  first failures: ${summary.samples.join(' | ')}`);
    return row;
  } finally {
    if (!ss.exited_) await ss.stop(30_000);
  }
}

/** Spawns a process with captured output; `waitFor` a log line, `stop` = TERM then KILL. */
function start(cmd, args, env, label) {
  const [k, v] = MARK.split('=');
  const child = spawn(cmd, args, { env: { ...process.env, ...env, [k]: v }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  const p = {
    child,
    log: '',
    exited_: undefined,
    waitFor(re, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = p.log.slice(from).match(re);
          if (m) return done(() => resolve(m));
          if (p.exited_) return done(() => reject(new Error(`${label} exited ${JSON.stringify(p.exited_)} before ${re}\n${p.log.slice(-4000)}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`${label}: no ${re} within ${timeoutMs} ms\n${p.log.slice(-4000)}`))), timeoutMs);
        const done = (f) => {
          clearTimeout(timer);
          child.stdout.off('data', check);
          child.stderr.off('data', check);
          child.off('exit', check);
          f();
        };
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        child.on('exit', check);
        check();
      });
    },
    exited(timeoutMs) {
      if (p.exited_) return Promise.resolve(p.exited_);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${label}: still running after ${timeoutMs} ms`)), timeoutMs);
        child.once('close', () => {
          clearTimeout(timer);
          resolve(p.exited_);
        });
      });
    },
    async stop(graceMs) {
      if (p.exited_) return p.exited_;
      child.kill('SIGTERM');
      try {
        return await p.exited(graceMs);
      } catch {
        child.kill('SIGKILL');
        return await p.exited(5000);
      }
    },
  };
  const onData = (d) => {
    p.log += d;
    if (opt.verbose && label !== 'load') process.stderr.write(String(d).replace(/^(?=.)/gm, `  [${label}] `));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.on('exit', (code, signal) => {
    p.exited_ = { code, signal };
  });
  child.on('close', () => started.delete(child));
  return p;
}

/** Processes carrying the mark (the supervisors' children included); killed if any. */
async function leftovers() {
  const find = () => {
    const found = [];
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
      try {
        if (!readFileSync(`/proc/${e}/environ`, 'latin1').split('\0').includes(MARK)) continue;
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        if (/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) continue;
        found.push({ pid: Number(e), cmdline: readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() });
      } catch {
        // gone
      }
    }
    return found;
  };
  let left = find();
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await sleep(100); // give exiting workers a moment to be reaped
    left = find();
  }
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return left;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function printTable(rs) {
  const head = ['pair', 'keep-alive', 'requests', 'failures', 'restarts', 'p50 ms', 'p99 ms', 'max ms', 'req/s'];
  const body = rs.map((r) => [
    `${r.sup} + ${r.app}`,
    r.keepAlive ? 'yes' : 'no',
    String(r.requests),
    r.failed === 0 ? '0' : `${r.failed} (${Object.entries(r.errors).map(([c, n]) => `${c}×${n}`).join(', ')})`,
    String(r.restarts),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    r.max.toFixed(1),
    r.rps.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cols) => `| ${cols.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  out(line(head));
  out(`|${widths.map((w, i) => (i >= 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const b of body) out(line(b));
}
