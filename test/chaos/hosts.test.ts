import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { slow } from '../helpers/slowness.js';
import { pollUntil } from '../helpers/wait.js';
import { chaosSuite, expectClean, rng, SCALE, seedOf, since, type ChaosConf, type ChaosEnv } from './harness.js';

// Chaos scenario 9 (issue 10, item 24): two hosts on one Redis. Each chain runs in its own UTS
// namespace with its own host name (so its workers' Resque ids say so), both on this suite's
// redis-server and namespace. Host B's whole tree dies with kill -9 while its workers hold jobs;
// host A's workers — the only ones left, on another "host", with no way to check B's pids — must
// put every one of B's in-flight jobs back within B's owner-lock lifetime (plus the janitor's
// period and a small margin), remove B's registrations, and leave A's own alone.

const suite = chaosSuite();

/** Why: the scenario needs `unshare --uts` (root or CAP_SYS_ADMIN); say why it cannot run instead of failing. */
function utsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for unshare --uts (the two hosts are UTS namespaces)';
  const probe = spawnSync('unshare', ['--uts', 'sh', '-c', 'hostname baton-probe && hostname'], { encoding: 'utf8' });
  if (probe.error) return `unshare is not available (${probe.error.message})`;
  if (probe.status !== 0 || probe.stdout.trim() !== 'baton-probe') return `unshare --uts does not work here (exit ${probe.status}: ${probe.stderr.trim()})`;
  return undefined;
}
const unavailable = utsUnavailable();

/** Runs the rest of the command line as `host` (a new UTS namespace; the process tree is unchanged: it execs). */
const asHost = (host: string) => ['unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', host];

/** Resque ids (`resque:workers`) registered under `host`. */
async function workerIdsOf(r: Redis, e: ChaosEnv, host: string): Promise<string[]> {
  return (await r.smembers(`${e.ns}:workers`)).filter((id) => id.startsWith(`${host}:`)).sort();
}

/** Every Redis record of a worker id: registrations, in-flight list, owner lock, heartbeat. */
async function recordsOf(r: Redis, e: ChaosEnv, ids: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const id of ids) {
    const [inWorkers, inBaton, hb, worker, inflight, lock] = await Promise.all([
      r.sismember(`${e.ns}:workers`, id),
      r.sismember(`${e.ns}:baton:workers`, id),
      r.hexists(`${e.ns}:workers:heartbeat`, id),
      r.exists(`${e.ns}:worker:${id}`),
      r.exists(`${e.ns}:baton:inflight:${id}`),
      r.exists(`${e.ns}:baton:lock:${id}`),
    ]);
    if (inWorkers) left.push(`workers ∋ ${id}`);
    if (inBaton) left.push(`baton:workers ∋ ${id}`);
    if (hb) left.push(`heartbeat ${id}`);
    if (worker) left.push(`worker:${id}`);
    if (inflight) left.push(`baton:inflight:${id}`);
    if (lock) left.push(`baton:lock:${id}`);
  }
  return left;
}

/** The job ids in a slot's in-flight list (pairs of queue, payload). */
async function inFlightIds(r: Redis, e: ChaosEnv, id: string): Promise<string[]> {
  const list = await r.lrange(`${e.ns}:baton:inflight:${id}`, 0, -1);
  return list.filter((_, i) => i % 2 === 1).map((raw) => (JSON.parse(raw) as { args: [string] }).args[0]);
}

