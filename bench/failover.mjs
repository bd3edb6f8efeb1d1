// Failover while jobs flow, with and without @baton/resque's durability option (issue 17). Not a
// test: it prints what it saw. Per run: a primary and a replica (its link optionally lagging),
// two in-process Workers (concurrency 3, 20 ms jobs) and a Queue enqueueing at a steady rate;
// after a few seconds the primary fails:
//   sentinel  kill -9 of the primary; three Sentinels (down-after 1 s) promote the replica; a new
//             replica then joins the promoted one
//   managed   one endpoint (a TCP forwarder): a coordinated failover (FAILOVER TO the replica: writes
//             paused until it caught up, roles swapped), then the endpoint moves; clients already
//             connected stay on the demoted primary (planned maintenance, most managed failovers)
//   split     the same endpoint, unplanned: the replica is promoted (REPLICAOF NO ONE), the endpoint
//             moves, then the old primary is demoted (REPLICAOF); what its clients wrote to it in
//             between is discarded when it resyncs
// Jobs are counted outside Redis (acknowledged enqueues, runs in memory by id).
//   node bench/failover.mjs                      (sentinel and managed, durability off and on, 1 run each)
//   node bench/failover.mjs --runs 3 --lag-ms 300 --scenarios sentinel
//   node bench/failover.mjs --help
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAllNow, startForwarder, startNode, startSentinels, stopAll, until } from './lib/topology.mjs';

