import { describe, expect, it } from 'vitest';
import { slow } from '../helpers/slowness.js';
import { pollUntil } from '../helpers/wait.js';
import { ALARMS, chaosSuite, rng, SCALE, seedOf, since } from './harness.js';

// Chaos scenario 3 (issue 5): redis-server restarted mid-run, and stopped for several seconds.
// This suite's redis-server keeps an append-only file with an fsync per write (what a
// deployment that must not lose jobs runs), so a restart keeps every acknowledged write.

const suite = chaosSuite({ persistent: true });
const pause = (ms: number) => new Promise((res) => setTimeout(res, ms)); // the outage itself, not a wait for a state

describe('chaos: Redis going away', () => {
  it('3. redis-server restarted mid-run, then stopped for seconds: workers ride it out, nothing lost', { timeout: slow(120_000 * SCALE) }, async (ctx) => {
    if (suite.redis.external) return ctx.skip();
    const seed = seedOf(3);
    const R = rng(seed);
    const C = 3;
    const e = suite.setup('3 redis restart + outage', seed, { concurrency: C, lockTimeout: 5 });
    e.expectAlarm(ALARMS.workerKilled, 'the test kills one worker with -9 during the second outage');
    const ids = await e.enqueue(suite.r, 900 * SCALE, () => R.int(2, 12));
    const ss = await e.startChain();
    const workers = e.workerPids();

    const recoveries: number[] = [];
    let killed: number | undefined;
    const outages = [0, R.int(2500, 4000)]; // a plain restart, then a stop of several seconds
    for (const [k, downMs] of outages.entries()) {
      await pollUntil(() => e.doneCounts().size >= (k + 1) * Math.floor(ids.length / 4), { what: 'jobs to progress', timeoutMs: slow(30_000) });
      await suite.redis.stopServer();
      if (downMs > 0) {
        // A worker dies while Redis is away: its master cannot recover its job now; the owner
        // lock (5 s) lets a live worker do it once Redis is back.
        killed = R.pick(e.workerPids());
        process.kill(killed, 'SIGKILL');
        await pause(downMs);
      }
      await suite.redis.startServer();
      const upAt = Date.now();
      const doneAtRestart = e.doneCounts().size;
      const next = await pollUntil(
        () => {
          const after = e.executions().filter((x) => x.what === 'done' && x.t >= upAt);
          return after.length > 0 && e.doneCounts().size > doneAtRestart ? after[0] : undefined;
        },
        { what: 'a job done after Redis came back', timeoutMs: slow(30_000) },
      );
      recoveries.push(next.t - upAt);
    }
    await e.waitAllDone(ids, 60_000 * SCALE);
    // Only the killed one died: the others carried on through both outages (no crash, no restart).
    expect(killed).toBeDefined();
    expect(workers.filter((p) => p !== killed).every((p) => e.workerPids().includes(p))).toBe(true);
    expect(ss.count(/died/)).toBe(1);
    const mark = since(ss);
    const res = await e.finish(suite.r, {
      ids,
      recoveryMs: Math.max(...recoveries),
      recoveryWhat: 'Redis back → next job done (max)',
      notes: [`outages: ${outages.map((ms) => `${ms} ms`).join(', ')}; one worker killed during the second`],
    });
    expect(res, JSON.stringify(res) + ss.output.slice(mark.from)).toMatchObject({ lost: 0, orphans: 0, stale: 0, unexpectedFailed: 0 });
  });
});
