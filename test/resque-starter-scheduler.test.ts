// The scheduler inside resque-starter masters (issue 14): one leader across masters on the same
// Redis, every recurring tick enqueued once, delayed jobs moved to a real worker, and the
// leadership passed without a gap longer than the lock's TTL in a rolling restart under
// start-server. Real processes, a private redis-server, log lines as the evidence.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '@baton/resque';
import { BIN, spawnNode, type Spawned } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pollUntil, waitForPidExit } from './helpers/wait.js';
import { useLogAudit } from './helpers/log-audit.js';
import { RS_BIN, RsEnv, rsSuite } from './fixtures/rs-harness.js';
import { readFileSync } from 'node:fs';

const suite = rsSuite();
const audit = useLogAudit();

const TICK_JOB = `
    /** Records when it ran. */
    async Tick(name: string) {
      await rec().rpush(NS + ':rs:ticks', name + ':' + Date.now() + ':' + process.pid);
    },`;

/** A config whose schedule ticks every second; `ns` shares one namespace between two envs. */
function schedEnv(extra = '', ns?: string): RsEnv {
  const e = suite.setup({ concurrency: 1, jobs: TICK_JOB, extra: `schedule: { beat: { every: 1, class: 'Tick', args: ['beat'], queue: 'rs' } }, scheduler: { lockTtl: 2 },\n${extra}` });
  if (ns) {
    (e as { ns: string }).ns = ns;
    e.writeConf({ concurrency: 1, jobs: TICK_JOB, extra: `schedule: { beat: { every: 1, class: 'Tick', args: ['beat'], queue: 'rs' } }, scheduler: { lockTtl: 2 },\n${extra}` });
  }
  return e;
}

/** Every `enqueued beat (…, tick N)` line of the outputs, as tick → how many times. */
function ticksIn(...outputs: string[]): Map<number, number> {
  const seen = new Map<number, number>();
  for (const out of outputs) for (const m of out.matchAll(/scheduler: enqueued beat \(run of [^,]+, tick (\d+)\) on rs/g)) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
  return seen;
}

const status = async (e: RsEnv, extra: string[] = []) => {
  const p = spawnNode(RS_BIN, ['status', '-c', e.conf, ...extra], { label: 'resque-starter status', env: e.env() });
  await p.waitForExit({ timeoutMs: slow(10_000) });
  return p.output;
};