const HELP = `usage: node bench/failover.mjs [options]

  --scenarios LIST   sentinel,managed,split (default all)
  --durability LIST  off,on (default both): on = durability { replicas: 1, onShortfall: 'error' }
                     on Worker and Queue (enqueues rejected, job starts held, until replicated)
  --runs N           runs per scenario and durability setting (default 1)
  --rate N           enqueues per second (default 100)
  --lag-ms N         delay on the replica's link, each way (default 0; e.g. 300 for a replica behind)
  --before-s S       seconds of jobs before the failure (default 4)
  --after-s S        seconds of enqueueing after it (default 8)
  --help`;

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log(HELP);
  process.exit(0);
}
const known = new Set(['--scenarios', '--durability', '--runs', '--rate', '--lag-ms', '--before-s', '--after-s']);
for (const a of argv) {
  if (a.startsWith('--') && !known.has(a)) {
    console.error(`unknown option ${a}\n\n${HELP}`);
    process.exit(2);
  }
}
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? def : argv[i + 1];
};
const num = (name, def) => {
  const n = Number(opt(name, def));
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a non-negative number`);
    process.exit(2);
  }
  return n;
};
const cfg = {
  scenarios: String(opt('scenarios', 'sentinel,managed,split')).split(','),
  durability: String(opt('durability', 'off,on')).split(','),
  runs: Math.max(1, num('runs', 1)),
  rate: Math.max(1, num('rate', 100)),
  lagMs: num('lag-ms', 0),
  beforeS: num('before-s', 4),
  afterS: num('after-s', 8),
};
for (const s of cfg.scenarios) if (!['sentinel', 'managed', 'split'].includes(s)) throw new Error(`unknown scenario ${s}`);

process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const { Queue, Worker, describeRedis } = await import('@baton/resque');
const rows = [];
const t0 = performance.now();
try {
  for (const scenario of cfg.scenarios) {
    for (const d of cfg.durability) {
      for (let run = 1; run <= cfg.runs; run++) {
        const row = await oneRun(scenario, d === 'on', run);
        rows.push(row);
        console.error(`  [${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${JSON.stringify(row)}`);
      }
    }
  }
} finally {
  await stopAll();
}
report();
// Workers whose Redis was killed for good keep reconnecting (they never give up): end here.
process.exit(0);

async function oneRun(scenario, durable, run) {
  const dir = mkdtempSync(join(tmpdir(), 'baton-failover-'));
  try {
    const primary = await startNode(dir);
    // The replica reaches its primary through a forwarder (a lagging link with --lag-ms).
    const link = await startForwarder(primary.port, { lagMs: cfg.lagMs });
    const replica = await startNode(dir, { args: ['--replicaof', '127.0.0.1', String(link.port)] });
    const rc = replica.client();
    await until(async () => /master_link_status:up/.test(await rc.info('replication')), 30_000, 'the replica to sync');
    let redis;
    let sentinels;
    let endpoint;
    if (scenario === 'sentinel') {
      sentinels = await startSentinels(dir, primary.port);
      redis = sentinels.options;
    } else {
      endpoint = await startForwarder(primary.port);
      redis = endpoint.url;
    }
    const flow = createFlow(redis, `fo-${scenario}-${run}`, durable);
    await flow.start();
    flow.produce();
    await sleep(cfg.beforeS * 1000);

    const failedAt = Date.now();
    if (scenario === 'sentinel') {
      await primary.kill('SIGKILL');
      const promoted = await sentinels.waitForFailover(primary.port);
      // A replacement replica joins the new primary (as an operator or an orchestrator would).
      await startNode(dir, { args: ['--replicaof', '127.0.0.1', String(promoted)] });
    } else if (scenario === 'managed') {
      await primary.client().call('FAILOVER', 'TO', '127.0.0.1', String(replica.port), 'TIMEOUT', '5000');
      await until(async () => /role:master/.test(await rc.info('replication')), 30_000, 'the replica to be promoted');
      endpoint.retarget(replica.port);
    } else {
      await rc.call('REPLICAOF', 'NO', 'ONE');
      endpoint.retarget(replica.port);
      await primary.client().call('REPLICAOF', '127.0.0.1', String(replica.port));
    }
    const switchedMs = Date.now() - failedAt;
    await sleep(cfg.afterS * 1000);
    await flow.stopProducing();
    // Drained: every acknowledged job ran, or nothing more ran for 5 s.
    let last = -1;
    let still = 0;
    await until(() => {
      const t = flow.tally();
      if (t.lost === 0) return true;
      still = t.ran === last ? still + 1 : 0;
      last = t.ran;
      return still > 250;
    }, 60_000, 'the jobs to drain').catch(() => undefined);
    const t = flow.tally();
    if (process.env.FAILOVER_DEBUG && t.lost > 0) await whereAre(flow.lostIds(), replica.client(), `fo-${scenario}-${run}`);
    if (process.env.FAILOVER_DEBUG) console.error(flow.lines.join('\n'));
    const firstAfter = flow.successes.find((s) => s >= failedAt);
    const row = {
      scenario,
      durability: durable ? 'replicas 1' : 'off',
      run,
      endpoint: describeRedis(redis),
      switchedMs,
      outageMs: longestGap(flow.successes, failedAt),
      firstJobAfterMs: firstAfter === undefined ? undefined : firstAfter - failedAt,
      enqueued: flow.acked.size,
      rejected: flow.rejected.size,
      lost: t.lost,
      duplicates: t.duplicates,
      logLines: flow.lines.length,
      errorEvents: flow.errors,
    };
    await flow.close();
    return row;
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

function createFlow(redis, namespace, durable) {
  // Full durability: the Queue rejects a shortfall, the Worker waits for replication before a job starts.
  const durability = durable ? { durability: { replicas: 1, timeoutMs: 1000, onShortfall: 'error' } } : {};
  const lines = [];
  const logger = { debug() {}, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const queue = new Queue({ redis, namespace, ...durability });
  const runs = new Map();
  const acked = new Set();
  const rejected = new Set();
  const successes = [];
  const pending = new Set();
  let errors = 0;
  let next = 0;
  let timer;
  const workers = [0, 1].map(
    (i) =>
      new Worker({
        redis,
        namespace,
        queues: ['flow'],
        concurrency: 3,
        hostname: `bench${i}`,
        logger,
        ...durability,
        jobs: {
          async Rec(id) {
            await sleep(20);
            runs.set(id, (runs.get(id) ?? 0) + 1);
          },
        },
      }),
  );
  for (const w of workers) {
    w.on('success', () => successes.push(Date.now()));
    w.on('error', () => errors++);
  }
  return {
    lines,
    acked,
    rejected,
    successes,
    get errors() {
      return errors;
    },
    start: () => Promise.all(workers.map((w) => w.start())),
    produce() {
      timer = setInterval(() => {
        const id = next++;
        const p = queue.enqueue('flow', 'Rec', id).then(
          () => acked.add(id),
          () => rejected.add(id),
        );
        pending.add(p);
        p.finally(() => pending.delete(p));
      }, 1000 / cfg.rate);
    },
    async stopProducing() {
      clearInterval(timer);
      await Promise.race([Promise.all([...pending]), sleep(30_000)]);
    },
    lostIds: () => [...acked].filter((id) => !runs.has(id)),
    tally() {
      return {
        lost: [...acked].filter((id) => !runs.has(id)).length,
        duplicates: [...runs.values()].filter((n) => n > 1).length,
        ran: runs.size,
      };
    },
    async close() {
      clearInterval(timer);
      await Promise.race([Promise.all(workers.map((w) => w.stop({ graceful: false, graceMs: 200 }).catch(() => undefined))), sleep(5000)]);
      await queue.close();
    },
  };
}

async function whereAre(ids, c, ns) {
  const keys = await c.keys(`${ns}:*`);
  for (const k of keys) {
    const type = await c.type(k);
    const vals = type === 'list' ? await c.lrange(k, 0, -1) : type === 'string' ? [await c.get(k)] : [];
    for (const id of ids) if (vals.some((v) => v && v.includes(`"args":[${id}]`))) console.error(`lost ${id} is in ${k}`);
  }
  console.error(`lost ids ${ids.join(',')}; keys ${keys.join(' ')}`);
}

/** The longest time without a finished job, in the window from `from` on (ms). */
function longestGap(times, from) {
  let gap = 0;
  let prev = from;
  for (const t of times) {
    if (t < from) continue;
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return gap;
}

function report() {
  const cols = ['scenario', 'durability', 'run', 'switchedMs', 'outageMs', 'firstJobAfterMs', 'enqueued', 'rejected', 'lost', 'duplicates', 'logLines', 'errorEvents'];
  const table = [cols, ...rows.map((r) => cols.map((c) => (r[c] === undefined ? '—' : String(r[c]))))];
  const w = cols.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  console.log(`\nfailover bench: ${cfg.rate} jobs/s of 20 ms, 2 workers × concurrency 3, ${cfg.beforeS} s before and ${cfg.afterS} s after the failure; replica link lag ${cfg.lagMs} ms each way`);
  for (const [i, r] of table.entries()) {
    console.log(`| ${r.map((c, k) => (k < 2 ? c.padEnd(w[k]) : c.padStart(w[k]))).join(' | ')} |`);
    if (i === 0) console.log(`|${w.map((n, k) => (k < 2 ? '-'.repeat(n + 2) : `${'-'.repeat(n + 1)}:`)).join('|')}|`);
  }
  console.log(
    '\nswitchedMs = failure → Sentinels agree on the new primary (sentinel) or the endpoint moved (managed); outageMs = longest time without a finished job after the failure; ' +
      'firstJobAfterMs = failure → first finished job; enqueued = acknowledged enqueues; rejected = enqueues that failed (not acknowledged, e.g. DurabilityError); ' +
      'lost = acknowledged jobs that never ran; duplicates = jobs that ran more than once; logLines = worker log lines (info and above, both workers); errorEvents = worker error events.',
  );
}
