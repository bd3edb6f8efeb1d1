import { readFileSync } from 'node:fs';
import { Queue } from '@baton/resque';
import { describe, expect, it } from 'vitest';
import { slow } from '../helpers/slowness.js';
import { pollUntil } from '../helpers/wait.js';
import { ALARMS, alive, chaosSuite, expectClean, rng, SCALE, seedOf, type ChaosConf, type ChaosEnv } from './harness.js';

// Chaos scenario 10 (issue 14): two chains (two "hosts") on one Redis and namespace, each master
// running the scheduler, one of them leading. While immediate, delayed (enqueueAt) and retried
// jobs (a class with `retry` options that fails its first attempts) flow, the leading master is
// killed with -9, then workers of both chains: the other master leads within the lock's TTL,
// every job is done (at least once: only jobs in flight in a killed process may run twice), no
// delayed job runs before its time or stays behind, no retried job ends in `failed`.

const suite = chaosSuite();

const RETRIED = `
    /** Fails its first \`failures\` attempts (recorded as "attempt" lines), then runs like Chaos. */
    Retried: {
      async perform(this: { attempt: number; signal: AbortSignal }, id: string, failures: number, ms: number) {
        if (this.attempt <= failures) {
          record('attempt', id + '#' + this.attempt);
          throw new Error('attempt ' + this.attempt + ' of ' + id + ' fails on purpose');
        }
        record('start', id);
        if (ms > 0) await sleep(ms, this.signal);
        record('done', id);
      },
      retry: { limit: 3, backoff: 0.2 },
    },`;

const LOCK_TTL = 2; // s

/** The master (pid) that leads the scheduler, by its token in resque-scheduler's lock key. */
async function leaderPid(e: ChaosEnv): Promise<number | undefined> {
  const holder = await suite.r.get(`${e.ns}:${e.ns}:resque_scheduler_master_lock`);
  const m = holder ? /:(\d+):[0-9a-f]+$/.exec(holder) : null;
  return m ? Number(m[1]) : undefined;
}

