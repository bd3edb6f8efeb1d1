// What a worker tells its master while jobs stream through it (issue 15's overhead): a `job`
// message and a state report per job took a no-op job a quarter of its time in the worker and
// ~15 µs more in the master. The worker here runs as the master starts it (dist/worker.js, an
// IPC channel, the compiled config) with this test as its master, so every message is counted.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, spawnNode, type Spawned } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pollUntil } from './helpers/wait.js';
import { rsSuite, type RsEnv } from './fixtures/rs-harness.js';

const suite = rsSuite();
const JOBS = `
    Noop() {},
    /** Holds the worker's event loop for ms. */
    Spin(ms: number) {
      const end = Date.now() + ms;
      while (Date.now() < end);
    },`;

interface Heard {
  at: number;
  m: { t: string; job?: { class: string }; processed?: number };
}

/** The worker of slot 0, started as the master starts it; every message it sends, with when it arrived. */
async function startWorker(e: RsEnv): Promise<{ proc: Spawned; heard: Heard[] }> {
  const { loadConfigFile } = (await import(join(ROOT, 'packages/resque-starter/dist/load-config.js'))) as typeof import('../packages/resque-starter/src/load-config.js');
  const env = e.env();
  const { config } = await loadConfigFile(e.conf, env, { compile: true });
  expect(config.compiled, 'a compiled config').toBeTruthy();
  const proc = spawnNode(join(ROOT, 'packages/resque-starter/dist/worker.js'), [], {
    label: 'worker',
    extraStdio: ['ipc'],
    env: { ...env, RESQUE_STARTER_CONFIG: e.conf, RESQUE_STARTER_COMPILED_CONFIG: config.compiled!, RESQUE_STARTER_SLOT: '0', RESQUE_STARTER_MASTER_PID: String(process.pid) },
  });
  const heard: Heard[] = [];
  proc.child.on('message', (m: Heard['m']) => heard.push({ at: performance.now(), m }));
  await pollUntil(() => heard.some((h) => h.m.t === 'ready'), { what: 'the worker ready', timeoutMs: slow(15_000) });
  return { proc, heard };
}

async function enqueue(e: RsEnv, jobs: Array<{ class: string; args: unknown[] }>): Promise<void> {
  const r = suite.redis.client();
  await r.sadd(`${e.ns}:queues`, 'rs');
  await r.rpush(`${e.ns}:queue:rs`, ...jobs.map((j) => JSON.stringify(j)));
}

const processed = (heard: Heard[]) => Math.max(0, ...heard.filter((h) => h.m.t === 'state').map((h) => h.m.processed ?? 0));
const count = (heard: Heard[], t: string, from = 0) => heard.slice(from).filter((h) => h.m.t === t).length;

describe('a worker telling its master about its jobs', () => {
  it('a stream of short jobs: a few messages per 100 ms, not two per job, and the final count still arrives', async () => {
    const e = suite.setup({ concurrency: 1, jobs: JOBS });
    const { heard } = await startWorker(e);
    const from = heard.length;
    const n = 3000;
    const t0 = performance.now();
    await enqueue(e, Array.from({ length: n }, () => ({ class: 'Noop', args: [] })));
    await pollUntil(() => processed(heard) === n, { what: `a state report of ${n} processed`, timeoutMs: slow(30_000) });
    const elapsed = performance.now() - t0;
    const messages = count(heard, 'job', from) + count(heard, 'state', from);
    // At most one state report per 100 ms while jobs stream, a job told when the master last
    // heard 100 ms ago, and those at the changes of activity (idle → busy → idle).
    const bound = 10 + 3 * Math.ceil(elapsed / 100);
    expect(bound, `${n} jobs took ${Math.round(elapsed)} ms: too slow for the bound to mean anything`).toBeLessThan(n / 2);
    expect(messages, `${messages} job and state messages for ${n} jobs in ${Math.round(elapsed)} ms`).toBeLessThanOrEqual(bound);
  });

  it('with jobTimeout, every job is told before it runs (the master times it from outside)', async () => {
    const e = suite.setup({ concurrency: 1, jobs: JOBS, extra: 'jobTimeout: 30,' });
    const { heard } = await startWorker(e);
    const from = heard.length;
    const n = 200;
    await enqueue(e, Array.from({ length: n }, () => ({ class: 'Noop', args: [] })));
    await pollUntil(() => processed(heard) === n, { what: `a state report of ${n} processed`, timeoutMs: slow(30_000) });
    expect(count(heard, 'job', from)).toBe(n);
  });

  it('a job of another class that blocks the loop right after a stream is told before it runs', async () => {
    const e = suite.setup({ concurrency: 1, jobs: JOBS });
    const { heard } = await startWorker(e);
    const n = 500;
    await enqueue(e, [...Array.from({ length: n }, () => ({ class: 'Noop', args: [] })), { class: 'Spin', args: [600] }]);
    await pollUntil(() => processed(heard) === n + 1, { what: `a state report of ${n + 1} processed`, timeoutMs: slow(30_000) });
    const i = heard.findIndex((h) => h.m.t === 'job' && h.m.job?.class === 'Spin');
    expect(i, 'the Spin job told').toBeGreaterThanOrEqual(0);
    // Told, then nothing more while it held the loop: the next message came once it was done.
    const next = heard[i + 1];
    expect(next, 'a message after the Spin job').toBeDefined();
    expect(next!.at - heard[i]!.at).toBeGreaterThanOrEqual(500);
  });
});
