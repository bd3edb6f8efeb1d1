#!/usr/bin/env node
// What a worker's line per job costs in its own process (issue 15), without Redis, other
// processes or a master: the worker's job events (`job`, `finished`, then `success` once a
// prefetched batch of 16 is acknowledged, then the next turn) driven in a loop through the very
// code a worker runs (dist: logJobOutcomes, and reportJobOutcomes for metrics, into process-kit's
// logger writing to a real file). Each variant runs in a fresh process, rounds interleaved; the
// baseline ("none") is the same loop with no listener. Far less noisy than a run through Redis
// (bench/resque/observability.mjs), which this does not replace: it isolates the line's cost.
//
//   npm run build && node bench/job-line-cost.mjs [--jobs 200000] [--rounds 3] [--ab DIR] [--out FILE]
//   --ab DIR: another checkout (built), measured beside this one in the same rounds (before/after)
//   --out FILE: where the lines go (default: a file in a scratch directory; /dev/null isolates
//     the write(2)s' share)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

if (process.argv[2] === '--child') {
  await child(JSON.parse(process.argv[3]));
  process.exit(0);
}

const { values: opt } = parseArgs({
  options: {
    jobs: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '3' },
    ab: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  const { readFileSync } = await import('node:fs');
  process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 14).join('\n').replace(/^\/\/ ?/gm, '') + '\n');
  process.exit(0);
}

const scratch = mkdtempSync(join(tmpdir(), 'bench-jlc-'));
const out = opt.out ?? join(scratch, 'lines.log');
const roots = [['this', ROOT], ...(opt.ab ? [['ab', resolve(opt.ab)]] : [])];
const variants = [
  { name: 'none', lines: false, metrics: false },
  { name: 'json lines', lines: true, metrics: false },
  { name: 'json lines + metrics', lines: true, metrics: true },
];
const results = new Map();
try {
  console.log(`job line cost: ${opt.jobs} jobs a run, ${opt.rounds} rounds, node ${process.version}, lines to ${opt.out ?? 'a file in ' + scratch}`);
  for (let r = 0; r < Number(opt.rounds); r++) {
    for (const [label, root] of r % 2 === 0 ? roots : [...roots].reverse()) {
      for (const v of variants) {
        const res = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify({ root, out, jobs: Number(opt.jobs), ...v })], { encoding: 'utf8' });
        if (res.status !== 0) throw new Error(`${label} ${v.name}: ${res.stderr}`);
        const ns = JSON.parse(res.stdout.trim().split('\n').at(-1));
        const key = `${label}|${v.name}`;
        results.set(key, [...(results.get(key) ?? []), ns]);
      }
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  console.log('\nCPU ns per job (median of rounds; min–max), and above "none" of the same checkout:');
  for (const [label, root] of roots) {
    const base = med(results.get(`${label}|none`));
    for (const v of variants) {
      const xs = results.get(`${label}|${v.name}`);
      const m = med(xs);
      console.log(`  ${label.padEnd(4)} ${v.name.padEnd(22)} ${String(Math.round(m)).padStart(6)} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})${v.name === 'none' ? '' : `   +${Math.round(m - base)} ns`}   ${root}`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/** One variant in this process: warm up, then time `jobs` jobs by this process's CPU. */
async function child({ root, out, jobs, lines, metrics }) {
  const { EventEmitter } = await import('node:events');
  const { createWriteStream, openSync } = await import('node:fs');
  const { createLogger } = await import(`${root}/packages/process-kit/dist/index.js`);
  const { logJobOutcomes, JOB_LINES_HOLD_MS } = await import(`${root}/packages/resque-starter/dist/worker-job-log.js`);
  const { reportJobOutcomes } = await import(`${root}/packages/resque-starter/dist/worker-metrics.js`);
  const stream = createWriteStream(null, { fd: openSync(out, 'w') });
  // As worker-main.ts makes it (a checkout before the hold: `coalesce: true`).
  const logger = createLogger({ tag: 'worker[0]', format: 'json', level: 'info', stream, context: { role: 'worker', generation: 2, slot: 0, worker: 'host:4242:bench' }, coalesce: JOB_LINES_HOLD_MS === undefined ? true : { holdMs: JOB_LINES_HOLD_MS } });
  const w = new EventEmitter();
  if (lines) logJobOutcomes(w, logger, { sample: 1 });
  if (metrics) reportJobOutcomes(w, () => undefined);
  const batch = Array.from({ length: 16 }, (_, i) => ({ queue: 'bench', payload: { class: 'Noop', args: [] }, jobId: `a94a8fe5ccb19ba61c4c0873d391e9${String(i).padStart(2, '0')}`, workerId: 'host:4242:bench', startedAt: new Date() }));
  const turn = () => new Promise((r) => setImmediate(r));
  const run = async (n) => {
    for (let i = 0; i < n / batch.length; i++) {
      for (const j of batch) {
        w.emit('job', j);
        w.emit('finished', j, undefined);
      }
      for (const j of batch) w.emit('success', j, undefined);
      await turn();
    }
  };
  await run(Math.min(jobs, 50_000));
  const c0 = process.cpuUsage();
  await run(jobs);
  const c = process.cpuUsage(c0);
  logger.flush();
  process.stdout.write(`${((c.user + c.system) * 1000) / jobs}\n`);
}
