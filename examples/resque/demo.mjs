#!/usr/bin/env node
// The demo: a private redis-server, start-server → resque-starter (3 workers) on conf.ts,
// a stream of jobs, one rolling restart (HUP to start-server), and what happened.
// `--groups`: the same on groups.conf.ts (three worker groups, 6 workers), with per-group counts.
// Everything it starts is stopped at the end, also on failure.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { cleanup, resqueModuleEnv, scratchDir, startChain, startRedis, startSampler, waitUntil, workersByMaster } from './lib/chain.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const GROUPS = process.argv.includes('--groups');
const QUEUES = GROUPS ? ['images', 'mail', 'reports'] : ['images'];
const C = GROUPS ? 6 : 3;
const JOBS = 300;
const JOB_MS = 100;
const say = (s = '') => process.stdout.write(`${s}\n`);

const scratch = scratchDir('demo-redis-');
const mark = `DEMO_MARK=${randomUUID().slice(0, 8)}`;
let redis;
let chain;
let client;
let exitCode = 0;
try {
  mkdirSync(join(HERE, 'tmp'), { recursive: true });
  redis = await startRedis(scratch);
  const ns = `demo-${Date.now().toString(36)}`;
  const lib = resqueModuleEnv();
  say(`redis-server on ${redis.url}; Resque library: ${lib.which}`);
  const confFile = GROUPS ? 'groups.conf.ts' : 'conf.ts';
  say(`start-server --signal-on-hup=CONT -- resque-starter -c examples/resque/${confFile}   (${GROUPS ? 'groups images 3, mail 2, reports 1' : `concurrency ${C}`})`);
  chain = startChain({
    dir: join(HERE, 'tmp'),
    conf: join(HERE, confFile),
    env: { ...lib.env, REDIS_URL: redis.url, RESQUE_NAMESPACE: ns, CONCURRENCY: String(C), [mark.split('=')[0]]: mark.split('=')[1], BATON_LOG_LEVEL: 'warn' },
  });
  await waitUntil(() => [...workersByMaster(mark).values()].flat().length === C, `${C} workers`, 30_000);
  const [gen1] = [...workersByMaster(mark).keys()];

  client = new Redis(redis.url);
  // Job i goes to queue i mod the queues, its id prefixed with the queue (`mail-4`).
  for (const q of QUEUES) await client.sadd(`${ns}:queues`, q);
  for (let i = 0; i < JOBS; i++) await client.rpush(`${ns}:queue:${QUEUES[i % QUEUES.length]}`, JSON.stringify({ class: 'ResizeImage', args: [`${QUEUES[i % QUEUES.length]}-${i}`, JOB_MS] }));
  say(`enqueued ${JOBS} ResizeImage jobs of ${JOB_MS} ms${GROUPS ? ` on ${QUEUES.join(', ')}` : ''}`);
  const waiting = async () => (await Promise.all(QUEUES.map((q) => client.llen(`${ns}:queue:${q}`)))).reduce((a, b) => a + b, 0);
  await waitUntil(async () => (await client.llen(`${ns}:demo:done`)) >= 30, '30 jobs done');

  const sampler = startSampler(mark, 5);
  const hupAt = Date.now();
  say('kill -HUP <start-server>   → rolling restart, one worker at a time');
  chain.child.kill('SIGHUP');
  const allNew = await waitUntil(() => {
    const by = workersByMaster(mark);
    return !by.has(gen1) && [...by.values()].flat().length === C ? Date.now() : undefined;
  }, 'all workers replaced', 60_000, 5);
  await waitUntil(async () => (await client.llen(`${ns}:demo:done`)) >= JOBS && (await waiting()) === 0, 'all jobs done', 120_000);
  const { peak, timeline } = sampler.stop();

  const done = (await client.lrange(`${ns}:demo:done`, 0, -1)).map((l) => l.split(':'));
  const ids = new Set(done.map((d) => d[0]));
  const perMaster = new Map();
  for (const [, pid, master] of done) {
    const m = perMaster.get(master) ?? { jobs: 0, workers: new Set() };
    m.jobs++;
    m.workers.add(pid);
    perMaster.set(master, m);
  }
  const [gen2] = [...workersByMaster(mark).keys()];
  say('');
  say('what happened:');
  for (const [master, m] of perMaster) {
    const label = Number(master) === gen1 ? 'generation 1' : Number(master) === gen2 ? 'generation 2' : 'other';
    say(`  ${label} (master ${master}): ${m.workers.size} workers [${[...m.workers].join(', ')}] did ${m.jobs} jobs`);
  }
  say(`  jobs: ${JOBS} enqueued, ${ids.size} done, ${done.length - ids.size} duplicates, ${JOBS - ids.size} lost`);
  say(`  max alive worker processes: ${peak} (limit concurrency+1 = ${C + 1}; sampled ${timeline.length} times every 5 ms)`);
  say(`  HUP → all ${C} workers new: ${allNew - hupAt} ms`);
  if (GROUPS) showGroups(done);
  if (peak > C + 1 || ids.size !== JOBS) exitCode = 1;
} catch (err) {
  exitCode = 1;
  process.stderr.write(`demo failed: ${err?.stack ?? err}\n${chain ? `--- log ---\n${chain.output}` : ''}\n`);
} finally {
  await client?.quit().catch(() => undefined);
  if (chain) await chain.stop();
  await redis?.stop();
  cleanup(scratch);
  say(exitCode === 0 ? 'stopped everything; ok' : 'stopped everything; FAILED');
  process.exitCode = exitCode;
}

/** Per group: its workers now (the status file), the jobs of its queue and the workers that ran them. */
function showGroups(done) {
  const status = JSON.parse(readFileSync(join(HERE, 'tmp/resque-starter.json'), 'utf8'));
  say('  per group (status file, and the jobs of its queue):');
  for (const g of status.master.groups) {
    const jobs = done.filter(([id]) => id.startsWith(`${g.queues[0]}-`));
    say(`    ${g.name}: ${g.ready}/${g.concurrency} workers ready, queues ${g.queues.join(',')}; ${jobs.length} jobs done by ${new Set(jobs.map((d) => d[1])).size} worker process(es)`);
  }
}

