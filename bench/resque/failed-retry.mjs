// Bulk actions on Resque's failed list as the dashboard's "Retry N matching" / "Retry all" and
// `resque-starter failed retry all` / `failed clear --class C` run them (runFailed, from
// resque-starter's build), beside the code before them (one entry at a time: LINDEX, LSET, then
// the push script by EVALSHA, copied below as `before`), on ONE private redis-server started here,
// alternating which goes first. Each timed action starts from the same freshly written list.
// Checks that both leave the same list (retried_at aside) and the same queues. Not a test.
//   node bench/resque/failed-retry.mjs                    (10,000 failures, 3 rounds)
//   node bench/resque/failed-retry.mjs --failures 2000 --rounds 5
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { Queue } from '@baton/resque';
import { runFailed } from '../../packages/resque-starter/dist/commands/failed.js';
import { startRedis } from '../../examples/resque/lib/chain.mjs';
import { medianRange, numericOptions } from '../lib/measure.mjs';

const HELP = `usage: node bench/resque/failed-retry.mjs [--failures N] [--rounds R]

  --failures N  failure records (~640 bytes each, an 8-frame backtrace; default 10000):
                classes A and B alternating, queues q0..q3
  --rounds R    timed rounds of each action and variant (default 3)`;
const opt = numericOptions(HELP);
const cfg = { failures: opt('failures', 10_000), rounds: opt('rounds', 3) };

const ns = 'bench';
const dir = mkdtempSync(join(tmpdir(), 'baton-failed-bench-'));
const redis = await startRedis(dir);
const raw = new Redis(redis.url);
const queue = new Queue({ redis: redis.url, namespace: ns });
const pushSha = await raw.script('LOAD', readFileSync(new URL('../../packages/resque/src/lua/push-2.lua', import.meta.url), 'utf8'));

function record(i) {
  const backtrace = Array.from({ length: 8 }, (_, k) => `/srv/app/jobs/${i % 2 ? 'b' : 'a'}.js:${10 + k}:${k + 3}`);
  return JSON.stringify({
    failed_at: '2026/12/03 11:00:00 UTC',
    payload: { class: i % 2 ? 'B' : 'A', args: [i, { user: `u${i}`, note: 'x'.repeat(200) }] },
    exception: 'Error',
    error: `job ${i} failed: the upstream answered 503`,
    backtrace,
    worker: `host:${1000 + (i % 7)}:q0,q1,q2,q3`,
    queue: `q${i % 4}`,
  });
}
async function fill() {
  await raw.del(`${ns}:failed`, `${ns}:queues`, ...[0, 1, 2, 3].map((q) => `${ns}:queue:q${q}`));
  for (let s = 0; s < cfg.failures; s += 1000) {
    const m = raw.pipeline();
    for (let i = s; i < Math.min(cfg.failures, s + 1000); i++) m.rpush(`${ns}:failed`, record(i));
    await m.exec();
  }
}
async function state() {
  const failed = (await raw.lrange(`${ns}:failed`, 0, -1)).map((r) => r.replace(/"retried_at":"[^"]*"/, '"retried_at":"T"'));
  const queues = await Promise.all([0, 1, 2, 3].map((q) => raw.lrange(`${ns}:queue:q${q}`, 0, -1)));
  return JSON.stringify([failed, queues, (await raw.smembers(`${ns}:queues`)).sort()]);
}

// --- before: one entry at a time, as data-store.ts's requeueFailed/removeFailed had it ---
const pad = (n) => String(n).padStart(2, '0');
const stamp = (d) => `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
const readAll = async () => (await raw.lrange(`${ns}:failed`, 0, -1)).map((r, index) => ({ index, record: JSON.parse(r) }));
const before = {
  async retryAll(cls) {
    const todo = (await readAll()).filter((e) => (cls === undefined || e.record.payload.class === cls) && !e.record.retried_at);
    for (const { index } of todo) {
      const r = await raw.lindex(`${ns}:failed`, index);
      const item = JSON.parse(r);
      item.retried_at = stamp(new Date());
      await raw.lset(`${ns}:failed`, index, JSON.stringify(item));
      await raw.evalsha(pushSha, 2, `${ns}:queues`, `${ns}:queue:${item.queue}`, item.queue, JSON.stringify({ class: item.payload.class, args: item.payload.args ?? [] }), `${ns}:baton:enqueued`);
    }
    return todo.length;
  },
  async clear(cls) {
    const todo = (await readAll()).filter((e) => e.record.payload.class === cls);
    for (const { index } of todo.reverse()) await raw.multi().lset(`${ns}:failed`, index, '').lrem(`${ns}:failed`, 1, '').exec();
    return todo.length;
  },
};
const run = async (o) => {
  let out = '';
  await runFailed({ limit: undefined, json: true, ...o }, queue, (s) => (out += s));
  return JSON.parse(out);
};
const now = {
  retryAll: async (cls) => (await run({ action: 'retry', index: 'all', className: cls })).retried.length,
  clear: async (cls) => (await run({ action: 'clear', className: cls })).removed,
};

const ACTIONS = [
  ['retry all', (v) => v.retryAll(undefined)],
  ['retry matching (half)', (v) => v.retryAll('B')],
  ['remove matching (half)', (v) => v.clear('B')],
];

try {
  const times = new Map();
  console.log(`${cfg.failures} failures of ~${record(0).length} bytes; ${cfg.rounds} rounds`);
  for (let r = 0; r < cfg.rounds; r++) {
    for (const [name, act] of ACTIONS) {
      const order = r % 2 === 0 ? [['before', before], ['now', now]] : [['now', now], ['before', before]];
      const after = {};
      for (const [label, v] of order) {
        await fill();
        const t = performance.now();
        const n = await act(v);
        const k = `${name} ${label}`;
        times.set(k, [...(times.get(k) ?? []), performance.now() - t]);
        after[label] = `${n} ${await state()}`;
      }
      if (after.before !== after.now) throw new Error(`${name}: the two variants left different lists or queues`);
    }
  }
  console.log('| action | before ms: median (min–max) | now ms: median (min–max) |\n|---|---:|---:|');
  for (const [name] of ACTIONS) console.log(`| ${name} | ${fmt(times.get(`${name} before`))} | ${fmt(times.get(`${name} now`))} |`);
  console.log('(both variants left the same list, retried_at aside, and the same queues in every round)');
} finally {
  await queue.close();
  raw.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

function fmt(xs) {
  return medianRange(xs, 0);
}
