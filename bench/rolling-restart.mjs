#!/usr/bin/env node
// Rolling-restart benchmark (not a test): the setting — concurrency 3, 600 jobs of
// 200 ms — on a private redis-server, for each peer in turn, in one run:
//
//   ours         our start-server → resque-starter (this checkout)
//   ours-perl    Perl start_server → resque-starter (this checkout)
//   before       our start-server → resque-starter of another checkout (--before-root DIR)
//   ruby         Perl start_server → Ruby resque_starter forking Ruby Resque workers from a
//                preloaded master, with a strict C+1 wait (bench/ruby/conf.rb); needs
//                --ruby-resque-dir and --ruby-starter-dir (the public sources) and Debian's
//                ruby, ruby-redis, ruby-redis-namespace, ruby-mono-logger, ruby-multi-json
//
// Per HUP: HUP → all workers new, peak live worker processes (/proc every 5 ms: children of the
// supervisor's masters), longest gap between two job completions; each new worker's ready time
// (from its process appearing to its id in Redis' workers set) and its CPU then (/proc, 10 ms
// ticks); ours also report their own (`ready N ms after exec, M ms CPU`). A bare `node -e ''`
// (wall from spawn to exit, and its own CPU) is measured right before each HUP, under the same
// load. At the end: jobs lost and run twice, idle worker RSS/PSS, load average.
//
//   npm run build && node bench/rolling-restart.mjs [--peers ours,ruby,...] [--restarts 3] [--rounds 1] [--trace]
//   --rounds R: the whole list of peers R times over (ours, ruby, ours, ruby, …), so a busy
//   machine's load falls on every peer alike; the summary takes medians over every round's HUPs
//   --groups: examples/resque/groups.conf.ts (3 worker groups, 6 workers), jobs on their 3 queues
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { cleanup, ROOT, resqueModuleEnv, scratchDir, startRedis, waitUntil } from '../examples/resque/lib/chain.mjs';

const { values: opt } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '600' },
    'job-ms': { type: 'string', default: '200' },
    restarts: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '1' },
    peers: { type: 'string' },
    only: { type: 'string' },
    'before-root': { type: 'string' },
    'ruby-resque-dir': { type: 'string' },
    'ruby-starter-dir': { type: 'string' },
    'bare-runs': { type: 'string', default: '3' },
    trace: { type: 'boolean', default: false },
    groups: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 23).join('\n').replace(/^\/\/ ?/gm, '') + '\n');
  process.exit(0);
}
const C = opt.groups ? groupsWorkers() : Number(opt.concurrency);
const JOBS = Number(opt.jobs);
const JOB_MS = Number(opt['job-ms']);
const RESTARTS = Number(opt.restarts);
const PERL = '/usr/bin/start_server';
const out = (s = '') => process.stdout.write(`${s}\n`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const TICK_MS = 10; // USER_HZ 100

const med = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : undefined;
};
/** The kernel lists a thread's children in /proc (CONFIG_PROC_CHILDREN); else /proc is scanned. */
const HAS_CHILDREN_FILES = existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
/** Pids already seen with our worker's title: a worker from then on (a spare handed its slot never goes back). */
const titled = new Set();
const ms = (x) => (x === undefined ? '–' : `${Math.round(x)}`);

const peers = choosePeers();
const lib = resqueModuleEnv();
out(`rolling restart: concurrency ${C}, ${JOBS} jobs × ${JOB_MS} ms, ${RESTARTS} HUP(s) mid-run; Resque library: ${lib.which}; node ${process.version}`);
out(`peers: ${peers.map((p) => p.name).join(', ')}; load average at start: ${load()}`);
out('');
const ROUNDS = Number(opt.rounds);
const results = [];
for (let round = 1; round <= ROUNDS; round++) {
  if (ROUNDS > 1) out(`=== round ${round} of ${ROUNDS} (load average ${load()}) ===`);
  for (const peer of peers) results.push({ ...(await runPeer(peer)), round });
}
report(mergeRounds(results));

