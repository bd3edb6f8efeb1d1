import { describe, expect, it } from 'vitest';
import { slow } from '../helpers/slowness.js';
import { pollUntil } from '../helpers/wait.js';
import { ALARMS, alive, chaosSuite, expectClean, rng, sampleWorkers, SCALE, seedOf, since, type ChaosEnv } from './harness.js';

// Chaos scenario 9 (issue 13): a master with three worker groups (different counts and
// jobConcurrency) in a rolling restart under start-server, with workers of several groups
// killed -9 on both generations meanwhile. Nothing lost, nothing orphaned, never more than
// (every group's count) + 1 worker processes, one master with every group's workers at the end.

const suite = chaosSuite();
const GROUPS = `groups: {
    a: { concurrency: 2 },
    b: { concurrency: 1, jobConcurrency: 2 },
    c: { concurrency: 1 },
  },`;
const C = 4;

const progress = (e: ChaosEnv, n: number) => pollUntil(() => e.doneCounts().size >= n, { what: `${n} jobs done`, timeoutMs: slow(20_000) });

/** Worker pids by group, as the serving master's status file says (workers not in it belong to the old generation). */
/**
 * The serving master's ready workers by group. Not those still starting: killing one of those
 * ends the rolling restart by design (a new worker that fails before it is ready aborts it), and
 * with spares handed over at once (issue 16) one is often starting right after a ready line.
 */
function byGroup(e: ChaosEnv): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const w of servingWorkers(e)) {
    if (w.pid !== null && ['idle', 'busy', 'paused'].includes(w.state)) out.set(w.group ?? 'default', [...(out.get(w.group ?? 'default') ?? []), w.pid]);
  }
  return out;
}

/** Every worker of the serving master (the status file's), starting ones too. */
function servingWorkers(e: ChaosEnv): Array<{ group?: string; pid: number | null; state: string }> {
  return (e.statusFileJson()?.workers ?? []) as Array<{ group?: string; pid: number | null; state: string }>;
}

describe('chaos: worker groups', () => {
  it('9. kill -9 of workers in several groups during a rolling restart: nothing lost, no orphan, ≤ total + 1 workers', { timeout: slow(90_000 * SCALE) }, async () => {
    const seed = seedOf(90);
    const R = rng(seed);
    const e = suite.setup('9 groups: kill -9 workers of several groups mid-rollout', seed, { concurrency: C, extra: GROUPS });
    e.expectAlarm(ALARMS.workerKilled, 'the test kills workers of groups a and c, old and new, with -9');
    const ids = await e.enqueue(suite.r, 300 * SCALE, () => R.int(20, 80));
    // startChain waits for worker[C-1]; a group's last worker is worker[c/0].
    const ss = e.chain();
    await ss.waitForLine(/worker\[c\/0\] \d+ ready/, { timeoutMs: slow(20_000) });
    const oldMaster = e.masterPid()!;
    await progress(e, 30);
    const sampler = sampleWorkers(e, 10);
    const killed: string[] = [];
    const t0 = Date.now();
    let from = since(ss).from;
    process.kill(ss.pid, 'SIGHUP');
    for (const group of ['a', 'c', 'a']) {
      // After each new worker retired an old one: one worker of `group` of the serving master, and one of the old generation.
      const hit = await ss.waitForLine(/ready in \d+ ms; asked old master \d+ to retire one worker of group \w+/, { from, timeoutMs: slow(20_000) });
      from += (hit.index ?? 0) + hit[0].length;
      const mine = byGroup(e).get(group) ?? [];
      const serving = servingWorkers(e).map((w) => w.pid);
      const old = e.workerPids().filter((p) => !serving.includes(p));
      for (const [pid, what] of [[R.pick(mine.length ? mine : [undefined]), `${group} (new)`], [R.pick(old.length ? old : [undefined]), 'old']] as const) {
        if (pid === undefined || !alive(pid)) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch (err) {
          // It exited by itself in between (an old worker retiring).
          if ((err as NodeJS.ErrnoException).code === 'ESRCH') continue;
          throw err;
        }
        killed.push(`${what} ${pid}`);
      }
    }
    const master = await pollUntil(
      () => {
        const s = e.statusFileJson() as { master: { pid: number }; workers: Array<{ group?: string; state: string }> } | undefined;
        if (!s || s.master.pid === oldMaster || alive(oldMaster)) return undefined;
        const ready = (g: string) => s.workers.filter((w) => w.group === g && ['idle', 'busy'].includes(w.state)).length;
        return ready('a') === 2 && ready('b') === 1 && ready('c') === 1 && e.workerPids().length === C ? s.master.pid : undefined;
      },
      { what: 'one new master with every group ready', timeoutMs: slow(40_000) },
    );
    const recoveryMs = Date.now() - t0;
    await e.waitAllDone(ids, 60_000 * SCALE);
    const max = sampler.stop();
    expect(max).toBeLessThanOrEqual(C + 1);
    expect(killed.length).toBeGreaterThan(0);
    const res = await e.finish(suite.r, { ids, recoveryMs, recoveryWhat: 'HUP → one master with every group ready', notes: [`killed ${killed.join(', ')}; peak ${max} workers`] });
    expectClean(res);
    expect(alive(oldMaster)).toBe(false);
    expect(alive(master)).toBe(false);
  });
});