describe('the scheduler in resque-starter masters', { timeout: slow(60_000) }, () => {
  // A CI run once saw ticks 5 s apart across the hand-over (four every-1s runs skipped, none
  // doubled) when the library kept only the latest missed run; it could not be reproduced in 26
  // runs at load up to 20. Missed runs are now caught up (scheduler.catchUp, 60 s), so a slow
  // hand-over on a busy machine delays runs but skips none, which is what this asserts.
  it('two masters on the same Redis: one leads, each tick is enqueued and run once; the other takes over when the leader stops', async () => {
    const a = schedEnv();
    const b = schedEnv('', a.ns);
    const r = suite.redis.client();
    const ma = audit.current.watch(a.master());
    await ma.waitForLine(/scheduler: took the scheduler lock/, { timeoutMs: slow(15_000) });
    const mb = audit.current.watch(b.master());
    await mb.waitForLine(/scheduler on .*: delayed jobs, retries and 1 recurring job/, { timeoutMs: slow(15_000) });
    await pollUntil(async () => JSON.parse(await status(b)).scheduler !== null, { what: "b's status", timeoutMs: slow(15_000) });
    // Status: a leads, b follows.
    expect(JSON.parse(await status(a)).scheduler).toMatchObject({ enabled: true, leader: true, lockTtl: 2, schedule: ['beat'] });
    expect(JSON.parse(await status(b)).scheduler).toMatchObject({ enabled: true, leader: false });
    expect(await status(b, ['--text'])).toMatch(/\n {2}scheduler following \(another master leads\), 1 recurring job\(s\): beat\n/);
    expect(await status(a, ['--text'])).toMatch(/\n {2}scheduler LEADER \(moves delayed jobs and retries, enqueues the schedule\), 1 recurring job\(s\): beat\n/);
    await pollUntil(() => ticksIn(ma.output).size >= 4, { what: '4 ticks led by a', timeoutMs: slow(20_000) });

    // a stops (QUIT): it releases the lock, b takes over at once and the ticks go on.
    const handedAt = ticksIn(ma.output).size;
    ma.kill('SIGQUIT');
    await ma.waitForExit({ timeoutMs: slow(15_000) });
    expect(ma.output).toMatch(/scheduler: released the scheduler lock/);
    await mb.waitForLine(/scheduler: took the scheduler lock/, { timeoutMs: slow(5_000) });
    await pollUntil(() => ticksIn(mb.output).size >= 3, { what: '3 ticks led by b', timeoutMs: slow(20_000) });
    mb.kill('SIGQUIT');
    await mb.waitForExit({ timeoutMs: slow(15_000) });

    // Every tick once across both masters; every enqueued tick ran once (the queue is drained).
    const ticks = ticksIn(ma.output, mb.output);
    expect([...ticks.values()].every((n) => n === 1)).toBe(true);
    expect(ticks.size).toBeGreaterThanOrEqual(handedAt + 3);
    const sorted = [...ticks.keys()].sort((x, y) => x - y);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBe(1000); // no tick skipped in the hand-over
    const ran = await r.lrange(`${a.ns}:rs:ticks`, 0, -1);
    expect(ran.length + (await r.llen(`${a.ns}:queue:rs`))).toBe(ticks.size);
  });

  it('a delayed job enqueued with enqueueIn runs in a worker of the leading master, on time', async () => {
    const e = suite.setup({ concurrency: 1 });
    const m = audit.current.watch(e.master());
    await m.waitForLine(/scheduler: took the scheduler lock/, { timeoutMs: slow(15_000) });
    await m.waitForLine(/worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const q = new Queue({ redis: suite.redis.url, namespace: e.ns });
    try {
      const r = suite.redis.client();
      const at = Date.now() + 1500;
      await q.enqueueAt(at, 'rs', 'Record', 'later', 0);
      expect(await q.delayedCount()).toBe(1);
      await pollUntil(async () => (await r.lrange(`${e.ns}:rs:done`, 0, -1)).length === 1, { what: 'the delayed job done', timeoutMs: slow(15_000) });
      expect(Date.now()).toBeGreaterThanOrEqual(at);
      expect(await q.delayedCount()).toBe(0);
    } finally {
      await q.close();
    }
  });

  it('scheduler.enabled false: the master says so and moves nothing', async () => {
    const e = suite.setup({ concurrency: 0, extra: 'scheduler: { enabled: false },' });
    const m = audit.current.watch(e.master());
    await m.waitForLine(/scheduler off \(`scheduler.enabled: false`\)/, { timeoutMs: slow(15_000) });
    expect(JSON.parse(await status(e)).scheduler).toMatchObject({ enabled: false, leader: false });
    expect(m.output).not.toMatch(/took the scheduler lock/);
  });
});

describe('retries in a real worker', { timeout: slow(60_000) }, () => {
  it('a failing job with retry { limit: 2, backoff: [1, 2] } runs 3 times, 1 s then 2 s apart, then lands in failed with every attempt', async () => {
    const jobs = `
    Flaky: {
      async perform(this: { attempt: number }, id: string) {
        await rec().rpush(NS + ':rs:attempts', id + ':' + this.attempt + ':' + Date.now());
        throw new Error('still broken, attempt ' + this.attempt);
      },
      retry: { limit: 2, backoff: [1, 2] },
    },`;
    const e = suite.setup({ concurrency: 1, jobs });
    const m = audit.current.watch(e.master());
    await m.waitForLine(/worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const r = suite.redis.client();
    await r.sadd(`${e.ns}:queues`, 'rs');
    await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: 'Flaky', args: ['x'] }));
    await pollUntil(async () => (await r.llen(`${e.ns}:failed`)) === 1, { what: 'the job in failed', timeoutMs: slow(20_000) });

    const attempts = (await r.lrange(`${e.ns}:rs:attempts`, 0, -1)).map((l) => l.split(':').map(Number) as [number, number, number]);
    expect(attempts.map((a) => a[1])).toEqual([1, 2, 3]);
    // Measured: each retry waits its backoff (delayed jobs are moved within tens of ms at idle; a busy machine adds more).
    const waits = [attempts[1]![2] - attempts[0]![2], attempts[2]![2] - attempts[1]![2]];
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
    expect(waits[0]).toBeLessThan(slow(2500));
    expect(waits[1]).toBeGreaterThanOrEqual(2000);
    expect(waits[1]).toBeLessThan(slow(3500));
    // The failure record sums up every attempt; the retries were info lines, not errors.
    const record = JSON.parse((await r.lindex(`${e.ns}:failed`, 0))!) as { error: string; backtrace: string[]; payload: { class: string } };
    expect(record.payload.class).toBe('Flaky');
    expect(record.error).toBe('still broken, attempt 3');
    expect(record.backtrace.slice(0, 3).map((l) => l.replace(/ at .* UTC/, ''))).toEqual([
      expect.stringMatching(/^attempt 1 .*still broken, attempt 1/),
      expect.stringMatching(/^attempt 2 .*still broken, attempt 2/),
      expect.stringMatching(/^attempt 3 of 3 failed.*still broken, attempt 3/),
    ]);
    expect(m.output).toMatch(/\[info\] \[worker\[0\]\] job Flaky on rs failed \(attempt 1\): still broken, attempt 1; retry 1 at /);
    expect(m.output).toMatch(/\[info\] \[worker\[0\]\] job Flaky on rs failed \(attempt 2\): still broken, attempt 2; retry 2 at /);
    expect(await r.zcard(`${e.ns}:delayed_queue_schedule`)).toBe(0);
  });
});