function choosePeers() {
  const all = {
    ours: { name: 'ours', label: 'start-server + resque-starter', root: ROOT, perl: false },
    'ours-perl': { name: 'ours-perl', label: 'start_server (Perl) + resque-starter', root: ROOT, perl: true },
    before: opt['before-root'] && { name: 'before', label: `start-server + resque-starter (${opt['before-root']})`, root: opt['before-root'], perl: false },
    ruby: opt['ruby-resque-dir'] && opt['ruby-starter-dir'] && { name: 'ruby', label: 'start_server (Perl) + Ruby resque_starter, strict C+1', ruby: true, perl: true },
  };
  const wanted = (opt.peers ?? opt.only ?? 'ours,ours-perl,before,ruby').split(',');
  const chosen = [];
  for (const w of wanted) {
    const key = w === 'perl' ? 'ours-perl' : w;
    if (!(key in all)) throw new Error(`unknown peer ${w} (ours, ours-perl, before, ruby)`);
    if (!all[key]) {
      if (opt.peers) throw new Error(`peer ${key} needs ${key === 'before' ? '--before-root' : '--ruby-resque-dir and --ruby-starter-dir'}`);
      continue;
    }
    if (all[key].perl && !existsSync(PERL)) {
      out(`(skipping ${key}: ${PERL} missing; apt-get install libserver-starter-perl)`);
      continue;
    }
    chosen.push(all[key]);
  }
  return chosen;
}

// --- one peer ---

async function runPeer(peer) {
  // Inside the peer's own checkout: its config then resolves ioredis to the copy its library
  // loads (a config in another checkout would load a second ioredis into every worker).
  const dir = peer.root ? mkdtempSync(join(mkdirSync(join(peer.root, 'tmp'), { recursive: true }) ?? join(peer.root, 'tmp'), 'bench-rr-')) : scratchDir('bench-rr-');
  const redis = await startRedis(dir);
  const ns = 'bench';
  const client = new Redis(redis.url);
  const chain = startPeer(peer, dir, { REDIS_URL: redis.url, RESQUE_NAMESPACE: ns, CONCURRENCY: String(C), BATON_LOG_LEVEL: 'debug' });
  try {
    await waitUntil(() => workers(chain.pid).length === C, `${C} workers (${peer.name})`, 60_000).catch((err) => {
      throw new Error(`${err.message}; its output ends with:\n${chain.output.slice(-2000)}`);
    });
    const started = Date.now();
    await enqueueJobs(client, ns);
    const sampler = startSampler(chain.pid, client, ns);
    const restarts = [];
    const perRestart = Math.floor(JOBS / (RESTARTS + 1));
    for (let n = 1; n <= RESTARTS; n++) {
      await waitUntil(async () => (await client.llen(`${ns}:demo:done`)) >= perRestart * n, `${perRestart * n} jobs done`, 300_000);
      const bare = await bareNode(Number(opt['bare-runs']));
      const before = new Set(workers(chain.pid));
      const logFrom = chain.output.length;
      const loadAtHup = load();
      const hupAt = Date.now();
      process.kill(chain.pid, 'SIGHUP');
      const allNewAt = await waitUntil(
        () => {
          const now = workers(chain.pid);
          return now.length === C && now.every((p) => !before.has(p)) ? Date.now() : undefined;
        },
        'all workers replaced',
        120_000,
        2,
      );
      await sleep(300);
      const fresh = workers(chain.pid);
      restarts.push({ n, hupAt, allNewAt, bare, loadAtHup, fresh, log: chain.output.slice(logFrom) });
      if (opt.trace) showTrace(n, chain.output.slice(logFrom), hupAt, allNewAt);
    }
    await waitUntil(async () => (await client.llen(`${ns}:demo:done`)) >= JOBS && (await waitingJobs(client, ns)) === 0, 'all jobs done', 600_000, 50);
    await sleep(JOB_MS * 2);
    const wallMs = Date.now() - started;
    const idle = workers(chain.pid).map(memoryOf).filter(Boolean);
    const s = sampler.stop();
    const done = (await client.lrange(`${ns}:demo:done`, 0, -1)).map((l) => l.split(':'));
    const ids = new Set(done.map((d) => d[0]));
    const times = done.map((d) => Number(d[3])).sort((a, b) => a - b);
    const rows = restarts.map((r) => restartRow(r, s, times, started, restarts[0]?.hupAt ?? started + 5000));
    for (const o of s.over) out(`${peer.name}: ${o.who.length} counted at ${new Date(o.at).toISOString()}: ${o.who.join('; ')}`);
    out(`${peer.name}: ${RESTARTS} restart(s) done (load average ${load()})`);
    return { peer, rows, idle, done: ids.size, lost: JOBS - ids.size, dup: done.length - ids.size, wallMs };
  } finally {
    await client.quit().catch(() => undefined);
    await chain.stop();
    await redis.stop();
    cleanup(dir);
  }
}

