import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN, spawnNode } from './helpers/spawn.js';
import { pidAlive, pollUntil, waitForPidExit } from './helpers/wait.js';
import { assertNoUnexpectedAlarms } from './helpers/log-audit.js';
import { doneIds, enqueueRecords, liveWorkers, RsEnv, rsSuite, type ConfOptions } from './fixtures/rs-harness.js';

const suite = rsSuite();
const setup = (options?: ConfOptions) => suite.setup(options);
const readyWorkers = (e: RsEnv, n: number) =>
  pollUntil(() => {
    const s = e.status();
    const ready = s?.workers.filter((w) => w.state === 'idle' || w.state === 'busy' || w.state === 'paused') ?? [];
    return ready.length === n && s!.workers.length === n ? s : undefined;
  }, { what: `${n} ready workers in the status file`, timeoutMs: 15_000 });
/** Asserts the output has no error lines other than the expected ones (unicorn's check_stderr). */
const noUnexpectedErrors = (output: string, allowed: RegExp[] = []) =>
  assertNoUnexpectedAlarms([{ label: 'resque-starter', output }], allowed.map((pattern) => ({ pattern, why: 'expected by the test' })));

describe('resque-starter master', () => {
  it('starts workers with stable slots, titles and a status file; TTIN/TTOU/scale change the count', async () => {
    const e = setup({ concurrency: 2, extra: "beforeFork: (master, nr) => { master.logger.info(`beforeFork(${master.pid}, ${nr})`); }," });
    const m = e.master();
    await m.waitForLine(/worker\[1\] \d+ ready/);
    expect(m.output).toContain(`beforeFork(${m.pid}, 0)`);
    expect(m.output).toContain(`beforeFork(${m.pid}, 1)`);
    const s = await readyWorkers(e, 2);
    expect(s.master.pid).toBe(m.pid);
    expect(readFileSync(e.pidFile, 'utf8').trim()).toBe(String(m.pid));
    expect(s.workers.map((w) => w.slot)).toEqual([0, 1]);
    const title = readFileSync(`/proc/${s.workers[0]!.pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    expect(title).toMatch(/^resque-starter worker\[0\] \(rs\) IDLE/);

    process.kill(m.pid, 'SIGTTIN');
    await readyWorkers(e, 3);
    process.kill(m.pid, 'SIGTTOU');
    const after = await readyWorkers(e, 2);
    expect(after.workers.map((w) => w.slot)).toEqual([0, 1]);
    await m.waitForLine(/worker\[2\] \d+ exited \(scaled down\): exit code 0/);

    // Signals of one kind merge in the kernel; `scale N` is exact.
    const scale = spawnNode(BIN.resqueStarter, ['scale', '4', '-c', e.conf], { env: e.env() });
    expect((await scale.waitForExit()).code).toBe(0);
    expect(scale.output).toContain(`master ${m.pid}: 4 worker(s)`);
    await readyWorkers(e, 4);
    const status = spawnNode(BIN.resqueStarter, ['status', '--pid-file', e.pidFile], { env: e.env() });
    expect((await status.waitForExit()).code).toBe(0);
    const json = JSON.parse(status.output.slice(status.output.indexOf('{'))) as { master: { concurrency: number }; workers: unknown[] };
    expect(json.master.concurrency).toBe(4);
    expect(json.workers).toHaveLength(4);
    const bad = spawnNode(BIN.resqueStarter, ['scale', 'x', '--pid', String(m.pid)], { env: e.env() });
    expect((await bad.waitForExit()).code).toBe(2);

    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit()).toEqual({ code: 0, signal: null });
    expect(existsSync(e.pidFile)).toBe(false);
    expect(existsSync(e.statusFile)).toBe(false);
    noUnexpectedErrors(m.output);
  });

  it('a master with concurrency 0 stays up with no worker until TTIN gives it one, and stops on QUIT', async () => {
    // Nothing but the control socket keeps such a master's event loop alive (issue 12: timers of
    // the process host do not hold the process; it used to exit at once with code 0).
    const e = setup({ concurrency: 0 });
    const m = e.master();
    const idle = await pollUntil(() => (e.status()?.master.concurrency === 0 ? e.status() : undefined), { what: 'status file with concurrency 0' });
    expect(idle.workers).toEqual([]);
    const status = spawnNode(BIN.resqueStarter, ['status', '--pid-file', e.pidFile], { env: e.env() });
    expect((await status.waitForExit()).code).toBe(0);
    expect(pidAlive(m.pid)).toBe(true);
    process.kill(m.pid, 'SIGTTIN');
    await readyWorkers(e, 1);
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit()).toEqual({ code: 0, signal: null });
    noUnexpectedErrors(m.output);
  });

  it('QUIT lets a slow job finish, then the master exits 0', async () => {
    const e = setup({ concurrency: 1 });
    const m = e.master();
    await readyWorkers(e, 1);
    const r = suite.redis.client();
    await enqueueRecords(r, e.ns, 1, 1500, 'slow');
    await pollUntil(() => e.status()?.workers[0]?.state === 'busy', { what: 'worker busy' });
    const t0 = Date.now();
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: 10_000 })).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeGreaterThan(500);
    expect(await doneIds(r, e.ns)).toEqual(['slow0']);
    expect(await r.llen(`${e.ns}:queue:rs`)).toBe(0);
    noUnexpectedErrors(m.output);
  });

  it('a worker told QUIT directly (idle, or busy with a job it then finishes) is replaced, and logged as info, not as a death', async () => {
    const e = setup({ concurrency: 2 });
    const m = e.master();
    const before = await readyWorkers(e, 2);
    const r = suite.redis.client();
    const [idle, busy] = [before.workers[0]!.pid!, before.workers[1]!.pid!];
    process.kill(idle, 'SIGQUIT');
    await m.waitForLine(new RegExp(`worker\\[0\\] ${idle} is recycling \\(QUIT sent to the worker\\)[^\\n]*\\n[^]*worker\\[0\\] ${idle} exited \\(recycled\\): exit code 0`));
    await pollUntil(() => e.status()?.workers.find((w) => w.slot === 0 && w.pid !== idle && w.state === 'idle'), { what: 'a new worker[0]' });
    // The busy one finishes its job first (its exit is the same clean one).
    await enqueueRecords(r, e.ns, 2, 1500, 'slow');
    await pollUntil(() => e.status()?.workers.every((w) => w.state === 'busy'), { what: 'both workers busy' });
    process.kill(busy, 'SIGQUIT');
    await m.waitForLine(new RegExp(`worker\\[1\\] ${busy} is recycling \\(QUIT sent to the worker\\)[^\\n]*\\n[^]*worker\\[1\\] ${busy} exited \\(recycled\\): exit code 0`), { timeoutMs: 10_000 });
    await pollUntil(async () => (await doneIds(r, e.ns)).length === 2, { what: 'both slow jobs done' });
    expect((await doneIds(r, e.ns)).sort()).toEqual(['slow0', 'slow1']);
    await readyWorkers(e, 2);
    expect(m.output).not.toMatch(/died/);
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: 10_000 })).toEqual({ code: 0, signal: null });
    noUnexpectedErrors(m.output);
  });

  it('TERM stops at once and puts the in-flight job back at the head of its queue', async () => {
    const e = setup({ concurrency: 1 });
    const m = e.master();
    await readyWorkers(e, 1);
    const r = suite.redis.client();
    await enqueueRecords(r, e.ns, 1, 20_000, 'long');
    await enqueueRecords(r, e.ns, 1, 0, 'next');
    await pollUntil(async () => (await r.llen(`${e.ns}:rs:started`)) === 1, { what: 'job started' });
    const t0 = Date.now();
    process.kill(m.pid, 'SIGTERM');
    expect(await m.waitForExit({ timeoutMs: 10_000 })).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await doneIds(r, e.ns)).toEqual([]);
    const queue = (await r.lrange(`${e.ns}:queue:rs`, 0, -1)).map((p) => (JSON.parse(p) as { args: string[] }).args[0]);
    expect(queue).toEqual(['long0', 'next0']);
    noUnexpectedErrors(m.output);
  });

  it('a worker that keeps dying is restarted with a growing delay, and the log says so', async () => {
    const e = setup({
      concurrency: 1,
      extra: `crashLoop: { deaths: 2, window: 60, delay: 0.2, maxDelay: 0.8 },
  afterFork: () => { process.exit(9); },`,
    });
    const m = e.master();
    await m.waitForLine(/waiting 0\.2s before starting another \(crash loop\)/);
    await m.waitForLine(/waiting 0\.4s before starting another/);
    await m.waitForLine(/waiting 0\.8s before starting another/);
    await m.waitForLine(/died before it was ready \(exit code 9\)/);
    // The delay is real: no more than a handful of starts in this time.
    expect(m.count(/starting worker\[0\]/)).toBeLessThan(8);
    process.kill(m.pid, 'SIGTERM');
    expect((await m.waitForExit()).code).toBe(0);
  });

  it('recycles a worker over maxMemory after its job; the slot gets a new worker', async () => {
    const e = setup({ concurrency: 1, extra: 'maxMemory: 120,' });
    const m = e.master();
    const first = (await readyWorkers(e, 1)).workers[0]!.pid!;
    const r = suite.redis.client();
    await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: 'Hog', args: [200] }));
    await m.waitForLine(/recycl/);
    await waitForPidExit(first, { timeoutMs: 10_000 });
    await pollUntil(() => e.status()?.workers.some((w) => w.pid !== first && w.state === 'idle'), { what: 'a new worker in slot 0' });
    expect(await doneIds(r, e.ns)).toEqual(['hog']);
    await enqueueRecords(r, e.ns, 1, 0, 'after');
    await pollUntil(async () => (await doneIds(r, e.ns)).includes('after0'), { what: 'job after the recycle' });
    process.kill(m.pid, 'SIGTERM');
    await m.waitForExit();
    noUnexpectedErrors(m.output);
  });

  it('recycles after exactly maxJobs, also when short jobs come in prefetched batches', async () => {
    const e = setup({ concurrency: 1, extra: 'maxJobs: 5,' });
    const m = e.master();
    const first = (await readyWorkers(e, 1)).workers[0]!.pid!;
    const r = suite.redis.client();
    // Sub-millisecond jobs: the worker reserves batches of 1, 2, 4 …, so the 5th job is inside a batch.
    await r.rpush(`${e.ns}:queue:rs`, ...Array.from({ length: 12 }, (_, i) => JSON.stringify({ class: 'Quick', args: [`q${i}`] })));
    await r.publish(`${e.ns}:baton:enqueued`, 'rs');
    const lines = () => (existsSync(e.quickLog) ? readFileSync(e.quickLog, 'utf8').split('\n').filter(Boolean) : []);
    await pollUntil(() => lines().length === 12, { what: '12 jobs done' });
    const byPid = new Map<string, number>();
    for (const entry of lines()) byPid.set(entry.split(':')[1]!, (byPid.get(entry.split(':')[1]!) ?? 0) + 1);
    expect(lines().map((l) => l.split(':')[0])).toEqual(Array.from({ length: 12 }, (_, i) => `q${i}`));
    expect([...byPid.values()]).toEqual([5, 5, 2]);
    expect(byPid.has(String(first))).toBe(true);
    process.kill(m.pid, 'SIGTERM');
    await m.waitForExit();
  });

  it('jobTimeout: the job is aborted; one that ignores it has its worker killed and is recorded as failed, not run again', async () => {
    const e = setup({ concurrency: 1, extra: 'jobTimeout: 0.3, termTimeout: 0.5,' });
    const m = e.master();
    const first = (await readyWorkers(e, 1)).workers[0]!.pid!;
    const r = suite.redis.client();
    await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: 'Stubborn', args: [30_000] }));
    await m.waitForLine(/job Stubborn on rs has run longer than jobTimeout \(0\.3s\): aborting it/);
    await m.waitForLine(/job Stubborn ignored its abort for 0\.5s: killing the worker \(SIGKILL\)/);
    await m.waitForLine(new RegExp(`job Stubborn on rs of killed worker ${first} recorded as failed \\(jobTimeout\\)`));
    await pollUntil(() => e.status()?.workers.some((w) => w.pid !== first && w.state === 'idle'), { what: 'a new idle worker' });
    expect(await doneIds(r, e.ns)).toEqual([]);
    expect(await r.llen(`${e.ns}:queue:rs`)).toBe(0);
    const failed = (await r.lrange(`${e.ns}:failed`, 0, -1)).map((f) => JSON.parse(f) as { exception: string });
    expect(failed.map((f) => f.exception)).toEqual(['Resque::JobTimeout']);
    process.kill(m.pid, 'SIGTERM');
    await m.waitForExit();
  });

  it('refuses to start while a live master owns the pid file; replaces a stale one', async () => {
    const e = setup({ concurrency: 1 });
    // Stale: a pid that is not a resque-starter (our own test runner) and a dead one.
    writeFileSync(e.pidFile, `${process.pid}\n`);
    const m = e.master();
    await readyWorkers(e, 1);
    expect(readFileSync(e.pidFile, 'utf8').trim()).toBe(String(m.pid));

    const second = e.master();
    const exit = await second.waitForExit();
    expect(exit.code).toBe(1);
    expect(second.output).toMatch(new RegExp(`already running with pid ${m.pid}`));
    expect(readFileSync(e.pidFile, 'utf8').trim()).toBe(String(m.pid));
    expect(pidAlive(m.pid)).toBe(true);

    process.kill(m.pid, 'SIGKILL');
    await m.waitForExit();
    // Its workers notice (IPC disconnect) and leave by themselves.
    await pollUntil(() => liveWorkers(e.ns).length === 0, { what: 'orphaned workers to exit', timeoutMs: 10_000 });
    expect(readFileSync(e.pidFile, 'utf8').trim()).toBe(String(m.pid));
    const third = e.master();
    await pollUntil(() => e.status()?.master.pid === third.pid, { what: 'the third master to write its status' });
    await readyWorkers(e, 1);
    expect(readFileSync(e.pidFile, 'utf8').trim()).toBe(String(third.pid));
    process.kill(third.pid, 'SIGTERM');
    await third.waitForExit();
  });

  it('a broken config: one line with file:line, exit 78, no worker started; `check` agrees', async () => {
    const e = setup({ concurrency: 1 });
    writeFileSync(e.conf, readFileSync(e.conf, 'utf8').replace("concurrency: 1,", "concurrency: 'many',"));
    const m = e.master();
    const exit = await m.waitForExit();
    expect(exit.code).toBe(78);
    const lines = m.output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^resque-starter: config error: .*conf\.ts:\d+:\d+: Expected `concurrency` to be an integer ≥ 0, got `many` \(string\)$/);
    expect(liveWorkers(e.ns)).toEqual([]);
    const check = spawnNode(BIN.resqueStarter, ['check', '-c', e.conf], { env: e.env() });
    expect((await check.waitForExit()).code).toBe(78);
    e.writeConf({ concurrency: 1 });
    const ok = spawnNode(BIN.resqueStarter, ['check', '-c', e.conf], { env: e.env() });
    expect((await ok.waitForExit()).code).toBe(0);
    expect(ok.output).toMatch(/conf\.ts: ok \(1 worker\(s\), queues rs, jobs Record,Quick,Stubborn,Hog/);
  });

  it('exits non-zero before starting any worker when Redis does not answer', async () => {
    const e = setup({ concurrency: 1, extra: "redisTimeout: 1," });
    writeFileSync(e.conf, readFileSync(e.conf, 'utf8').replace(/redis: "redis:\/\/127\.0\.0\.1:\d+"/, 'redis: "redis://127.0.0.1:1"'));
    const m = e.master();
    expect((await m.waitForExit()).code).toBe(1);
    expect(m.output).toMatch(/Redis at redis:\/\/127\.0\.0\.1:1 is not reachable/);
    expect(liveWorkers(e.ns)).toEqual([]);
  });

  it('HUP (and the restart file) replace the workers one by one on the reloaded config', async () => {
    const e = setup({ concurrency: 2, extra: "restartFile: 'restart.txt'," });
    const m = e.master();
    const before = (await readyWorkers(e, 2)).workers.map((w) => w.pid);
    e.writeConf({ concurrency: 3, extra: "restartFile: 'restart.txt'," });
    process.kill(m.pid, 'SIGHUP');
    await m.waitForLine(/rolling replacement done/);
    const after = await readyWorkers(e, 3);
    expect(after.workers.map((w) => w.pid).filter((p) => before.includes(p))).toEqual([]);
    writeFileSync(`${e.dir}/restart.txt`, 'now');
    await m.waitForLine(/restart file .* touched/);
    await m.waitForLine(/rolling replacement done[^\n]*\n[\s\S]*rolling replacement done/, { timeoutMs: 15_000 });
    process.kill(m.pid, 'SIGTERM');
    await m.waitForExit();
    noUnexpectedErrors(m.output);
  });

  it('USR2 pauses and CONT resumes the workers', async () => {
    const e = setup({ concurrency: 1 });
    const m = e.master();
    await readyWorkers(e, 1);
    process.kill(m.pid, 'SIGUSR2');
    await pollUntil(() => e.status()?.workers[0]?.state === 'paused' && e.status()?.master.paused, { what: 'paused' });
    const r = suite.redis.client();
    await enqueueRecords(r, e.ns, 1, 0);
    const title = readFileSync(`/proc/${e.status()!.workers[0]!.pid}/cmdline`, 'utf8');
    expect(title).toContain('PAUSED');
    expect(await r.llen(`${e.ns}:queue:rs`)).toBe(1);
    process.kill(m.pid, 'SIGCONT');
    await pollUntil(async () => (await doneIds(r, e.ns)).length === 1, { what: 'job done after CONT' });
    process.kill(m.pid, 'SIGTERM');
    await m.waitForExit();
  });

  it('logFile gets master and worker lines; reopen-logs starts a new file after rotation', async () => {
    const e = setup({ concurrency: 1, extra: "logFile: 'log/rs.log'," });
    const m = e.master();
    await readyWorkers(e, 1);
    const log = `${e.dir}/log/rs.log`;
    await pollUntil(() => /worker\[0\] \d+ ready/.test(readFileSync(log, 'utf8')), { what: 'ready line in the log file' });
    writeFileSync(`${log}.1`, readFileSync(log));
    writeFileSync(log, '');
    renameSync(log, `${log}.old`);
    const reopen = spawnNode(BIN.resqueStarter, ['reopen-logs', '-c', e.conf], { env: e.env() });
    expect((await reopen.waitForExit()).code).toBe(0);
    await pollUntil(() => existsSync(log) && /reopened log file/.test(readFileSync(log, 'utf8')), { what: 'new log file' });
    process.kill(m.pid, 'SIGTERM');
    await m.waitForExit();
    expect(readFileSync(log, 'utf8')).toMatch(/master exiting/);
    expect(m.output).not.toMatch(/ready|exiting/);
  });

  it.skipIf(process.getuid?.() !== 0)('when root, `user` runs the workers as that user', async () => {
    const e = setup({ concurrency: 1, extra: "user: 'nobody'," });
    chmodSync(e.dir, 0o755); // the workers must be able to read conf.ts
    const m = e.master();
    const pid = (await readyWorkers(e, 1)).workers[0]!.pid!;
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    expect(uid).toBe('65534');
    expect(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${m.pid}/status`, 'utf8'))?.[1]).toBe('0');
    process.kill(m.pid, 'SIGTERM');
    await m.waitForExit();
  });

  it('signal-exit guard: a master killed by an unhandled signal takes its workers and pid file with it', async () => {
    const e = setup({ concurrency: 2 });
    const m = e.master();
    const pids = (await readyWorkers(e, 2)).workers.map((w) => w.pid!);
    process.kill(m.pid, 'SIGALRM');
    expect((await m.waitForExit()).signal).toBe('SIGALRM');
    for (const pid of pids) await waitForPidExit(pid, { timeoutMs: 10_000 });
    expect(existsSync(e.pidFile)).toBe(false);
  });
});

