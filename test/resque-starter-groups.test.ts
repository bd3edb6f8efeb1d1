import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { BIN, spawnNode, type Spawned } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pidAlive, pollUntil, waitForPidExit } from './helpers/wait.js';
import { useLogAudit } from './helpers/log-audit.js';
import { liveWorkers, RsEnv, rsSuite, sampleWorkers } from './fixtures/rs-harness.js';

// Worker groups in one master (issue 13): three groups with their own queues, counts and
// jobConcurrency, one of them on a second redis-server. Jobs of each queue run only in their
// group; `scale GROUP N` and `status GROUP`; a reload that adds, removes and changes groups
// leaves the unchanged group's workers alone; a rolling restart under start-server keeps every
// group's workers within total + 1 and loses nothing.

const suite = rsSuite();
const audit = useLogAudit();
let second: TestRedis | undefined;
beforeAll(async () => {
  second = await startRedis();
});
afterAll(async () => {
  await second?.close();
});

interface GroupStatusFile {
  master: { pid: number; concurrency: number; groups: Array<{ name: string; concurrency: number; workers: number; ready: number; queues: string[] }> };
  workers: Array<{ group: string; slot: number; pid: number | null; state: string }>;
}

const GROUPS = (url2: string, mail = "{ queues: ['mail'], concurrency: 1, jobConcurrency: 3 }") => `groups: {
    critical: { queues: ['critical'], concurrency: 2 },
    mail: ${mail},
    reports: { queues: ['reports'], concurrency: 1, redis: ${JSON.stringify(url2)} },
  },`;

function setup(groups?: string): RsEnv {
  return suite.setup({ extra: groups ?? GROUPS(second!.url) });
}

const status = (e: RsEnv) => e.status() as unknown as GroupStatusFile | undefined;

/** Waits until every group has exactly its count of ready workers (and nothing else is alive). */
async function readyGroups(e: RsEnv, counts: Record<string, number>, masterPid?: number): Promise<GroupStatusFile> {
  return await pollUntil(
    () => {
      const s = status(e);
      if (!s?.master.groups || (masterPid !== undefined && s.master.pid !== masterPid)) return undefined;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const ok = Object.entries(counts).every(([g, n]) => s.workers.filter((w) => w.group === g && ['idle', 'busy'].includes(w.state)).length === n);
      return ok && s.workers.length === total ? s : undefined;
    },
    { what: `ready workers ${JSON.stringify(counts)}`, timeoutMs: slow(20_000) },
  );
}

/** Enqueues `Record` jobs `<prefix>0..n-1` on `queue` (Resque's format). */
async function enqueue(r: Redis, ns: string, queue: string, n: number, ms: number, prefix: string): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  await r.sadd(`${ns}:queues`, queue);
  await r.rpush(`${ns}:queue:${queue}`, ...ids.map((id) => JSON.stringify({ class: 'Record', args: [id, ms] })));
  return ids;
}

/** `id → pid` of every job done (recorded on the first Redis, whichever Redis the job came from). */
async function donePids(r: Redis, ns: string): Promise<Map<string, number>> {
  return new Map((await r.lrange(`${ns}:rs:done`, 0, -1)).map((l) => [l.split(':')[0]!, Number(l.split(':')[1])]));
}

const pidsOf = (s: GroupStatusFile, group: string) => s.workers.filter((w) => w.group === group).map((w) => w.pid!);

function cli(e: RsEnv, args: string[]): Spawned {
  return spawnNode(BIN.resqueStarter, [...args, '-c', e.conf], { env: e.env() });
}