function restartRow(r, s, times, started, firstHup) {
  const window = s.timeline.filter((t) => t.at >= r.hupAt - 5 && t.at <= r.allNewAt + 1000);
  const peak = Math.max(0, ...window.map((t) => t.count));
  const ready = r.fresh.map((pid) => {
    const w = s.workers.get(pid);
    const self = selfReport(r.log, pid);
    return {
      pid,
      readyMs: w?.readyAt && w.seenAt ? w.readyAt - w.seenAt : undefined,
      cpuMs: w?.cpuAtReady,
      selfMs: self ? Number(self[1]) : undefined,
      selfCpuMs: self ? Number(self[2]) : undefined,
    };
  });
  const seen = r.fresh.map((pid) => s.workers.get(pid)?.seenAt).filter((t) => t !== undefined);
  const firstNewMs = seen.length ? Math.min(...seen) - r.hupAt : undefined;
  return { n: r.n, allNewMs: r.allNewAt - r.hupAt, firstNewMs, peak, gapMs: maxGap(times, r.hupAt, r.allNewAt + JOB_MS), steadyGapMs: maxGap(times, started + 1000, firstHup), ready, bare: r.bare, load: r.loadAtHup };
}

/** Ours: the worker's own debug line (`[worker[slot]] ready N ms after exec, M ms CPU`), found through the master's `starting worker[slot] pid`. */
function selfReport(log, pid) {
  // A worker is `worker[3]`, or `worker[mail/1]` in a worker group (--groups).
  const start = new RegExp(`starting worker\\[([\\w.-]+(?:/\\d+)?)\\] ${pid}\\b`).exec(log);
  if (!start) return undefined;
  const after = log.slice(start.index);
  return new RegExp(`\\[worker\\[${start[1].replace('/', '\\/')}\\]\\] ready (\\d+) ms after exec, (\\d+) ms CPU`).exec(after) ?? undefined;
}

function maxGap(times, from, to) {
  let gap = 0;
  const inside = times.filter((t) => t >= from && t <= to);
  for (let i = 1; i < inside.length; i++) gap = Math.max(gap, inside[i] - inside[i - 1]);
  return gap;
}

// --- processes ---

function startPeer(peer, dir, env) {
  const ssOpts = [`--pid-file=${join(dir, 'ss.pid')}`, `--status-file=${join(dir, 'ss.status')}`, '--signal-on-hup=CONT'];
  let cmd;
  let args;
  const cwd = dir;
  if (peer.ruby) {
    const conf = join(ROOT, 'bench/ruby/conf.rb');
    const master = ['ruby', '-I', join(opt['ruby-resque-dir'], 'lib'), '-I', join(opt['ruby-starter-dir'], 'lib'), join(opt['ruby-starter-dir'], 'bin/start_resque.rb'), '--config', conf];
    cmd = PERL;
    args = [...ssOpts, '--interval=1', '--', ...master];
    // One process per worker, as ours: no fork per job (Resque's default forks a child per job).
    env = { ...env, FORK_PER_JOB: 'false' };
  } else {
    // That checkout's own example: an older resque-starter may not know a newer example's fields.
    copyFileSync(join(peer.root, `examples/resque/${opt.groups ? 'groups.conf.ts' : 'conf.ts'}`), join(dir, 'conf.ts'));
    copyFileSync(join(peer.root, 'examples/resque/jobs.ts'), join(dir, 'jobs.ts'));
    const rs = [process.execPath, join(peer.root, 'packages/resque-starter/dist/cli.js'), '-c', join(dir, 'conf.ts')];
    if (peer.perl) {
      cmd = PERL;
      args = [...ssOpts, '--interval=1', '--', ...rs];
    } else {
      cmd = process.execPath;
      args = [join(peer.root, 'packages/server-starter/dist/cli.js'), ...ssOpts, '--interval=0.5', '--', ...rs];
    }
    env = { ...env, ...lib.env };
  }
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (d) => (output += d);
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    pid: child.pid,
    get output() {
      return output;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
      await waitUntil(() => workers(child.pid).length === 0, 'workers gone', 20_000).catch(() => undefined);
    },
  };
}

/** A process's children, from its main thread's `children` file (node and Ruby spawn and fork from there). */
function childrenOf(pid) {
  if (!HAS_CHILDREN_FILES) return scanChildren(pid);
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1');
    return text.split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The same by reading every process's parent: slower (every process of the machine, every 5 ms). */
function scanChildren(parent) {
  const found = [];
  for (const e of readdirSync('/proc')) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) found.push(Number(e));
    } catch {
      // gone
    }
  }
  return found;
}

function commOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return undefined;
  }
}

/**
 * Worker processes: children of the supervisor's children (the masters); esbuild's service is
 * not one, nor is our spare until it is handed a slot (it loads no app code before: it takes a
 * worker's title first), so a became spare is first seen when it becomes a worker. Read through
 * the `children` files of the supervisor and its masters, not a scan of all of /proc: the sampler
 * runs every 5 ms, and a full scan (every process of the machine) took a large share of a core
 * away from the peer being measured.
 */
