import { describe, expect, it } from 'vitest';
import { slow } from '../helpers/slowness.js';
import { pollUntil } from '../helpers/wait.js';
import { ALARMS, chaosSuite, expectClean, rng, SCALE, seedOf, since } from './harness.js';

// Chaos scenarios 1, 6 and 8 (issues 5 and 10): workers killed with -9 at random, poison payloads,
// a worker frozen past its owner lock. Each has a fixed seed; CHAOS_SCALE makes it longer.

const suite = chaosSuite();
const setup = suite.setup;


describe('chaos: workers', () => {
  it('1. kill -9 of random workers, again and again, while thousands of jobs run: nothing lost', { timeout: slow(90_000 * SCALE) }, async () => {
    const seed = seedOf(1);
    const R = rng(seed);
    const C = 4;
    const e = setup('1 kill -9 workers', seed, { concurrency: C });
    e.expectAlarm(ALARMS.workerKilled, 'the test kills workers with -9');
    const ids = await e.enqueue(suite.r, 2500 * SCALE, () => R.int(0, 6));
    const ss = await e.startChain();

    const kills: Array<{ pid: number; at: number; inFlight: string[] }> = [];
    for (let k = 0; k < 8 * SCALE; k++) {
      // Fault timing by progress, not by the clock: kill after another 40–160 jobs are done.
      const target = e.doneCounts().size + R.int(40, 160);
      await pollUntil(() => e.doneCounts().size >= Math.min(target, ids.length - 200) && e.workerPids().length > 0, {
        what: 'jobs to progress before the next kill',
        timeoutMs: slow(20_000),
      });
      if (e.doneCounts().size >= ids.length - 200) break;
      const pid = R.pick(e.workerPids());
      process.kill(pid, 'SIGKILL');
      kills.push({ pid, at: Date.now(), inFlight: e.inFlight(pid) });
    }
    await e.waitAllDone(ids, 60_000 * SCALE);

    // Recovery: from the kill to the moment the job the killed worker had in flight was done by another.
    const ex = e.executions();
    const recoveries = kills.flatMap((k) =>
      k.inFlight.flatMap((id) => {
        const redone = ex.find((x) => x.what === 'done' && x.id === id && x.pid !== k.pid && x.t >= k.at);
        return redone ? [redone.t - k.at] : [];
      }),
    );
    const res = await e.finish(suite.r, {
      ids,
      recoveryMs: recoveries.length ? Math.max(...recoveries) : undefined,
      recoveryWhat: 'kill → its in-flight job done by another worker (max)',
      notes: [`${kills.length} kills`],
    });
    expectClean(res);
    expect(kills.length).toBeGreaterThanOrEqual(4);
    expect(ss.count(/died (before it was ready )?\(killed by SIGKILL/)).toBeGreaterThanOrEqual(kills.length);
  });

  it('1d. kill -9 of workers running prefetched batches of sub-millisecond jobs: every batch comes back', { timeout: slow(90_000 * SCALE) }, async () => {
    const seed = seedOf(14);
    const R = rng(seed);
    const C = 3;
    const e = setup('1d kill -9 prefetching workers', seed, { concurrency: C });
    e.expectAlarm(ALARMS.workerKilled, 'the test kills workers with -9');
    // ms 0: the jobs average well under 1 ms, so each worker reserves batches of up to 16.
    const ids = await e.enqueue(suite.r, 12_000 * SCALE, () => 0);
    const ss = await e.startChain();
    let kills = 0;
    for (let k = 0; k < 8 * SCALE; k++) {
      const target = e.doneCounts().size + R.int(100, 400);
      await pollUntil(() => e.doneCounts().size >= Math.min(target, ids.length - 2000) && e.workerPids().length > 0, {
        what: 'jobs to progress before the next kill',
        timeoutMs: slow(20_000),
      });
      if (e.doneCounts().size >= ids.length - 2000) break;
      process.kill(R.pick(e.workerPids()), 'SIGKILL');
      kills++;
    }
    await e.waitAllDone(ids, 60_000 * SCALE);
    // What the master put back for each dead worker: more than one job is a batch. (The last
    // put-back can be logged after the last job is done, on a loaded host: wait for the line.)
    const batches = () => [...ss.output.matchAll(/put (\d+) in-flight job\(s\) of dead worker/g)].map((m) => Number(m[1]));
    await pollUntil(() => Math.max(0, ...batches()) > 1, { what: 'the master to put a whole batch (> 1 job) of a dead worker back', timeoutMs: slow(10_000) }).catch(() => undefined);
    const back = batches();
    const res = await e.finish(suite.r, { ids, recoveryWhat: '—', notes: [`${kills} kills, recovered ${back.join('/')} job(s)`] });
    expectClean(res);
    expect(kills).toBeGreaterThanOrEqual(4);
    expect(Math.max(0, ...back)).toBeGreaterThan(1);
  });

  it('1b. kill -9 of workers running several jobs each (jobConcurrency 3): the job of every slot comes back', { timeout: slow(90_000 * SCALE) }, async () => {
    const seed = seedOf(11);
    const R = rng(seed);
    const C = 2;
    const e = setup('1b kill -9 multi-slot workers', seed, { concurrency: C, extra: 'jobConcurrency: 3,' });
    e.expectAlarm(ALARMS.workerKilled, 'the test kills workers with -9');
    const ids = await e.enqueue(suite.r, 1500 * SCALE, () => R.int(5, 25));
    const ss = await e.startChain();
    let kills = 0;
    let inFlightAtKills = 0;
    for (let k = 0; k < 5 * SCALE; k++) {
      const target = e.doneCounts().size + R.int(60, 200);
      await pollUntil(() => e.doneCounts().size >= Math.min(target, ids.length - 150) && e.workerPids().length > 0, { what: 'progress', timeoutMs: slow(20_000) });
      if (e.doneCounts().size >= ids.length - 150) break;
      const pid = R.pick(e.workerPids());
      process.kill(pid, 'SIGKILL');
      inFlightAtKills += e.inFlight(pid).length;
      kills++;
    }
    await e.waitAllDone(ids, 60_000 * SCALE);
    const res = await e.finish(suite.r, { ids, recoveryMs: undefined, recoveryWhat: '—', notes: [`${kills} kills, ${inFlightAtKills} jobs in flight in the killed processes`] });
    expectClean(res);
    expect(inFlightAtKills).toBeGreaterThan(kills); // several slots' jobs per killed process came back
  });

  it('1c. kill -9 of the whole tree at once (a power cut): the next start recovers every in-flight job and stale registration', { timeout: slow(90_000 * SCALE) }, async () => {
    const seed = seedOf(12);
    const R = rng(seed);
    const C = 3;
    const e = setup('1c kill -9 the whole tree', seed, { concurrency: C, lockTimeout: 2 });
    const ids = await e.enqueue(suite.r, 600 * SCALE, () => R.int(20, 60));
    const ss = await e.startChain();
    await pollUntil(() => e.doneCounts().size >= R.int(30, 90), { what: 'jobs to progress' });
    const tree = e.treePids();
    for (const pid of tree) process.kill(pid, 'SIGKILL');
    const cutAt = Date.now();
    expect(await e.orphansAfter(5000)).toBe(0);
    // Right after the cut: the dead workers are still registered and hold their jobs.
    const held = (await suite.r.keys(`${e.ns}:baton:inflight:*`)).length;
    expect((await suite.r.smembers(`${e.ns}:workers`)).length).toBe(C);
    // The next start (the pid files are stale now) cleans up once the owner locks have lapsed.
    const ss2 = e.chain();
    await ss2.waitForLine(/recovered dead worker/, { timeoutMs: slow(20_000) });
    const recovered = Date.now() - cutAt;
    await e.waitAllDone(ids, 60_000 * SCALE);
    const res = await e.finish(suite.r, { ids, recoveryMs: recovered, recoveryWhat: 'cut → first dead worker recovered by the next start (lock 2 s)', notes: [`${tree.length} processes killed, ${held} jobs in flight`] });
    expectClean(res);
    expect(held).toBeGreaterThan(0);
  });

  it('6. poison payloads among good jobs: each bad one ends in failed, the good ones all run', { timeout: slow(60_000 * SCALE) }, async () => {
    const seed = seedOf(6);
    const R = rng(seed);
    const e = setup('6 poison payloads', seed, { concurrency: 3, extra: 'maxRecoveries: 2,' });
    e.expectAlarm(ALARMS.workerKilled, 'the Kill jobs kill their own worker');
    // The job lines of the poison that fails in the job's own checks: a warn naming the TypeError, not an alarm of the process.
    e.expectAlarm(/\[warn\] \[worker\[\d+\]\] job \S+ on chaos failed in [\d.]+ ms \(attempt \d+, id \w+\): TypeError: (?:args of Chaos must be an array|job payload is not a JSON object)/, 'poison payloads fail as jobs, with a TypeError');
    const good = Array.from({ length: 300 * SCALE }, (_, i) => `g${i}`);
    const poison = [
      'not json{',
      JSON.stringify({ class: 'NoSuchJob', args: ['p-unknown'] }),
      JSON.stringify({ class: 'Chaos', args: 'p-notarray' }),
      JSON.stringify({ class: 'Fail', args: ['p-fail'] }),
      JSON.stringify({ class: 'Kill', args: ['p-kill'] }),
      '[1,2,3]',
    ];
    // The poison goes among the good jobs at seeded places.
    const raws = good.map((id) => JSON.stringify({ class: 'Chaos', args: [id, R.int(0, 3)] }));
    for (const p of poison) raws.splice(R.int(0, raws.length), 0, p);
    await e.pushRaw(suite.r, raws);
    const ss = e.chain();
    await e.waitAllDone(good, 60_000 * SCALE);
    await pollUntil(async () => (await suite.r.llen(`${e.ns}:failed`)) >= poison.length, { what: 'every poison payload in failed', timeoutMs: slow(30_000) });
    const res = await e.finish(suite.r, {
      ids: good,
      expectFailed: ['raw:not json{', 'p-unknown', 'raw:{"class":"Chaos","args":"p-notarray"}', 'p-fail', 'p-kill', 'raw:[1,2,3]'],
      recoveryMs: undefined,
      recoveryWhat: '—',
      notes: [`${ss.count(/died (before it was ready )?\(killed by SIGKILL/)} workers killed by the Kill job`],
    });
    expectClean(res);
    // The job that kills its worker every time was given maxRecoveries (2) more tries, then failed.
    expect(ss.count(/died (before it was ready )?\(killed by SIGKILL/)).toBe(3);
  });

  /** Scenario 8: the long job's runs once the frozen worker (master alive) is woken. */
  async function frozenWhileMasterAlive(name: string): Promise<{ frozen: number; runs: string[] }> {
    const seed = seedOf(8);
    const R = rng(seed);
    const L = 1; // s
    const e = setup(name, seed, { concurrency: 2, lockTimeout: L });
    const long = await e.enqueue(suite.r, 1, () => 2500, 'long');
    const short = await e.enqueue(suite.r, 200 * SCALE, () => R.int(2, 8), 's');
    const ss = e.chain();
    const started = await pollUntil(() => e.executions().find((x) => x.what === 'start' && x.id === 'long0'), { what: 'the long job to start', timeoutMs: slow(20_000) });
    const frozen = started.pid;
    process.kill(frozen, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      // The master holds a live worker's lease (SIGNALS.md, "leases"): for 3 lock lifetimes (6 of
      // the other worker's janitor passes) and until the other worker has done every short job,
      // nobody takes the long job over.
      await pollUntil(() => Date.now() - stoppedAt >= 3 * L * 1000 && short.every((id) => e.doneCounts().has(id)), {
        what: 'the other worker to finish the short jobs, 3 lock lifetimes after the freeze',
        timeoutMs: slow(30_000 * SCALE),
      });
      expect(e.executions().filter((x) => x.id === 'long0' && x.pid !== frozen)).toEqual([]);
      expect(ss.output).not.toMatch(/recovered dead worker/);
      process.kill(frozen, 'SIGCONT');
      await e.waitAllDone(long, 30_000);
      // Done once, by the worker that started it (8c); nothing lost, nothing run twice.
      expect(e.executions().filter((x) => x.id === 'long0' && x.what === 'done')).toHaveLength(1);
      // The run's line is written inside the job; the ack that counts it in stat:processed follows it.
      await pollUntil(async () => Number(await suite.r.get(`${e.ns}:stat:processed`)) >= long.length + short.length, { what: 'the long job acknowledged', timeoutMs: slow(10_000) });
      expect(Number(await suite.r.get(`${e.ns}:stat:processed`))).toBe(long.length + short.length);
      const res = await e.finish(suite.r, { ids: [...long, ...short], recoveryMs: undefined, recoveryWhat: '— (the frozen worker kept its job)' });
      expectClean(res);
      expect(res.duplicates).toBe(0);
      return { frozen, runs: e.executions().filter((x) => x.id === 'long0').map((x) => `${x.what} ${x.pid}`) };
    } finally {
      try {
        process.kill(frozen, 'SIGCONT');
      } catch {
        // gone
      }
    }
  }

  it('8. a worker frozen (SIGSTOP) while its master is alive keeps its lease: nobody else starts its job while it is frozen; the job is done once', { timeout: slow(60_000 * SCALE) }, async () => {
    await frozenWhileMasterAlive('8 SIGSTOP worker, master alive');
  });

  // Woken, the worker's own renewal timer has not run for longer than lockTimeout; it used to
  // abort the job on its own clock although its master held the lease all along (the job then
  // ran again from the start). It now trusts the master's hold (leasesHeldByMaster) and asks
  // Redis before giving anything up: the job runs once, on the worker that started it.
  it('8c. woken, the frozen worker does not abort and restart the job its master held the lease of', { timeout: slow(60_000 * SCALE) }, async () => {
    const { frozen, runs } = await frozenWhileMasterAlive('8c SIGSTOP worker, master alive: started once');
    expect(runs).toEqual([`start ${frozen}`, `done ${frozen}`]);
  });

  it('8b. a worker and its master frozen (SIGSTOP) past the owner lock: another worker finishes its job; woken, it drops its copy', { timeout: slow(60_000 * SCALE) }, async () => {
    const seed = seedOf(8);
    const R = rng(seed);
    const e = setup('8b SIGSTOP worker + master past the lock', seed, { concurrency: 2, lockTimeout: 1 });
    const long = await e.enqueue(suite.r, 1, () => 2500, 'long');
    const short = await e.enqueue(suite.r, 200 * SCALE, () => R.int(2, 8), 's');
    const ss = e.chain();
    const started = await pollUntil(() => e.executions().find((x) => x.what === 'start' && x.id === 'long0'), { what: 'the long job to start', timeoutMs: slow(20_000) });
    const frozen = started.pid;
    const master = await pollUntil(() => e.masterPid(), { what: 'the master pid file' });
    // Nobody renews the lock any more (the worker's own timer and the master's lease are both stopped).
    process.kill(frozen, 'SIGSTOP');
    process.kill(master, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      const mark = since(ss);
      const taken = await pollUntil(() => e.executions().find((x) => x.what === 'start' && x.id === 'long0' && x.pid !== frozen), {
        what: 'another worker to recover and start the long job',
        timeoutMs: slow(15_000),
      });
      // Not before the lock lapsed: it had between 2/3 and all of its 1 s left when they froze.
      expect(taken.t - stoppedAt).toBeGreaterThanOrEqual(600);
      process.kill(master, 'SIGCONT');
      process.kill(frozen, 'SIGCONT');
      await ss.waitForLine(/recovered by another worker while .* was not renewing its lock; its outcome is dropped/, { ...mark, timeoutMs: slow(10_000) });
      await e.waitAllDone([...long, ...short], 30_000 * SCALE);
      const doneLong = e.executions().filter((x) => x.what === 'done' && x.id === 'long0');
      expect(doneLong.map((x) => x.pid)).toEqual([taken.pid]);
      // Counted once: every job acknowledged exactly once (no kill here, so no duplicate either).
      expect(Number(await suite.r.get(`${e.ns}:stat:processed`))).toBe(long.length + short.length);
      const res = await e.finish(suite.r, {
        ids: [...long, ...short],
        recoveryMs: taken.t - stoppedAt,
        recoveryWhat: 'SIGSTOP of worker + master → job started by another worker (lock 1 s)',
      });
      expectClean(res);
      expect(res.duplicates).toBe(0);
    } finally {
      for (const pid of [master, frozen]) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
    }
  });
});