describe('the scheduler in a rolling restart under start-server', { timeout: slow(60_000) }, () => {
  it('the old master hands leadership to the new one: never two leaders, no gap near the TTL, no tick lost or doubled', async () => {
    const e = schedEnv();
    const r = suite.redis.client();
    const ssPid = join(e.dir, 'ss.pid');
    const args = [`--pid-file=${ssPid}`, `--status-file=${join(e.dir, 'ss.status')}`, '--signal-on-hup=CONT', '--interval=0.3', '--', process.execPath, BIN.resqueStarter, '-c', e.conf];
    const ss: Spawned = audit.current.watch(spawnNode(BIN.startServer, args, { label: 'start-server', env: e.env() }));
    await ss.waitForLine(/scheduler: took the scheduler lock \(([^)]+)\)/, { timeoutMs: slow(15_000) });
    const oldMaster = Number(readFileSync(e.pidFile, 'utf8').trim());
    await pollUntil(() => ticksIn(ss.output).size >= 2, { what: '2 ticks before the restart', timeoutMs: slow(15_000) });

    // Sample the lock's holder every 20 ms through the restart.
    const lockKey = `${e.ns}:${e.ns}:resque_scheduler_master_lock`;
    const samples: Array<{ t: number; holder: string | null }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        // A failed test closes Redis under the sampler: it stops then.
        const holder = await r.get(lockKey).catch(() => ((sampling = false), null));
        samples.push({ t: Date.now(), holder });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    process.kill(ss.pid, 'SIGHUP');
    await waitForPidExit(oldMaster, { timeoutMs: slow(20_000) });
    expect(ss.output).toMatch(new RegExp(`scheduler: released the scheduler lock \\([^:]+:${oldMaster}:`));
    await pollUntil(() => ss.count(/scheduler: took the scheduler lock/) === 2, { what: 'the new master to take the lock', timeoutMs: slow(10_000) });
    const handed = ticksIn(ss.output).size;
    await pollUntil(() => ticksIn(ss.output).size >= handed + 3, { what: '3 ticks after the hand-over', timeoutMs: slow(20_000) });
    sampling = false;
    await sampler;

    const holders = [...new Set(samples.map((s) => s.holder).filter((h): h is string => h !== null))];
    expect(holders).toHaveLength(2); // the old master's token, then the new one's: never back
    const firstNew = samples.findIndex((s) => s.holder === holders[1]);
    expect(samples.slice(firstNew).every((s) => s.holder === holders[1])).toBe(true);
    // The longest time without a holder is far below the TTL (2 s): released and taken at once.
    let gap = 0;
    for (let i = 0, since: number | undefined; i < samples.length; i++) {
      if (samples[i]!.holder === null) since ??= samples[i]!.t;
      else if (since !== undefined) {
        gap = Math.max(gap, samples[i]!.t - since);
        since = undefined;
      }
    }
    expect(gap).toBeLessThan(2000);
    const ticks = ticksIn(ss.output);
    expect([...ticks.values()].every((n) => n === 1)).toBe(true);
    const sorted = [...ticks.keys()].sort((x, y) => x - y);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBe(1000);
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
  });
});