function workers(supervisor) {
  const candidates = [];
  for (const master of childrenOf(supervisor)) for (const pid of childrenOf(master)) if (titled.has(pid) || commOf(pid) !== 'esbuild') candidates.push(pid);
  // One instant for all: the scan above takes milliseconds, in which an old worker read early
  // can exit and a spare read late be handed its slot; so titles and liveness are read again,
  // together, after it (else both are counted: a C+2 that never existed).
  return candidates.filter((pid) => !isSpare(pid)).filter(isLive);
}

function isLive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat[stat.lastIndexOf(')') + 2];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function isSpare(pid) {
  if (titled.has(pid)) return false;
  try {
    if (!readFileSync(`/proc/${pid}/environ`, 'latin1').includes('RESQUE_STARTER_SPARE=1\0')) return false;
    if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('resque-starter worker[')) return true;
    titled.add(pid);
    return false;
  } catch {
    return false;
  }
}

/** Every 5 ms: live workers (count and first sighting); every 5 ms too: Resque's workers set, for readiness. */
function startSampler(supervisor, client, ns) {
  const timeline = [];
  const seen = new Map();
  const over = [];
  let stopped = false;
  const t = setInterval(() => {
    const live = workers(supervisor);
    const at = Date.now();
    for (const pid of live) if (!seen.has(pid)) seen.set(pid, { seenAt: at });
    // Counted once but not now, and never ready: a spawn's fork (a copy of the master) caught
    // before its exec made it a spare; it is first seen again once it is handed a slot.
    const now = new Set(live);
    for (const [pid, w] of seen) if (w.readyAt === undefined && !now.has(pid)) seen.delete(pid);
    timeline.push({ at, count: live.length });
    // Over the bound: say who (title, parent, spare or not) to tell a real C+2 from a miscount.
    if (live.length > C + 1 && over.length < 20) over.push({ at, who: live.map((pid) => `${pid} ${describe(pid)}`) });
  }, 5);
  const poll = (async () => {
    while (!stopped) {
      const ids = await client.smembers(`${ns}:workers`).catch(() => []);
      const at = Date.now();
      for (const id of ids) {
        const pid = Number(id.split(':')[1]);
        const w = seen.get(pid);
        if (w && w.readyAt === undefined) {
          w.readyAt = at;
          w.cpuAtReady = cpuOf(pid);
        }
      }
      await sleep(5);
    }
  })();
  return {
    stop() {
      stopped = true;
      clearInterval(t);
      void poll;
      return { timeline, workers: seen, over };
    },
  };
}

/** A counted process, as the sampler saw it a moment later: its title and whether it started as a spare. */
function describe(pid) {
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0].trim().slice(0, 60);
    const spare = readFileSync(`/proc/${pid}/environ`, 'latin1').includes('RESQUE_STARTER_SPARE=1\0');
    return `${spare ? 'spare-born ' : ''}${title}`;
  } catch {
    return '(gone)';
  }
}

function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    const anon = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1]);
    const pss = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]);
    return { pid, rssKb: rss, anonKb: anon, pssKb: pss };
  } catch {
    return undefined;
  }
}

/** `node -e ''` n times in a row: wall from spawn to exit (seen here), and its own CPU and uptime at exit. */
async function bareNode(n) {
  const runs = [];
  const code = "process.on('exit',()=>{const u=process.cpuUsage();process.stdout.write(JSON.stringify({cpu:(u.user+u.system)/1000,up:performance.now()}))})";
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    await new Promise((r) => child.once('exit', r));
    const self = JSON.parse(text);
    runs.push({ wallMs: performance.now() - t0, cpuMs: self.cpu, upMs: self.up });
  }
  return runs;
}

// --- output ---

/** One result per peer: every round's HUPs (numbered round.n) and idle workers; lost and doubles added up. */
function mergeRounds(results) {
  const by = new Map();
  for (const r of results) {
    const rows = r.rows.map((row) => ({ ...row, n: ROUNDS > 1 ? `${r.round}.${row.n}` : row.n }));
    const m = by.get(r.peer.name);
    if (!m) by.set(r.peer.name, { ...r, rows, enqueued: JOBS });
    else {
      m.rows.push(...rows);
      m.idle.push(...r.idle);
      m.done += r.done;
      m.lost += r.lost;
      m.dup += r.dup;
      m.wallMs += r.wallMs;
      m.enqueued += JOBS;
    }
  }
  return [...by.values()];
}

