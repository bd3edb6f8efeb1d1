#!/usr/bin/env node
// Chaos runner (not a test): runs the fault-injection scenarios of test/chaos/ for longer
// (CHAOS_SCALE multiplies jobs, kills, storms and their deadlines), for several rounds with
// different seeds, within a wall-clock bound, and prints one table: scenario, jobs, lost,
// duplicates, orphans, stale registrations, unexpected failures, recovery time.
//
//   npm run bench:chaos                                    (scale 4, 2 rounds, ≤ 20 min)
//   node bench/chaos.mjs --scale 2 --rounds 1 --only "kill -9"   (after npm run build)
//   node bench/chaos.mjs --scale 2 --rounds 2 --cpu-stress 2     (on a loaded machine)
//   node bench/chaos.mjs --help
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HELP = `usage: node bench/chaos.mjs [options]

  --scale N        multiply every scenario's size (jobs, kills, storms) by N (default 4)
  --rounds N       run the whole suite N times, round k with seed offset k*1000 (default 2)
  --minutes M      wall-clock bound; a round still running then is stopped (default 20)
  --only PATTERN   only scenarios whose test name matches PATTERN (vitest -t)
  --cpu-stress N   keep N busy-loop processes running for the whole run (default 0), so the
                   scenarios run on a loaded machine; the suite measures the slowness and
                   scales its deadlines by it
  --help

A failing scenario prints its seed; replay it with
  CHAOS_SEED_OFFSET=<offset> CHAOS_SCALE=<N> npx vitest run test/chaos -t "<name>"`;

