// The dashboard's reads of the delayed queue (Queue.delayedCount / delayedCounts / delayed), as
// this checkout does them (Lua, a bounded slice of seconds per call) beside the code before it
// (one round trip per second: copied below as `before`), on ONE private redis-server started
// here, interleaved round by round. Checks both give the same answers. Not a test.
//   node bench/resque/delayed-reads.mjs                    (10,000 jobs over 8,000 seconds, 5 rounds)
//   node bench/resque/delayed-reads.mjs --jobs 100000 --seconds 50000 --rounds 3
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { Queue } from '@baton/resque';
import { startRedis } from '../../examples/resque/lib/chain.mjs';
import { medianRange, numericOptions } from '../lib/measure.mjs';

const HELP = `usage: node bench/resque/delayed-reads.mjs [--jobs N] [--seconds S] [--queues Q] [--rounds R]

  --jobs N      delayed jobs (default 10000), a quarter of them due at a millisecond within their second
  --seconds S   spread over this many distinct seconds, from an hour ahead (default 8000)
  --queues Q    bound for this many queues, round robin (default 5: a second with several jobs holds several queues)
  --rounds R    timed rounds, the two variants alternating which goes first (default 5)`;
const opt = numericOptions(HELP);
const cfg = { jobs: opt('jobs', 10_000), seconds: opt('seconds', 8000), queues: opt('queues', 5), rounds: opt('rounds', 5) };

const ns = 'bench';
const dir = mkdtempSync(join(tmpdir(), 'baton-delayed-reads-'));
const redis = await startRedis(dir);
const raw = new Redis(redis.url);
const queue = new Queue({ redis: redis.url, namespace: ns });

// --- before: the reads as delayed-store.ts had them (one second per round trip) ---
const key = (s) => `${ns}:delayed:${s}`;
const seconds = () => raw.zrange(`${ns}:delayed_queue_schedule`, 0, -1);
function decode(item, ms) {
  try {
    const o = JSON.parse(item);
    if (typeof o !== 'object' || o === null || Array.isArray(o) || typeof o.class !== 'string') return undefined;
    return { at: ms, queue: typeof o.queue === 'string' ? o.queue : undefined, class: o.class, args: Array.isArray(o.args) ? o.args : [], raw: item };
  } catch {
    return undefined;
  }
}
const before = {
  async count() {
    const secs = await seconds();
    if (secs.length === 0) return 0;
    const m = raw.pipeline();
    for (const s of secs) m.llen(key(s));
    return ((await m.exec()) ?? []).reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
  },
  async counts() {
    const counts = {};
    for (const s of await seconds()) {
      for (const item of await raw.lrange(key(s), 0, -1)) {
        const q = decode(item, 0)?.queue ?? '';
        counts[q] = (counts[q] ?? 0) + 1;
      }
    }
    return counts;
  },
  async list(start, count) {
    const out = [];
    let skip = start;
    for (const s of await seconds()) {
      if (out.length >= count) break;
      const [items, at] = await Promise.all([raw.lrange(key(s), 0, -1), raw.zrange(`${ns}:baton:delayed_at:${s}`, 0, -1, 'WITHSCORES')]);
      const ms = new Map();
      for (let i = 0; i < at.length; i += 2) ms.set(at[i], Number(at[i + 1]));
      const jobs = items.map((item) => decode(item, ms.get(item) ?? Number(s) * 1000) ?? { at: Number(s) * 1000, raw: item }).sort((a, b) => a.at - b.at);
      if (skip >= jobs.length) {
        skip -= jobs.length;
        continue;
      }
      out.push(...jobs.slice(skip, skip + count - out.length));
      skip = 0;
    }
    return out.map((j) => `${j.at} ${j.raw}`);
  },
};
const now = {
  count: () => queue.delayedCount(),
  counts: () => queue.delayedCounts(),
  list: async (start, count) => (await queue.delayed(start, count)).map((j) => `${j.at.getTime()} ${j.raw}`),
};

const OPS = [
  ['delayedCount()', (v) => v.count()],
  ['delayedCounts()', (v) => v.counts()],
  ['delayed(0, 10)', (v) => v.list(0, 10)],
  ['delayed(950, 50)', (v) => v.list(950, 50)],
];

try {
  const t0 = Math.floor(Date.now() / 1000) + 3600;
  const pending = [];
  for (let i = 0; i < cfg.jobs; i++) {
    const ms = (t0 + (i % cfg.seconds)) * 1000 + (i % 4 === 3 ? 1 + (i % 997) : 0);
    pending.push(queue.enqueueAt(ms, `q${i % cfg.queues}`, 'Job', i));
    if (pending.length >= 500) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  console.log(`${cfg.jobs} delayed jobs in ${await raw.zcard(`${ns}:delayed_queue_schedule`)} seconds, ${cfg.queues} queues; ${cfg.rounds} rounds`);

  const times = new Map();
  for (let r = 0; r < cfg.rounds; r++) {
    for (const [name, op] of OPS) {
      const order = r % 2 === 0 ? [['before', before], ['now', now]] : [['now', now], ['before', before]];
      const answers = {};
      for (const [label, v] of order) {
        const t = performance.now();
        answers[label] = await op(v);
        const k = `${name} ${label}`;
        times.set(k, [...(times.get(k) ?? []), performance.now() - t]);
      }
      const same = JSON.stringify(sortKeys(answers.before)) === JSON.stringify(sortKeys(answers.now));
      if (!same) throw new Error(`${name}: the two variants differ:\n before ${JSON.stringify(answers.before).slice(0, 300)}\n now    ${JSON.stringify(answers.now).slice(0, 300)}`);
    }
  }
  console.log('| read | before ms: median (min–max) | now ms: median (min–max) |\n|---|---:|---:|');
  for (const [name] of OPS) console.log(`| ${name} | ${fmt(times.get(`${name} before`))} | ${fmt(times.get(`${name} now`))} |`);
  console.log('(the two variants gave the same answers in every round)');
} finally {
  await queue.close();
  raw.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

function sortKeys(v) {
  return v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v;
}
function fmt(xs) {
  return medianRange(xs, 1);
}