describe('chaos: the scheduler', () => {
  it(
    '10. kill -9 of the scheduler leader master and of workers while delayed and retried jobs flow: another master leads within the TTL, nothing lost, no duplicate beyond at-least-once',
    { timeout: slow(120_000 * SCALE) },
    async () => {
      const seed = seedOf(10);
      const R = rng(seed);
      const C = 2;
      const conf: ChaosConf = { concurrency: C, lockTimeout: 2, extra: `scheduler: { lockTtl: ${LOCK_TTL} },`, jobs: RETRIED, redisInConfig: true };
      const a = suite.setup('10 scheduler leader and workers killed', seed, conf);
      const b = suite.peer(a, { name: 'hostB', conf });
      a.expectAlarm(ALARMS.workerKilled, 'the test kills workers with -9');
      b.expectAlarm(ALARMS.workerKilled, 'the test kills workers with -9');
      const ssA = await a.startChain();
      const ssB = await b.startChain();
      const masters = [a.masterPid()!, b.masterPid()!];
      const leader = await pollUntil(async () => {
        const pid = await leaderPid(a);
        return pid !== undefined && masters.includes(pid) ? pid : undefined;
      }, { what: 'one of the two masters to lead the scheduler', timeoutMs: slow(10_000) });
      const [leaderEnv, otherEnv] = leader === masters[0] ? [a, b] : [b, a];
      const follower = otherEnv.masterPid()!;
      leaderEnv.expectAlarm(ALARMS.generationKilled(leader), 'the test kills the leading master with -9');

      // The flow: immediate jobs, jobs that fail their first attempts, and delayed jobs due over the next seconds.
      const q = new Queue({ redis: suite.redis.url, namespace: a.ns });
      const due = new Map<string, number>();
      let ids: string[] = [];
      const retried: Array<{ id: string; failures: number }> = [];
      try {
        ids = await a.enqueue(suite.r, 150 * SCALE, () => R.int(20, 150), 'now');
        const now = Date.now();
        for (let i = 0; i < 150 * SCALE; i++) {
          const id = `later${i}`;
          const at = now + R.int(1000, 9000);
          due.set(id, at);
          await q.enqueueAt(at, 'chaos', 'Chaos', id, R.int(20, 150));
        }
        for (let i = 0; i < 60 * SCALE; i++) {
          const r = { id: `retried${i}`, failures: R.int(0, 2) };
          retried.push(r);
          await q.enqueue('chaos', 'Retried', r.id, r.failures, R.int(20, 100));
        }
      } finally {
        await q.close();
      }
      const all = [...ids, ...due.keys(), ...retried.map((r) => r.id)];

      // kill -9 the leader once jobs flow; its workers are orphaned and go too.
      await pollUntil(() => a.doneCounts().size >= 30, { what: '30 jobs done', timeoutMs: slow(20_000) });
      const leaderWorkers = leaderEnv.workerPids();
      const inFlightAtKill = new Set(leaderWorkers.flatMap((pid) => a.inFlight(pid)));
      process.kill(leader, 'SIGKILL');
      const killedAt = Date.now();
      // The other chain's master, or the one start-server starts in place of the killed one: whichever asks first.
      let successor: number | undefined;
      const takeover = await pollUntil(async () => {
        successor = await leaderPid(a);
        return successor !== undefined && successor !== leader && alive(successor) ? Date.now() - killedAt : undefined;
      }, {
        what: `another master than ${leader} (such as ${follower}) to lead the scheduler`,
        timeoutMs: slow(15_000),
        intervalMs: 20,
      });
      // The lock lapses LOCK_TTL after the dead leader's last renewal (at most a third of it before the kill).
      expect(takeover).toBeLessThan(slow(LOCK_TTL * 1000 + 1500));

      // Then workers of both chains, with progress in between.
      const kills: Array<{ pid: number; inFlight: string[] }> = [];
      for (let k = 0; k < 4; k++) {
        const target = a.doneCounts().size + R.int(20, 60);
        await pollUntil(() => a.doneCounts().size >= Math.min(target, all.length - 40) && a.workerPids().length + b.workerPids().length > 0, {
          what: 'jobs to progress before the next kill',
          timeoutMs: slow(30_000),
        });
        if (a.doneCounts().size >= all.length - 40) break;
        const pid = R.pick([...a.workerPids(), ...b.workerPids()]);
        const inFlight = a.inFlight(pid);
        process.kill(pid, 'SIGKILL');
        kills.push({ pid, inFlight });
      }
      await a.waitAllDone(all, 90_000 * SCALE);

      // At least once, and twice only for what a killed process held.
      const killedHeld = new Set([...inFlightAtKill, ...kills.flatMap((k) => k.inFlight)]);
      const doubled = [...a.doneCounts()].filter(([, n]) => n > 1).map(([id]) => id);
      expect(doubled.filter((id) => !killedHeld.has(id))).toEqual([]);
      // No delayed job ran before its time (the mover's clock is Redis's: allow its second's rounding, none here).
      const firstStart = new Map<string, number>();
      for (const x of a.executions()) if (x.what === 'start' && !firstStart.has(x.id)) firstStart.set(x.id, x.t);
      const early = [...due].filter(([id, at]) => (firstStart.get(id) ?? Infinity) < at - 5);
      expect(early).toEqual([]);
      // Every retried job failed exactly its `failures` first attempts, then succeeded.
      const attempts = new Map<string, number>();
      for (const line of readFileSync(a.records, 'utf8').split('\n')) {
        const [what, tag] = line.split(' ');
        if (what === 'attempt' && tag) attempts.set(tag.split('#')[0]!, (attempts.get(tag.split('#')[0]!) ?? 0) + 1);
      }
      const wrong = retried.filter((r) => (attempts.get(r.id) ?? 0) < r.failures).map((r) => `${r.id}: ${attempts.get(r.id) ?? 0} of ${r.failures}`);
      expect(wrong).toEqual([]);
      expect(await suite.r.zcard(`${a.ns}:delayed_queue_schedule`)).toBe(0);

      // Both chains stop before the count (B's live registrations are not stale).
      const orphansB = await b.stopAll();
      const res = await a.finish(suite.r, {
        ids: all,
        orphans: orphansB,
        recoveryMs: takeover,
        recoveryWhat: `kill -9 of the leading master → another master holds the scheduler lock (TTL ${LOCK_TTL}s)`,
        notes: [`master ${successor} took over from ${leader}${successor === follower ? ' (the other chain)' : ' (the restarted generation)'}`, `${kills.length} worker kills`, `${doubled.length} job(s) run twice (held by a killed process)`, `${retried.reduce((n, r) => n + r.failures, 0)} failed attempts retried`],
      });
      expectClean(res);
      expect(alive(leader)).toBe(false);
      expect(ssA.output + ssB.output).toMatch(/scheduler: took the scheduler lock/);
    },
  );
});