function report(results) {
  out('');
  out('Per HUP (ready: from the worker process appearing to its id in Redis; CPU: /proc at that moment, 10 ms ticks;');
  out('first new: the first new worker process seen, ms after the HUP; self: the worker\'s own "ready N ms after exec, M ms CPU"; bare: `node -e \'\'` just before the HUP, wall spawn→exit / own CPU):');
  out(pad(['peer', 'HUP', 'HUP→all new', 'first new', 'peak', 'limit', 'longest gap', 'ready ms (each)', 'CPU ms (each)', 'self ms / CPU', 'bare wall / CPU', 'load avg at HUP']));
  for (const r of results) {
    for (const row of r.rows) {
      const bareWall = med(row.bare.map((b) => b.wallMs));
      const bareCpu = med(row.bare.map((b) => b.cpuMs));
      const self = row.ready.some((x) => x.selfMs !== undefined) ? row.ready.map((x) => `${ms(x.selfMs)}/${ms(x.selfCpuMs)}`).join(' ') : '–';
      out(
        pad([
          r.peer.name,
          String(row.n),
          `${row.allNewMs} ms`,
          `${ms(row.firstNewMs)} ms`,
          String(row.peak),
          String(C + 1),
          `${row.gapMs} ms`,
          row.ready.map((x) => ms(x.readyMs)).join(' '),
          row.ready.map((x) => ms(x.cpuMs)).join(' '),
          self,
          `${ms(bareWall)} / ${ms(bareCpu)}`,
          row.load,
        ]),
      );
    }
  }
  out('');
  out(pad(['peer', 'enqueued', 'done', 'lost', 'run twice', 'wall time', 'idle worker RSS', 'PSS', 'RssAnon', 'HUP→all new (median, min–max)', 'peak (max)', 'worker ready / CPU (median)', 'bare wall / CPU (median)']));
  for (const r of results) {
    const all = r.rows.flatMap((x) => x.ready);
    const bare = r.rows.flatMap((x) => x.bare);
    out(
      pad([
        r.peer.name,
        String(r.enqueued),
        String(r.done),
        String(r.lost),
        String(r.dup),
        `${(r.wallMs / 1000).toFixed(1)} s`,
        `${(med(r.idle.map((m) => m.rssKb)) / 1024).toFixed(1)} MB`,
        `${(med(r.idle.map((m) => m.pssKb)) / 1024).toFixed(1)} MB`,
        `${(med(r.idle.map((m) => m.anonKb)) / 1024).toFixed(1)} MB`,
        `${ms(med(r.rows.map((x) => x.allNewMs)))} ms (${ms(Math.min(...r.rows.map((x) => x.allNewMs)))}–${ms(Math.max(...r.rows.map((x) => x.allNewMs)))})`,
        String(Math.max(...r.rows.map((x) => x.peak))),
        `${ms(med(all.map((x) => x.readyMs)))} / ${ms(med(all.map((x) => x.cpuMs)))} ms`,
        `${ms(med(bare.map((b) => b.wallMs)))} / ${ms(med(bare.map((b) => b.cpuMs)))} ms`,
      ]),
    );
  }
  for (const r of results) out(`  ${r.peer.name}: ${r.peer.label}`);
  out(`load average at end: ${load()}`);
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
  const widths = [10, 4, 12, 5, 6, 12, 16, 14, 24, 16, 16];
  return cols.map((c, i) => c.padEnd(widths[i] ?? 12)).join(' ');
}

// --- --groups: worker groups (issue 13) ---

/** groups.conf.ts: images 3, mail 2, reports 1 (all-new and the peak count every group). */
function groupsWorkers() {
  return 6;
}

function benchQueues() {
  return opt.groups ? ['images', 'mail', 'reports'] : ['images'];
}

/** JOBS ResizeImage jobs of JOB_MS, spread over the queues (job i on queue i mod n). */
async function enqueueJobs(client, ns) {
  const queues = benchQueues();
  for (const q of queues) await client.sadd(`${ns}:queues`, q);
  for (const [k, q] of queues.entries()) {
    const payloads = [];
    for (let i = k; i < JOBS; i += queues.length) payloads.push(JSON.stringify({ class: 'ResizeImage', args: [`job-${i}`, JOB_MS] }));
    for (let i = 0; i < payloads.length; i += 500) await client.rpush(`${ns}:queue:${q}`, ...payloads.slice(i, i + 500));
  }
}

async function waitingJobs(client, ns) {
  let n = 0;
  for (const q of benchQueues()) n += await client.llen(`${ns}:queue:${q}`);
  return n;
}