describe('chaos: two hosts, one Redis', () => {
  it(
    "9. kill -9 of host B's whole tree while its workers hold jobs: host A puts them back within lockTimeout, removes B's records, leaves its own alone",
    { timeout: slow(90_000 * SCALE) },
    async (ctx) => {
      if (unavailable !== undefined) {
        console.warn(`chaos 9 (two hosts, one Redis) skipped: ${unavailable}`);
        return ctx.skip(unavailable);
      }
      const seed = seedOf(9);
      const R = rng(seed);
      const C = 2;
      const lockTimeout = 2; // s: B's locks lapse at most this long after B's last renewal
      const conf: ChaosConf = { concurrency: C, lockTimeout };
      const tag = randomUUID().slice(0, 6);
      const hostA = `chaos-a-${tag}`;
      const hostB = `chaos-b-${tag}`;
      const a = suite.setup('9 two hosts: kill -9 host B', seed, conf);
      const b = suite.peer(a, { name: 'hostB', conf });
      // Jobs long enough that every worker holds one at any moment, short enough to keep flowing.
      const ids = await a.enqueue(suite.r, 100 * SCALE, () => R.int(200, 600));
      const ssA = await a.startChain([], asHost(hostA));
      const ssB = await b.startChain([], asHost(hostB));
      const bWorkers = b.workerPids();
      const aWorkers = a.workerPids();
      expect(bWorkers).toHaveLength(C);
      expect(aWorkers).toHaveLength(C);
      const idsA = await pollUntil(async () => ((await workerIdsOf(suite.r, a, hostA)).length === C ? await workerIdsOf(suite.r, a, hostA) : undefined), {
        what: `host A's ${C} workers registered as ${hostA}`,
        timeoutMs: slow(10_000),
      });
      const idsB = await pollUntil(async () => ((await workerIdsOf(suite.r, a, hostB)).length === C ? await workerIdsOf(suite.r, a, hostB) : undefined), {
        what: `host B's ${C} workers registered as ${hostB}`,
        timeoutMs: slow(10_000),
      });
      expect(idsB.every((id) => bWorkers.some((p) => id.startsWith(`${hostB}:${p}:`)))).toBe(true);

      // Kill when both hosts have done some work and every one of B's workers holds a job.
      await pollUntil(() => a.doneCounts().size >= R.int(10, 30), { what: 'jobs to progress', timeoutMs: slow(20_000) });
      await pollUntil(async () => (await Promise.all(idsB.map((id) => inFlightIds(suite.r, a, id)))).every((l) => l.length > 0), {
        what: "every one of host B's workers to hold a job",
        timeoutMs: slow(20_000),
        intervalMs: 5,
      });
      const markA = since(ssA);
      // Host B's power cut: start-server, master and workers, all at once (and anything they start meanwhile).
      let killedAt = 0;
      for (let round = 0; round < 10; round++) {
        const tree = b.treePids();
        if (tree.length === 0) break;
        for (const pid of tree) process.kill(pid, 'SIGKILL');
        if (round === 0) killedAt = Date.now();
      }
      expect(await b.orphansAfter(5000)).toBe(0);
      // (Its exit, not /proc: an exiting process's environ is unreadable before it is a zombie.)
      expect((await ssB.waitForExit({ timeoutMs: slow(5000) })).signal).toBe('SIGKILL');
      // What B held when it died, read from Redis right after (nobody can have touched it yet: B's
      // locks outlive the kill by at least 2/3 of lockTimeout).
      const heldByB = (await Promise.all(idsB.map((id) => inFlightIds(suite.r, a, id)))).flat();
      expect(heldByB.length).toBeGreaterThanOrEqual(C);
      const heldByA = new Map<string, number>();
      for (const pid of aWorkers) for (const id of a.inFlight(pid)) heldByA.set(id, pid);

      // A's janitor puts them back: B's in-flight lists gone, every record of B's ids gone.
      // Bound: B's locks lapse within lockTimeout of the kill; A's janitor looks every lockTimeout/2.
      const janitorPeriodMs = (lockTimeout * 1000) / 2;
      const boundMs = lockTimeout * 1000 + janitorPeriodMs + slow(500);
      let aRegisteredThroughout = true;
      let leftOfB: string[] = [];
      await pollUntil(
        async () => {
          if ((await workerIdsOf(suite.r, a, hostA)).join() !== idsA.join()) aRegisteredThroughout = false;
          leftOfB = await recordsOf(suite.r, a, idsB);
          return leftOfB.length === 0;
        },
        { what: `host A to recover host B's workers ${idsB.join(', ')}`, timeoutMs: boundMs + slow(20_000), intervalMs: 20 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}; left of B: ${leftOfB.join(', ')}\n--- host A ---\n${ssA.output.slice(markA.from)}`);
      });
      const recoveryMs = Date.now() - killedAt;

      await a.waitAllDone(ids, 60_000 * SCALE);
      const ex = a.executions();
      // Every job B held was started again by one of A's workers after the kill, and finished.
      const rerun = heldByB.map((id) => ex.find((x) => x.what === 'start' && x.id === id && x.t >= killedAt && aWorkers.includes(x.pid)));
      const recoveredLines = [...ssA.output.slice(markA.from).matchAll(/recovered dead worker (\S+): (\d+) job\(s\) back/g)].map((m) => m[1]!);
      const res = await a.finish(suite.r, {
        ids,
        recoveryMs,
        recoveryWhat: "kill -9 of host B → host A removed B's records, its jobs back",
        notes: [`B held ${heldByB.length} job(s); A recovered ${recoveredLines.length} slot(s); bound ${boundMs} ms`],
      });
      expectClean(res);
      expect(rerun.filter((x) => x === undefined), `B's jobs not rerun by A: ${heldByB.join(',')}`).toEqual([]);
      expect(recoveryMs, `put back ${recoveryMs} ms after the kill; bound lockTimeout + janitor period + margin = ${boundMs} ms`).toBeLessThanOrEqual(boundMs);
      // A never touched its own: same workers alive until the stop, registered throughout, no
      // own slot recovered or re-registered, every job it held at the kill done once, by itself.
      expect(aRegisteredThroughout).toBe(true);
      expect(recoveredLines.every((id) => id.startsWith(`${hostB}:`)), recoveredLines.join(', ')).toBe(true);
      expect([...new Set(recoveredLines)].sort()).toEqual(idsB);
      expect(ssA.output).not.toMatch(/had lost its owner lock|renewed no lock/);
      for (const [id, pid] of heldByA) {
        const runs = ex.filter((x) => x.id === id && x.what === 'done');
        expect(runs.map((x) => x.pid), `A's job ${id}`).toEqual([pid]);
      }
      expect(res.duplicates).toBe(0);
    },
  );
});
