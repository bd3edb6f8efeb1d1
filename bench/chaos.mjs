#!/usr/bin/env node
// Chaos runner (not a test): runs the fault-injection scenarios of test/chaos/ for longer
// (CHAOS_SCALE multiplies jobs, kills, storms and their deadlines), for several rounds with
// different seeds, within a wall-clock bound, and prints one table: scenario, jobs, lost,
// duplicates, orphans, stale registrations, unexpected failures, recovery time.
//
//   npm run bench:chaos                                    (scale 4, 2 rounds, ≤ 20 min)
//   node bench/chaos.mjs --scale 2 --rounds 1 --only "kill -9"   (after npm run build)
//   node bench/chaos.mjs --help
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HELP = `usage: node bench/chaos.mjs [options]

  --scale N        multiply every scenario's size (jobs, kills, storms) by N (default 4)
  --rounds N       run the whole suite N times, round k with seed offset k*1000 (default 2)
  --minutes M      wall-clock bound; a round still running then is stopped (default 20)
  --only PATTERN   only scenarios whose test name matches PATTERN (vitest -t)
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
const scale = Math.round(num('scale'));
const rounds = Math.round(num('rounds'));
const deadline = Date.now() + num('minutes') * 60_000;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const VITEST = join(ROOT, 'node_modules', '.bin', 'vitest');
const dir = mkdtempSync(join(tmpdir(), 'baton-chaos-'));
const report = join(dir, 'report.jsonl');

let child;
const stop = (sig) => {
  if (child && child.exitCode === null) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  process.exit(sig === 'SIGINT' ? 130 : 143);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

const failures = [];
const t0 = Date.now();
for (let round = 0; round < rounds; round++) {
  const left = deadline - Date.now();
  if (left < 60_000) {
    console.error(`(stopping before round ${round + 1}: less than a minute left of the bound)`);
    break;
  }
  const offset = round * 1000;
  console.error(`round ${round + 1}/${rounds}: scale ${scale}, seed offset ${offset}`);
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

const f = (n) => (n === undefined || n === null ? '—' : Number(n).toLocaleString('en-US'));
const header = ['scenario', 'seed', 'jobs', 'lost', 'duplicates', 'orphans', 'stale regs', 'unexpected failed', 'recovery ms', 'recovery measures', 'notes'];
const table = [header, ...rows.map((r) => [r.scenario, String(r.seed), f(r.jobs), f(r.lost), f(r.duplicates), f(r.orphans), f(r.stale), f(r.unexpectedFailed), f(r.recoveryMs), r.recoveryWhat, (r.notes ?? []).join('; ').slice(0, 80)])];
const sum = (k) => rows.reduce((a, r) => a + (r[k] ?? 0), 0);
table.push(['total', '', f(sum('jobs')), f(sum('lost')), f(sum('duplicates')), f(sum('orphans')), f(sum('stale')), f(sum('unexpectedFailed')), '', '', '']);
const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
const numeric = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
const line = (row) => `| ${row.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
console.log(`\nchaos: scale ${scale}, ${rounds} round(s), ${((Date.now() - t0) / 60_000).toFixed(1)} min, ${rows.length} scenario runs`);
console.log(line(table[0]));
console.log(`|${widths.map((w, i) => (numeric.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
for (const row of table.slice(1)) console.log(line(row));
if (failures.length) {
  console.log(`\nfailed: ${failures.join('; ')} (the vitest output above names the scenario and its seed)`);
  process.exitCode = 1;
}