let opt;
try {
  ({ values: opt } = parseArgs({
    options: {
      scale: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '2' },
      minutes: { type: 'string', default: '20' },
      only: { type: 'string' },
      'cpu-stress': { type: 'string', default: '0' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  console.error(`${err.message}\n\n${HELP}`);
  process.exit(2);
}
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (name) => {
  const n = Number(opt[name]);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got ${opt[name]}`);
    process.exit(2);
  }
  return n;
};
const cpuStress = Number(opt['cpu-stress']);
if (!Number.isInteger(cpuStress) || cpuStress < 0 || cpuStress > 64) {
  console.error(`--cpu-stress must be an integer from 0 to 64, got ${opt['cpu-stress']}`);
  process.exit(2);
}
const scale = Math.round(num('scale'));
const rounds = Math.round(num('rounds'));
const deadline = Date.now() + num('minutes') * 60_000;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const VITEST = join(ROOT, 'node_modules', '.bin', 'vitest');
const dir = mkdtempSync(join(tmpdir(), 'baton-chaos-'));
const report = join(dir, 'report.jsonl');

// The load: busy loops that spin for the whole run. They carry BATON_CHAOS_STRESS (and neither
// of the test suite's marks, so its leak audits and .ci/run's check never count them), and each
// one exits by itself as soon as this script is gone, even after a SIGKILL of it (its parent
// pid changes), so no exit path of this script can leave one behind.
const STRESS_MARK = `BATON_CHAOS_STRESS=${process.pid}`;
const BUSY_LOOP = `const parent = process.ppid;
for (;;) {
  for (let i = 0; i < 5e6; i++);
  if (process.ppid !== parent) process.exit(0);
}`;
const stressors = [];
function startStress(n) {
  const env = { ...process.env, BATON_CHAOS_STRESS: String(process.pid) };
  delete env.BATON_TEST_MARK;
  delete env.BATON_TEST_INFRA;
  for (let i = 0; i < n; i++) {
    const p = spawn(process.execPath, ['-e', BUSY_LOOP], { stdio: 'ignore', env });
    p.on('error', (err) => console.error(`cpu stress: ${err.message}`));
    stressors.push(p);
  }
}
function stopStress() {
  for (const p of stressors) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}
/** Pids of live processes carrying this run's stress mark (the end-of-run check). */
function liveStressors() {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!`\0${readFileSync(`/proc/${e}/environ`, 'latin1')}\0`.includes(`\0${STRESS_MARK}\0`)) continue;
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (!/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}
// Whatever happens (an exception, process.exit), the busy loops go with us.
process.on('exit', stopStress);

let child;
let stopping = false;
const stop = (sig) => {
  if (stopping) return;
  stopping = true;
  stopStress();
  const code = sig === 'SIGINT' ? 130 : 143;
  const done = () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  if (!child || child.exitCode !== null || child.signalCode !== null) return done();
  // Let vitest stop its chains and its redis-server before we go (bounded).
  child.kill('SIGTERM');
  child.once('exit', done);
  setTimeout(() => {
    child.kill('SIGKILL');
    done();
  }, 20_000).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('SIGHUP', stop);

if (cpuStress > 0) {
  startStress(cpuStress);
  console.error(`cpu stress: ${cpuStress} busy loop(s), pids ${stressors.map((p) => p.pid).join(' ')}`);
}

const failures = [];
const t0 = Date.now();
for (let round = 0; round < rounds; round++) {
  const left = deadline - Date.now();
  if (left < 60_000) {
    console.error(`(stopping before round ${round + 1}: less than a minute left of the bound)`);
    break;
  }
  const offset = round * 1000;
  console.error(`round ${round + 1}/${rounds}: scale ${scale}, seed offset ${offset}${cpuStress ? `, ${cpuStress} busy loop(s)` : ''}`);
  const args = ['run', '--project', 'integration', 'test/chaos', '--reporter=dot'];
  if (opt.only) args.push('-t', opt.only);
  const code = await new Promise((resolve) => {
    child = spawn(VITEST, args, {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, CHAOS_SCALE: String(scale), CHAOS_SEED_OFFSET: String(offset), CHAOS_REPORT: report },
    });
    const timer = setTimeout(() => {
      console.error(`round ${round + 1} hit the ${opt.minutes}-minute bound: stopping it`);
      child.kill('SIGTERM');
    }, left);
    child.on('exit', (c, s) => {
      clearTimeout(timer);
      resolve(c ?? (s ? 1 : 0));
    });
  });
  if (code !== 0) failures.push(`round ${round + 1} (seed offset ${offset}): vitest exited ${code}`);
}

let rows = [];
try {
  rows = readFileSync(report, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
} catch {
  // nothing ran
}
rmSync(dir, { recursive: true, force: true });
stopStress();
const stressLeft = [];
for (let i = 0; i < 50; i++) {
  stressLeft.splice(0, Infinity, ...liveStressors());
  if (stressLeft.length === 0) break;
  await new Promise((res) => setTimeout(res, 100)); // a SIGKILLed process takes a moment to be reaped
}
if (stressLeft.length > 0) failures.push(`busy loop(s) still running: ${stressLeft.join(' ')}`);

const f = (n) => (n === undefined || n === null ? '—' : Number(n).toLocaleString('en-US'));
const header = ['scenario', 'seed', 'jobs', 'lost', 'duplicates', 'orphans', 'stale regs', 'unexpected failed', 'recovery ms', 'recovery measures', 'notes'];
const table = [header, ...rows.map((r) => [r.scenario, String(r.seed), f(r.jobs), f(r.lost), f(r.duplicates), f(r.orphans), f(r.stale), f(r.unexpectedFailed), f(r.recoveryMs), r.recoveryWhat, (r.notes ?? []).join('; ').slice(0, 80)])];
const sum = (k) => rows.reduce((a, r) => a + (r[k] ?? 0), 0);
table.push(['total', '', f(sum('jobs')), f(sum('lost')), f(sum('duplicates')), f(sum('orphans')), f(sum('stale')), f(sum('unexpectedFailed')), '', '', '']);
const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
const numeric = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
const line = (row) => `| ${row.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
const factors = [...new Set(rows.map((r) => r.slowness).filter((x) => x !== undefined))].sort((a, b) => a - b);
console.log(`\nchaos: scale ${scale}, ${rounds} round(s), ${cpuStress} busy loop(s), ${((Date.now() - t0) / 60_000).toFixed(1)} min, ${rows.length} scenario runs` + (factors.length ? `, measured slowness ${factors.join('/')} (deadlines × it)` : ''));
console.log(line(table[0]));
console.log(`|${widths.map((w, i) => (numeric.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
for (const row of table.slice(1)) console.log(line(row));
if (failures.length) {
  console.log(`\nfailed: ${failures.join('; ')} (the vitest output above names the scenario and its seed)`);
  process.exitCode = 1;
}