describe('worker groups (issue 13)', { timeout: slow(60_000) }, () => {
  it('three groups: each queue runs only in its group (one on a second Redis); status per group; scale GROUP N', async () => {
    const e = setup();
    const m = audit.current.watch(e.master());
    const s = await readyGroups(e, { critical: 2, mail: 1, reports: 1 });
    expect(s.master.groups.map((g) => [g.name, g.concurrency, g.queues])).toEqual([
      ['critical', 2, ['critical']],
      ['mail', 1, ['mail']],
      ['reports', 1, ['reports']],
    ]);
    expect(m.output).toMatch(/master \d+ starting 3 worker groups: critical: 2 worker\(s\), queues critical/);
    const title = readFileSync(`/proc/${pidsOf(s, 'mail')[0]}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    expect(title).toMatch(/^resque-starter worker\[mail\/0\] \(mail\) IDLE/);

    const r = suite.redis.client();
    const r2 = second!.client();
    const ids = [
      ...(await enqueue(r, e.ns, 'critical', 20, 20, 'c')),
      ...(await enqueue(r, e.ns, 'mail', 20, 50, 'm')),
      ...(await enqueue(r2, e.ns, 'reports', 10, 10, 'r')),
    ];
    const done = await pollUntil(async () => ((await donePids(r, e.ns)).size >= ids.length ? await donePids(r, e.ns) : undefined), {
      what: 'every job done',
      timeoutMs: slow(30_000),
    });
    for (const [prefix, group] of [['c', 'critical'], ['m', 'mail'], ['r', 'reports']] as const) {
      const ran = [...done].filter(([id]) => id.startsWith(prefix)).map(([, pid]) => pid);
      expect(ran).toHaveLength(prefix === 'r' ? 10 : 20);
      expect(new Set(ran.filter((pid) => !pidsOf(s, group).includes(pid)))).toEqual(new Set());
    }

    const scale = cli(e, ['scale', 'mail', '3']);
    expect((await scale.waitForExit()).code).toBe(0);
    expect(scale.output).toContain(`master ${m.pid}: group mail: 3 worker(s)`);
    const scaled = await readyGroups(e, { critical: 2, mail: 3, reports: 1 });
    expect(pidsOf(scaled, 'critical')).toEqual(pidsOf(s, 'critical'));
    const noGroup = cli(e, ['scale', '2']);
    expect((await noGroup.waitForExit()).code).toBe(1);
    expect(noGroup.output).toContain('this master runs 3 groups (critical, mail, reports): name one');

    const pause = cli(e, ['pause', 'mail']);
    expect((await pause.waitForExit()).code).toBe(0);
    expect(pause.output).toContain(`master ${m.pid}: group mail paused`);
    await pollUntil(() => (status(e)?.workers.filter((w) => w.group === 'mail').every((w) => w.state === 'paused') ? true : undefined), { what: 'mail paused' });
    expect(status(e)!.workers.filter((w) => w.group !== 'mail').every((w) => w.state !== 'paused')).toBe(true);
    const resume = cli(e, ['resume', 'mail']);
    expect((await resume.waitForExit()).code).toBe(0);
    await readyGroups(e, { critical: 2, mail: 3, reports: 1 });

    const text = cli(e, ['status', '--text']);
    expect((await text.waitForExit()).code).toBe(0);
    expect(text.output).toMatch(/group mail: 3\/3 worker\(s\) \(3 ready, 0 busy\) queues mail/);
    expect(text.output).toMatch(/ {4}worker\[mail\/2\] \d+ idle/);
    const one = cli(e, ['status', 'reports']);
    expect((await one.waitForExit()).code).toBe(0);
    const json = JSON.parse(one.output.slice(one.output.indexOf('{'))) as GroupStatusFile;
    expect(json.workers.map((w) => w.group)).toEqual(['reports']);
    expect(json.master.groups.map((g) => g.name)).toEqual(['reports']);

    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
    expect(liveWorkers(e.ns)).toEqual([]);
  });

  it('a reload that adds, removes and changes groups: the unchanged group keeps its workers (same pids)', async () => {
    const e = setup();
    const m = audit.current.watch(e.master());
    const before = await readyGroups(e, { critical: 2, mail: 1, reports: 1 });
    e.writeConf({
      extra: `groups: {
    critical: { queues: ['critical'], concurrency: 2 },
    mail: { queues: ['mail'], concurrency: 2, jobConcurrency: 2 },
    bulk: { queues: ['bulk'], concurrency: 1 },
  },`,
    });
    process.kill(m.pid, 'SIGHUP');
    await m.waitForLine(/group\(s\) mail replaced worker by worker; group\(s\) bulk added; group\(s\) reports removed \(their workers finish their jobs\); group\(s\) critical unchanged \(workers kept\)/, {
      timeoutMs: slow(15_000),
    });
    const after = await readyGroups(e, { critical: 2, mail: 2, bulk: 1 });
    expect(pidsOf(after, 'critical')).toEqual(pidsOf(before, 'critical'));
    expect(pidsOf(after, 'mail').filter((p) => pidsOf(before, 'mail').includes(p))).toEqual([]);
    for (const pid of pidsOf(before, 'reports')) await waitForPidExit(pid, { timeoutMs: slow(10_000) });
    expect(m.output).toMatch(/worker\[reports\/0\] \d+ exited \(scaled down\): exit code 0/);

    // Nothing changed: a HUP is a restart of every group, as it always was.
    const from = m.output.length;
    process.kill(m.pid, 'SIGHUP');
    await m.waitForLine(/nothing changed: a restart of every group/, { timeoutMs: slow(15_000), from });
    await m.waitForLine(/rolling replacement done in [\d.]+s: 5 worker\(s\)/, { timeoutMs: slow(20_000), from });
    const restarted = await readyGroups(e, { critical: 2, mail: 2, bulk: 1 });
    expect(pidsOf(restarted, 'critical').filter((p) => pidsOf(after, 'critical').includes(p))).toEqual([]);
    expect(pidAlive(m.pid)).toBe(true);
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
  });

  it('a rolling restart under start-server with jobs flowing in every group: ≤ total + 1 alive, nothing lost, one master left', async () => {
    const e = setup();
    const ssPid = join(e.dir, 'ss.pid');
    const args = [`--pid-file=${ssPid}`, `--status-file=${join(e.dir, 'ss.status')}`, '--signal-on-hup=CONT', '--interval=0.3', '--'];
    const ss = audit.current.watch(spawnNode(BIN.startServer, [...args, process.execPath, BIN.resqueStarter, '-c', e.conf], { label: 'start-server', env: e.env() }));
    const first = await readyGroups(e, { critical: 2, mail: 1, reports: 1 });
    const oldMaster = first.master.pid;
    const r = suite.redis.client();
    const r2 = second!.client();
    const ids = [
      ...(await enqueue(r, e.ns, 'critical', 60, 50, 'c')),
      ...(await enqueue(r, e.ns, 'mail', 60, 80, 'm')),
      ...(await enqueue(r2, e.ns, 'reports', 30, 60, 'r')),
    ];
    await pollUntil(async () => (await donePids(r, e.ns)).size >= 10, { what: 'jobs flowing' });
    const sampler = sampleWorkers(e.ns, 10);
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(/rolling restart done in [\d.]+s: 4 new worker\(s\) ready/, { timeoutMs: slow(30_000) });
    await waitForPidExit(oldMaster, { timeoutMs: slow(15_000) });
    await pollUntil(async () => (await donePids(r, e.ns)).size >= ids.length, { what: 'every job done', timeoutMs: slow(40_000) });
    const { max, samples } = sampler.stop();
    const done = await r.lrange(`${e.ns}:rs:done`, 0, -1);
    expect(done.map((l) => l.split(':')[0]).sort()).toEqual([...ids].sort()); // each exactly once
    expect(samples).toBeGreaterThan(20);
    expect(max).toBeLessThanOrEqual(4 + 1);
    const now = await readyGroups(e, { critical: 2, mail: 1, reports: 1 });
    expect(now.master.pid).not.toBe(oldMaster);
    expect(now.workers.filter((w) => first.workers.some((o) => o.pid === w.pid))).toEqual([]);
    expect(liveWorkers(e.ns).sort()).toEqual(now.workers.map((w) => w.pid!).sort());
    // The hand-off named each new worker's group: the old master's groups went down one by one.
    expect(ss.output).toMatch(new RegExp(`asked old master ${oldMaster} to retire one worker of group mail`));
    for (const [g, n] of [['critical', 2], ['critical', 1], ['mail', 1], ['reports', 1]] as const) {
      expect(ss.output).toContain(`TTOU (group ${g}): ${n} → ${n - 1} worker(s)`);
    }
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
    await pollUntil(() => liveWorkers(e.ns).length === 0, { what: 'no worker left' });
  });

  it('autoscale: a burst takes the group to max, it returns to min once drained, one step at a time, without flapping', async () => {
    const e = setup(`groups: {
    critical: { queues: ['critical'], concurrency: 1 },
    mail: { queues: ['mail'], concurrency: 1, autoscale: { min: 1, max: 3, jobsPerWorker: 2, interval: 0.2, downAfter: 1 } },
  },`);
    const m = audit.current.watch(e.master());
    await readyGroups(e, { critical: 1, mail: 1 });
    const sampler = sampleWorkers(e.ns, 10);
    const r = suite.redis.client();
    const ids = await enqueue(r, e.ns, 'mail', 40, 150, 'm');
    await m.waitForLine(/autoscale \(\d+ job\(s\) waiting, 2 per worker\) \(group mail\): 1 → 3 worker\(s\)/, { timeoutMs: slow(10_000) });
    await readyGroups(e, { critical: 1, mail: 3 });
    await pollUntil(async () => (await donePids(r, e.ns)).size >= ids.length, { what: 'the burst done', timeoutMs: slow(30_000) });
    await m.waitForLine(/\(group mail\): 2 → 1 worker\(s\)/, { timeoutMs: slow(15_000) });
    await readyGroups(e, { critical: 1, mail: 1 });
    const { max } = sampler.stop();
    expect(max).toBeLessThanOrEqual(1 + 3 + 1);
    const decisions = m.output.split('\n').filter((l) => /autoscale .*\(group mail\)/.test(l));
    // Up once (1 → 3), then down one at a time (3 → 2 → 1): no step back up, no flapping.
    expect(decisions.map((l) => /(\d+ → \d+) worker/.exec(l)![1])).toEqual(['1 → 3', '3 → 2', '2 → 1']);
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
  });
});

