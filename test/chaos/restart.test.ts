import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, spawnNode, type Spawned } from '../helpers/spawn.js';
import { slow } from '../helpers/slowness.js';
import { pollUntil } from '../helpers/wait.js';
import { ALARMS, alive, type ChaosConf, ChaosEnv, chaosSuite, expectClean, rng, sampleWorkers, SCALE, seedOf, since } from './harness.js';

// Chaos scenarios 2, 4 and 5 (issue 5): processes killed with -9 in the middle of a rolling
// restart, HUP and mixed signal storms, new generations that cannot start.

const suite = chaosSuite();
const setup = suite.setup;
const pause = (ms: number) => new Promise((res) => setTimeout(res, ms)); // fault pacing only, never to wait for a state

/** Masters alive in the env's tree (not start-server, not workers, not spares waiting for a slot). */
function masters(e: ChaosEnv, ss: Spawned): number[] {
  const workers = new Set([...e.workerPids(), ...e.idleSparePids()]);
  return e.treePids().filter((p) => p !== ss.pid && !workers.has(p));
}

/** One master left, with exactly C ready workers and no other worker alive. */
async function settled(e: ChaosEnv, ss: Spawned, C: number, timeoutMs = 30_000): Promise<number> {
  let seen = '';
  return await pollUntil(
    () => {
      const ms = masters(e, ss);
      const s = e.statusFileJson();
      // What the last look found, for the timeout message (a stuck hand-off shows here).
      seen = `masters ${ms.join(',')}, workers ${e.workerPids().join(',')}, status ${JSON.stringify(s && { master: s.master.pid, workers: s.workers.map((w) => `${w.slot}:${w.pid}:${w.state}`), olds: s.oldMasters })}`;
      if (ms.length !== 1 || !s || s.master.pid !== ms[0]) return undefined;
      const ready = s.workers.filter((w) => ['idle', 'busy', 'paused'].includes(w.state)).length;
      return ready === C && s.workers.length === C && e.workerPids().length === C ? ms[0] : undefined;
    },
    { what: `one master with ${C} ready workers`, timeoutMs: slow(timeoutMs) },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${seen}`);
  });
}

const progress = (e: ChaosEnv, n: number) => pollUntil(() => e.doneCounts().size >= n, { what: `${n} jobs done`, timeoutMs: slow(20_000) });

describe('chaos: rolling restarts under fire', () => {
  for (const victim of ['old master', 'new master', 'start-server'] as const) {
    it(`2. kill -9 of the ${victim} in the middle of a rolling restart: nothing lost, nothing orphaned`, { timeout: slow(90_000 * SCALE) }, async () => {
      const seed = seedOf(20 + ['old master', 'new master', 'start-server'].indexOf(victim));
      const R = rng(seed);
      const C = 3;
      const e = setup(`2 kill -9 ${victim} mid-rollout`, seed, { concurrency: C });
      // Jobs long enough (each old worker's tail 150–300 ms) that the rollout is still under way
      // when the test, having read the first new worker's ready line, kills its victim: with
      // 20–80 ms jobs a warm spare finished all three slots in ~200 ms, before the kill.
      const ids = await e.enqueue(suite.r, 120 * SCALE, () => R.int(150, 300));
      const ss = await e.startChain();
      const oldMaster = e.masterPid()!;
      await progress(e, 12);
      const mark = since(ss);
      process.kill(ss.pid, 'SIGHUP');
      const newMaster = Number((await ss.waitForLine(/master (\d+) starting \d+ worker\(s\).*generation 2/, { ...mark, timeoutMs: slow(10_000) }))[1]);
      // Mid-rollout: the first new worker is up and an old one is being retired.
      await ss.waitForLine(/worker\[0\] \d+ ready in \d+ ms; asked old master \d+ to retire/, { ...mark, timeoutMs: slow(20_000) });
      const victimPid = victim === 'old master' ? oldMaster : victim === 'new master' ? newMaster : ss.pid;
      if (victim !== 'start-server') e.expectAlarm(ALARMS.generationKilled(victimPid), `the test kills the ${victim} with -9`);
      process.kill(victimPid, 'SIGKILL');
      const killedAt = Date.now();
      let recoveryMs: number;
      let recoveryWhat: string;
      let orphans = 0;
      if (victim === 'start-server') {
        // Nobody supervises the masters any more: they must notice, finish their jobs and exit.
        orphans = await e.orphansAfter(30_000);
        // The new master says so; the old one too, unless its last worker retired first (then it
        // exits as a replaced master does): either way both are gone below.
        expect(ss.count(/start-server \d+ is gone \(our parent is now \d+\): graceful shutdown/)).toBeGreaterThanOrEqual(1);
        recoveryMs = Date.now() - killedAt;
        recoveryWhat = 'kill → every master and worker exited by itself';
        // What an init system does next: start the chain again; it finishes the rest.
        await e.startChain();
      } else {
        await settled(e, ss, C, 40_000);
        recoveryMs = Date.now() - killedAt;
        recoveryWhat = 'kill → one master with C ready workers again';
      }
      await e.waitAllDone(ids, 60_000 * SCALE);
      const res = await e.finish(suite.r, { ids, recoveryMs, recoveryWhat, orphans });
      expectClean(res);
      expect(alive(oldMaster)).toBe(false);
      expect(alive(newMaster)).toBe(false);
    });
  }

  it('2d. kill -9 of workers of both generations during a rolling restart: the rollout completes, nothing lost', { timeout: slow(90_000 * SCALE) }, async () => {
    const seed = seedOf(24);
    const R = rng(seed);
    const C = 3;
    const e = setup('2d kill -9 workers mid-rollout', seed, { concurrency: C });
    e.expectAlarm(ALARMS.workerKilled, 'the test kills workers of both generations with -9');
    const ids = await e.enqueue(suite.r, 300 * SCALE, () => R.int(20, 80));
    const ss = await e.startChain();
    const oldMaster = e.masterPid()!;
    await progress(e, 30);
    const killed: number[] = [];
    let recoveryMs = 0;
    for (let round = 0; round < SCALE; round++) {
      const mark = since(ss);
      const t0 = Date.now();
      process.kill(ss.pid, 'SIGHUP');
      let from = mark.from;
      for (let i = 0; i < 2; i++) {
        // Each kill right after the next new worker retired an old one. (A rollout whose new
        // worker dies before ready is aborted and retried by start-server: it goes on the same way.)
        const hit = await ss.waitForLine(/ready in \d+ ms; asked old master \d+ to retire/, { from, timeoutMs: slow(20_000) });
        from += (hit.index ?? 0) + hit[0].length;
        // A worker picked may exit by itself before the kill (an old one retiring): pick again.
        const pid = await pollUntil(
          () => {
            const pids = e.workerPids();
            if (pids.length === 0) return undefined;
            const p = R.pick(pids);
            try {
              process.kill(p, 'SIGKILL');
              return p;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
              throw err;
            }
          },
          { what: 'a live worker killed' },
        );
        killed.push(pid);
      }
      await settled(e, ss, C, 40_000);
      recoveryMs = Math.max(recoveryMs, Date.now() - t0);
    }
    await e.waitAllDone(ids, 60_000 * SCALE);
    const res = await e.finish(suite.r, { ids, recoveryMs, recoveryWhat: 'HUP → one master with C ready workers (max)', notes: [`${SCALE} rollout(s), killed ${killed.length} workers`] });
    expectClean(res);
    expect(alive(oldMaster)).toBe(false);
  });

  it('4a. a HUP storm (several HUPs within a second): never more than C+1 workers, one master left, nothing lost', { timeout: slow(90_000 * SCALE) }, async () => {
    const seed = seedOf(41);
    const R = rng(seed);
    const C = 3;
    const e = setup('4a HUP storm', seed, { concurrency: C });
    const ids = await e.enqueue(suite.r, 400 * SCALE, () => R.int(10, 60));
    const ss = await e.startChain();
    await progress(e, 20);
    const sampler = sampleWorkers(e, 5);
    const storms = SCALE;
    let hups = 0;
    let recoveryMs = 0;
    for (let s = 0; s < storms; s++) {
      for (let i = 0; i < 6; i++, hups++) {
        process.kill(ss.pid, 'SIGHUP');
        if (i < 5) await pause(R.int(20, 180));
      }
      const lastHup = Date.now();
      await settled(e, ss, C, 60_000);
      recoveryMs = Math.max(recoveryMs, Date.now() - lastHup);
    }
    const peak = sampler.stop();
    await e.waitAllDone(ids, 60_000 * SCALE);
    const res = await e.finish(suite.r, { ids, recoveryMs, recoveryWhat: 'last HUP of a storm → one master with C ready workers (max)', notes: [`${storms} storm(s), ${hups} HUPs, peak ${peak} workers`] });
    expectClean(res);
    expect(peak).toBeLessThanOrEqual(C + 1);
  });

  it('4b. mixed signal storms (TTIN/TTOU/USR2/CONT/HUP): the chain settles, every job is done', { timeout: slow(90_000 * SCALE) }, async () => {
    const seed = seedOf(42);
    const R = rng(seed);
    const C = 3;
    const e = setup('4b mixed signal storm', seed, { concurrency: C });
    const ids = await e.enqueue(suite.r, 400 * SCALE, () => R.int(5, 40));
    const ss = await e.startChain();
    await progress(e, 20);
    const sent: string[] = [];
    for (let i = 0; i < 30 * SCALE; i++) {
      const sig = R.pick(['SIGTTIN', 'SIGTTOU', 'SIGUSR2', 'SIGCONT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU'] as const);
      const target = sig === 'SIGHUP' ? ss.pid : e.masterPid();
      if (target !== undefined && alive(target)) {
        process.kill(target, sig);
        sent.push(sig.slice(3));
      }
      await pause(R.int(5, 120));
    }
    // The operator's way back to a known state: resume and scale to C (exact, unlike TTIN/TTOU).
    const t0 = Date.now();
    const master = await pollUntil(() => {
      const ms = masters(e, ss);
      return ms.length === 1 ? ms[0] : undefined;
    }, { what: 'the storm to leave one master', timeoutMs: slow(40_000) });
    process.kill(master, 'SIGCONT');
    const scale = spawnNode(BIN.resqueStarter, ['scale', String(C), '-c', e.conf], { env: e.env(), label: 'resque-starter scale' });
    expect((await scale.waitForExit({ timeoutMs: slow(15_000) })).code, scale.output).toBe(0);
    await settled(e, ss, C, 40_000);
    const recoveryMs = Date.now() - t0;
    await e.waitAllDone(ids, 60_000 * SCALE);
    const res = await e.finish(suite.r, { ids, recoveryMs, recoveryWhat: 'CONT + scale C → one master with C ready workers', notes: [`${sent.length} signals: ${sent.join(' ')}`] });
    expectClean(res);
  });

  const badGenerations: Array<{ name: string; make: (e: ChaosEnv) => void; fix: (e: ChaosEnv, c: ChaosConf) => void; failure: RegExp; alarms: Array<[RegExp, string]> }> = [
    // (A broken config fails before or after start-server's --interval, depending on load: either
    // way the new master exits with the config error and the old generation keeps serving.)
    { name: 'whose config is broken', make: (e: ChaosEnv) => e.breakConf(), fix: (e: ChaosEnv, c: ChaosConf) => e.writeConf(c), failure: /config error: .*conf\.ts:3:\d+: syntax error/, alarms: [[ALARMS.generationExit(78), 'the broken generation exits 78']] },
    { name: 'whose workers crash at start', make: (e: ChaosEnv) => writeFileSync(join(e.dir, 'crash'), ''), fix: (e: ChaosEnv) => rmSync(join(e.dir, 'crash')), failure: /rolling restart aborted: new worker\[0\] failed \(it exited before it was ready/, alarms: [[ALARMS.workerCrashedAtStart(3), 'its workers exit 3 at start'], [ALARMS.rolloutAborted, 'the rollout stops'], [ALARMS.generationExit(3), 'the new master gives up: exit 3']] },
    { name: 'whose workers hang before ready', make: (e: ChaosEnv) => writeFileSync(join(e.dir, 'hang'), ''), fix: (e: ChaosEnv) => rmSync(join(e.dir, 'hang')), failure: /rolling restart aborted: new worker\[0\] failed \(it was not ready within readyTimeout/, alarms: [[ALARMS.workerNotReady, 'its workers hang'], [ALARMS.notReadyKilled, 'the hung worker is killed'], [ALARMS.rolloutAborted, 'the rollout stops'], [ALARMS.generationExit(3), 'the new master gives up: exit 3']] },
  ];
  for (const [i, bad] of badGenerations.entries()) {
    it(`5${'abc'[i]}. a new generation ${bad.name}: the old one keeps serving; fixed, the next HUP rolls`, { timeout: slow(90_000 * SCALE) }, async () => {
      const seed = seedOf(51 + i);
      const R = rng(seed);
      const C = 3;
      const e = setup(`5${'abc'[i]} new generation ${bad.name}`, seed, { concurrency: C });
      for (const [pattern, why] of bad.alarms) e.expectAlarm(pattern, why);
      // Worker-only trouble, switched by files in the env's directory (the master loads the same
      // config and must not see it).
      const conf: ChaosConf = {
        concurrency: C,
        readyTimeout: 2,
        prelude: `import { existsSync } from 'node:fs';
const HANG = ${JSON.stringify(join(e.dir, 'hang'))};
if (process.env.RESQUE_STARTER_SLOT && existsSync(${JSON.stringify(join(e.dir, 'crash'))})) process.exit(3);`,
        extra: `afterFork: async (w) => { if (existsSync(HANG)) await new Promise(() => undefined); w.retireOldWorker(); },`,
      };
      e.writeConf(conf);
      const ids = await e.enqueue(suite.r, 300 * SCALE, () => R.int(20, 60));
      const ss = await e.startChain();
      const oldMaster = e.masterPid()!;
      const oldWorkers = e.workerPids();
      await progress(e, 20);

      bad.make(e);
      const mark = since(ss);
      process.kill(ss.pid, 'SIGHUP');
      await ss.waitForLine(bad.failure, { ...mark, timeoutMs: slow(30_000) });
      // The old generation keeps serving: same master, its workers back to C, jobs still done.
      const before = e.doneCounts().size;
      await pollUntil(() => e.doneCounts().size >= Math.min(before + 20, ids.length), { what: 'the old generation to keep doing jobs', timeoutMs: slow(20_000) });
      expect(alive(oldMaster)).toBe(true);
      expect(oldWorkers.filter((p) => alive(p)).length).toBeGreaterThanOrEqual(C - 1);

      bad.fix(e, conf);
      const t0 = Date.now();
      const mark2 = since(ss);
      process.kill(ss.pid, 'SIGHUP');
      await ss.waitForLine(/rolling restart done/, { ...mark2, timeoutMs: slow(40_000) });
      await settled(e, ss, C, 30_000);
      const recoveryMs = Date.now() - t0;
      expect(alive(oldMaster)).toBe(false);
      await e.waitAllDone(ids, 60_000 * SCALE);
      const res = await e.finish(suite.r, { ids, recoveryMs, recoveryWhat: 'fixed, HUP → one master with C new ready workers' });
      expectClean(res);
      expect(existsSync(join(e.dir, 'crash'))).toBe(false);
    });
  }
});
