import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, spawnNode, spawnTracked, type Spawned } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pidAlive, pollUntil, waitForPidExit } from './helpers/wait.js';
import { useLogAudit } from './helpers/log-audit.js';
import { doneIds, enqueueRecords, liveWorkers, RsEnv, sampleWorkers, rsSuite, hangSecondWorker } from './fixtures/rs-harness.js';

// The full chain: start-server → resque-starter master → worker processes → private redis-server.
// A HUP to start-server starts a new master generation, which replaces the old master's
// workers one at a time: never more than concurrency + 1 worker processes alive.

const PERL_START_SERVER = '/usr/bin/start_server';
const suite = rsSuite();
// Every process's output is scanned after each test: an [error] or SIGKILL line the test did not
// declare fails it (declared with audit.current.expect, per scenario).
const audit = useLogAudit();

function chain(e: RsEnv, { perl = false, interval = '0.3', flags = [] as string[] } = {}): Spawned {
  const ssPid = join(e.dir, 'ss.pid');
  const ssStatus = join(e.dir, 'ss.status');
  const command = [process.execPath, BIN.resqueStarter, '-c', e.conf];
  const args = [`--pid-file=${ssPid}`, `--status-file=${ssStatus}`, '--signal-on-hup=CONT', `--interval=${interval}`, ...flags, '--', ...command];
  if (perl) return audit.current.watch(spawnTracked(PERL_START_SERVER, args, { label: 'start_server (perl)', env: e.env() }));
  return audit.current.watch(spawnNode(BIN.startServer, args, { label: 'start-server', env: e.env() }));
}

const masterOf = (e: RsEnv) => Number(readFileSync(e.pidFile, 'utf8').trim());
const statusGenerations = (e: RsEnv) => readFileSync(join(e.dir, 'ss.status'), 'utf8').trim();
async function readyWorkers(e: RsEnv, n: number, masterPid?: number) {
  return await pollUntil(
    () => {
      const s = e.status();
      if (!s || (masterPid !== undefined && s.master.pid !== masterPid)) return undefined;
      const ready = s.workers.filter((w) => ['idle', 'busy', 'paused'].includes(w.state));
      return ready.length === n && s.workers.length === n ? s : undefined;
    },
    { what: `${n} ready workers`, timeoutMs: slow(20_000) },
  );
}
const setup = (concurrency: number, extra = '') => suite.setup({ concurrency, extra });

async function rollingRestart(perl: boolean) {
  const C = 3;
  const e = setup(C);
  const ss = chain(e, { perl, interval: perl ? '1' : '0.3' });
  await ss.waitForLine(/worker\[2\] \d+ ready/, { timeoutMs: slow(10_000) });
  const oldMaster = masterOf(e);
  const oldWorkers = (await readyWorkers(e, C, oldMaster)).workers.map((w) => w.pid!);

  const r = suite.redis.client();
  const ids = await enqueueRecords(r, e.ns, 150, 60);
  await pollUntil(async () => (await doneIds(r, e.ns)).length >= 15, { what: 'jobs flowing' });
  const sampler = sampleWorkers(e.ns, 10);
  const hupAt = Date.now();
  const logFrom = ss.output.length;
  process.kill(ss.pid, 'SIGHUP');
  await ss.waitForLine(/rolling restart done in [\d.]+s: 3 new worker\(s\) ready/, { timeoutMs: slow(20_000) });
  // The new master started a spare before loading its config, and handed it the first slot.
  const log = ss.output.slice(logFrom);
  const early = /spare (\d+) started before the config was loaded, kept/.exec(log);
  expect(early, 'an early spare').not.toBeNull();
  expect(log.indexOf(early![0])).toBeLessThan(log.search(/rolling restart: taking over/));
  expect(log).toMatch(new RegExp(`starting worker\\[0\\] ${early![1]} `));
  // The new master says where its start-up went, the link to the old master included.
  expect(log).toMatch(/ready to start workers \d+ ms after exec, \d+ ms CPU \(imports \d+ ms, config \d+ ms, Redis check \d+ ms, linking to the old master\(s\) \d+ ms\)/);
  const rolledIn = Date.now() - hupAt;
  await waitForPidExit(oldMaster, { timeoutMs: slow(10_000) });
  await pollUntil(async () => (await doneIds(r, e.ns)).length >= ids.length, { what: 'all jobs done', timeoutMs: slow(30_000) });
  const { max, samples } = sampler.stop();

  const done = await doneIds(r, e.ns);
  expect([...done].sort()).toEqual([...ids].sort()); // every job done, exactly once
  expect(await r.llen(`${e.ns}:queue:rs`)).toBe(0);
  expect(samples).toBeGreaterThan(20);
  expect(max).toBeLessThanOrEqual(C + 1);
  expect(max).toBe(C + 1); // it did overlap by one (one new worker before each old one went)
  const newMaster = masterOf(e);
  expect(newMaster).not.toBe(oldMaster);
  const now = await readyWorkers(e, C, newMaster);
  expect(now.workers.filter((w) => oldWorkers.includes(w.pid!))).toEqual([]);
  for (const pid of oldWorkers) expect(pidAlive(pid)).toBe(false);
  expect(liveWorkers(e.ns).sort()).toEqual(now.workers.map((w) => w.pid!).sort());
  await pollUntil(() => /^\d+:\d+$/.test(statusGenerations(e)) && statusGenerations(e).endsWith(`:${newMaster}`), {
    what: 'start-server status file to list only the new generation',
  });
  expect(ss.output).toMatch(new RegExp(`rolling restart: taking over from old master\\(s\\) ${oldMaster}`));
  expect(ss.output).toMatch(/last worker gone; master \d+ has taken over: exiting/);
  process.kill(ss.pid, 'SIGTERM');
  await ss.waitForExit({ timeoutMs: slow(15_000) });
  await pollUntil(() => liveWorkers(e.ns).length === 0, { what: 'no worker left' });
  return rolledIn;
}

describe('rolling restart under start-server', { timeout: slow(30_000) }, () => {
  it('replaces every worker with jobs flowing: ≤ C+1 alive, every job done exactly once, old master gone', async () => {
    const ms = await rollingRestart(false);
    expect(ms).toBeLessThan(slow(10_000)); // 10 s on an idle machine
  });

  it.skipIf(!existsSync(PERL_START_SERVER))('works the same under Perl start_server (old master found without its status file)', async () => {
    await rollingRestart(true);
  });

  it('a new generation with a broken config exits non-zero; the old one keeps serving untouched', async () => {
    const e = setup(2);
    const ss = chain(e);
    const oldMaster = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    const before = (await readyWorkers(e, 2, oldMaster)).workers.map((w) => w.pid);
    audit.current.expect(/\[error\] \[start-server\] (worker \d+ died unexpectedly|new worker \d+ seems to have failed to start).*\(exit code 78\)/, 'the broken generation exits 78');
    const good = readFileSync(e.conf, 'utf8');
    writeFileSync(e.conf, good.replace("queues: ['rs'],", 'queues: 42,'));
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(/config error: .*conf\.ts:\d+:\d+: Expected `queues` to be a list of queue names/, { timeoutMs: slow(10_000) });
    // Before start-server's --interval ("seems to have failed to start") or, on a slow host, just
    // after it ("died unexpectedly"): either way the old generation was not told to stop.
    await ss.waitForLine(/(seems to have failed to start|died unexpectedly).*\(exit code 78\)/, { timeoutMs: slow(10_000) });
    // Untouched: same master, same workers, still taking jobs.
    expect(masterOf(e)).toBe(oldMaster);
    expect(liveWorkers(e.ns).sort()).toEqual([...before].sort());
    const r = suite.redis.client();
    const ids = await enqueueRecords(r, e.ns, 10, 0);
    await pollUntil(async () => (await doneIds(r, e.ns)).length === ids.length, { what: 'old generation serving' });
    expect(ss.output).not.toMatch(/TTOU/);
    // Once the config is fixed, start-server's retry rolls the workers over.
    writeFileSync(e.conf, good);
    await ss.waitForLine(/rolling restart done/, { timeoutMs: slow(20_000) });
    await waitForPidExit(oldMaster, { timeoutMs: slow(10_000) });
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
  });

  it('a new worker that never gets ready stops the rollout; the old master gets its workers back', async () => {
    const C = 3;
    const e = setup(C);
    const ss = chain(e);
    const oldMaster = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    await readyWorkers(e, C, oldMaster);
    // The new code hangs in its second worker's afterFork.
    const { readyS, good } = hangSecondWorker(e.conf, audit.current);
    const r = suite.redis.client();
    const ids = await enqueueRecords(r, e.ns, 60, 50);
    const sampler = sampleWorkers(e.ns, 10);
    process.kill(ss.pid, 'SIGHUP');
    const abort = ss.output.length;
    await ss.waitForLine(new RegExp(`rolling restart aborted: new worker\\[1\\] failed \\(it was not ready within readyTimeout \\(${readyS}s\\)\\)`), { timeoutMs: slow(20_000) });
    await ss.waitForLine(/gave up its rolling restart: back to 3 worker\(s\)/, { from: abort, timeoutMs: slow(10_000) });
    // Fix the code; start-server's retry then completes the rollout.
    writeFileSync(e.conf, good);
    await ss.waitForLine(/rolling restart done/, { timeoutMs: slow(30_000) });
    await waitForPidExit(oldMaster, { timeoutMs: slow(15_000) });
    await pollUntil(async () => (await doneIds(r, e.ns)).length >= ids.length, { what: 'all jobs done', timeoutMs: slow(30_000) });
    const { max } = sampler.stop();
    expect(max).toBeLessThanOrEqual(C + 1);
    expect([...new Set(await doneIds(r, e.ns))].sort()).toEqual([...ids].sort());
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
  });

  it('a config with a logFile: the spare started before the config was loaded is stopped, the new workers write to the file', async () => {
    const e = setup(2, "logFile: 'rs.log',");
    const logFile = join(dirname(e.conf), 'rs.log');
    const text = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
    const ss = chain(e);
    const oldMaster = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    await readyWorkers(e, 2, oldMaster);
    const from = text().length;
    process.kill(ss.pid, 'SIGHUP');
    const early = await pollUntil(() => /spare (\d+) started before the config was loaded, stopped/.exec(text().slice(from))?.[1], { what: 'the early spare stopped', timeoutMs: slow(20_000) });
    await pollUntil(() => /rolling restart done/.test(text().slice(from)), { what: 'rolling restart done', timeoutMs: slow(20_000) });
    await waitForPidExit(Number(early), { timeoutMs: slow(10_000) });
    await waitForPidExit(oldMaster, { timeoutMs: slow(10_000) });
    const now = await readyWorkers(e, 2, masterOf(e));
    const log = text().slice(from);
    expect(log).not.toMatch(new RegExp(`starting worker\\[\\d\\] ${early} `));
    // The new workers were started for the log file: their own lines are in it.
    for (const w of now.workers) expect(log).toMatch(new RegExp(`worker \\S+:${w.pid}:\\S+ started`));
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
  });

  it('the new master killed mid-rollout: the old master takes its workers and pid file back, no job lost', async () => {
    const C = 3;
    const e = setup(C);
    const ss = chain(e);
    const oldMaster = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    await readyWorkers(e, C, oldMaster);
    const good = readFileSync(e.conf, 'utf8');
    writeFileSync(e.conf, good.replace('  jobs: {', '  afterFork: async (w, nr) => { if (nr === 1) await new Promise(() => {}); w.retireOldWorker(); },\n  jobs: {'));
    const r = suite.redis.client();
    const ids = await enqueueRecords(r, e.ns, 80, 50);
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(/TTOU: 3 → 2 worker\(s\)/, { timeoutMs: slow(20_000) });
    await ss.waitForLine(/starting worker\[1\] \d+ \(will retire/, { timeoutMs: slow(10_000) });
    const newMaster = masterOf(e);
    expect(newMaster).not.toBe(oldMaster);
    writeFileSync(e.conf, good);
    const from = ss.output.length;
    audit.current.expect(new RegExp(`\\[error\\] \\[start-server\\] worker ${newMaster} died unexpectedly with status:9 \\(killed by SIGKILL`), 'the test kills the new master');
    process.kill(newMaster, 'SIGKILL');
    await ss.waitForLine(/went away during the rolling restart: back to 3 worker\(s\)/, { from, timeoutMs: slow(10_000) });
    // start-server starts another generation, which (with the good config) completes the job.
    await ss.waitForLine(/rolling restart done/, { from, timeoutMs: slow(30_000) });
    await waitForPidExit(oldMaster, { timeoutMs: slow(15_000) });
    await pollUntil(async () => (await doneIds(r, e.ns)).length >= ids.length, { what: 'all jobs done', timeoutMs: slow(30_000) });
    expect([...new Set(await doneIds(r, e.ns))].sort()).toEqual([...ids].sort());
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
  });

  it.each([
    [4, 2],
    [2, 4],
  ])('concurrency %i → %i across a restart: never more than max(old, new + 1) workers', async (from, to) => {
    const e = setup(from);
    const ss = chain(e);
    const oldMaster = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    await readyWorkers(e, from, oldMaster);
    e.writeConf({ concurrency: to });
    const r = suite.redis.client();
    const ids = await enqueueRecords(r, e.ns, 60, 50);
    const sampler = sampleWorkers(e.ns, 10);
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(/rolling restart done/, { timeoutMs: slow(20_000) });
    await waitForPidExit(oldMaster, { timeoutMs: slow(15_000) });
    await pollUntil(async () => (await doneIds(r, e.ns)).length >= ids.length, { what: 'all jobs done', timeoutMs: slow(30_000) });
    const { max } = sampler.stop();
    expect(max).toBeLessThanOrEqual(Math.max(from, to + 1));
    expect([...(await doneIds(r, e.ns))].sort()).toEqual([...ids].sort());
    await readyWorkers(e, to, masterOf(e));
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
  });

  it('HUPs in a row: generations overlap, still ≤ C+1 workers, every job done, one master left', async () => {
    const C = 3;
    const e = setup(C);
    const ss = chain(e);
    const first = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    await readyWorkers(e, C, first);
    const r = suite.redis.client();
    const ids = await enqueueRecords(r, e.ns, 120, 80);
    const sampler = sampleWorkers(e.ns, 10);
    for (let i = 0; i < 3; i++) {
      process.kill(ss.pid, 'SIGHUP');
      await ss.waitForLine(new RegExp(`starting new worker \\d+ \\(generation ${i + 2}\\)`), { timeoutMs: slow(20_000) });
    }
    await pollUntil(async () => (await doneIds(r, e.ns)).length >= ids.length, { what: 'all jobs done', timeoutMs: slow(15_000) }).catch(async (err: unknown) => {
      const done = new Set(await doneIds(r, e.ns));
      const started = await r.lrange(`${e.ns}:rs:started`, 0, -1);
      const missing = ids.filter((id) => !done.has(id));
      throw new Error(
        `${(err as Error).message}; missing ${missing.join(',')}; started ${started.filter((x) => missing.includes(x.split(':')[0]!)).join(',')}; ` +
          `queue ${(await r.lrange(`${e.ns}:queue:rs`, 0, -1)).length}; keys ${(await r.keys(`${e.ns}:*`)).join(',')}`,
      );
    });
    await pollUntil(() => /^\d+:\d+$/.test(statusGenerations(e)), { what: 'one generation left', timeoutMs: slow(10_000) });
    const last = Number(statusGenerations(e).split(':')[1]);
    await readyWorkers(e, C, last);
    const { max } = sampler.stop();
    expect(max).toBeLessThanOrEqual(C + 1);
    const done = await doneIds(r, e.ns);
    expect([...done].sort()).toEqual([...ids].sort());
    expect(liveWorkers(e.ns)).toHaveLength(C);
    // A generation replaced before it had a worker exits at once: a hand-off, not a death (the
    // audit after the test fails on any "died unexpectedly").
    expect(ss.output).not.toMatch(/stopTimeout/);
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
  });

  it("an operator's QUIT to the master: its job finishes, start-server starts a new generation and says so at info (a stop, not a crash)", async () => {
    const e = setup(2);
    const ss = chain(e);
    const first = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    await readyWorkers(e, 2, first);
    const r = suite.redis.client();
    await enqueueRecords(r, e.ns, 1, 1500, 'slow');
    await pollUntil(() => e.status()?.workers.some((w) => w.state === 'busy'), { what: 'a worker busy' });
    process.kill(first, 'SIGQUIT');
    await ss.waitForLine(new RegExp(`\\[info\\] \\[start-server\\] worker ${first} \\(generation 1\\) exited by itself with status:0 \\(exit code 0\\): a stop, not a crash`), {
      timeoutMs: slow(15_000),
    });
    expect(await doneIds(r, e.ns)).toEqual(['slow0']);
    const second = await pollUntil(() => (existsSync(e.pidFile) && masterOf(e) !== first ? masterOf(e) : undefined), { what: 'a new master', timeoutMs: slow(15_000) });
    await readyWorkers(e, 2, second);
    expect(ss.output).not.toMatch(/died unexpectedly/);
    process.kill(ss.pid, 'SIGTERM');
    expect((await ss.waitForExit({ timeoutMs: slow(15_000) })).code).toBe(0);
  });

  it('a custom afterFork that retires nobody: the master sends each TTOU itself, and no line says a worker sent one', async () => {
    const e = setup(2);
    const ss = chain(e);
    const first = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    await readyWorkers(e, 2, first);
    e.writeConf({ concurrency: 2, extra: 'afterFork: async () => {},' });
    const from = ss.output.length;
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(/rolling restart done/, { from, timeoutMs: slow(20_000) });
    await waitForPidExit(first, { timeoutMs: slow(10_000) });
    const after = ss.output.slice(from);
    expect(after.match(new RegExp(`afterFork did not call retireOldWorker\\(\\): the master asked old master ${first} itself to retire one worker`, 'g'))).toHaveLength(2);
    expect(after).not.toMatch(/ready in \d+ ms; asked old master/);
    process.kill(ss.pid, 'SIGTERM');
    expect((await ss.waitForExit({ timeoutMs: slow(15_000) })).code).toBe(0);
  });

  it('a runtime `scale` survives a rolling restart while the config concurrency is unchanged; a changed concurrency wins', async () => {
    const e = setup(3);
    const ss = chain(e);
    const first = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    await readyWorkers(e, 3, first);
    const scale = spawnNode(BIN.resqueStarter, ['scale', '4', '-c', e.conf], { env: e.env() });
    expect((await scale.waitForExit()).code).toBe(0);
    await readyWorkers(e, 4, first);
    let from = ss.output.length;
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(
      new RegExp(`concurrency 4: the runtime count of old master ${first} \\(generation 1\\) \\(set by scale, TTIN or TTOU\\) is kept, as the config's concurrency \\(3\\) has not changed`),
      { from, timeoutMs: slow(20_000) },
    );
    await ss.waitForLine(/rolling restart done in [\d.]+s: 4 new worker\(s\) ready/, { from, timeoutMs: slow(20_000) });
    await waitForPidExit(first, { timeoutMs: slow(10_000) });
    const second = masterOf(e);
    await readyWorkers(e, 4, second);
    // The config's concurrency changes: it wins over the runtime count.
    e.writeConf({ concurrency: 2 });
    from = ss.output.length;
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(
      new RegExp(`concurrency 2 from the config: it changed from 3 since old master ${second} \\(generation \\d+\\) loaded it, so the count old master ${second} \\(generation \\d+\\) ran \\(4\\) is not kept`),
      { from, timeoutMs: slow(20_000) },
    );
    await ss.waitForLine(/rolling restart done/, { from, timeoutMs: slow(20_000) });
    await waitForPidExit(second, { timeoutMs: slow(10_000) });
    await readyWorkers(e, 2, masterOf(e));
    process.kill(ss.pid, 'SIGTERM');
    expect((await ss.waitForExit({ timeoutMs: slow(15_000) })).code).toBe(0);
  });

  it('with the recommended production flags (--signal-on-term=QUIT --term-timeout), TERM to start-server (systemctl stop) lets a running job finish', async () => {
    const e = setup(2);
    const ss = chain(e, { flags: ['--signal-on-term=QUIT', '--term-timeout=30'] });
    const m = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    await readyWorkers(e, 2, m);
    const r = suite.redis.client();
    await enqueueRecords(r, e.ns, 1, 2000, 'slow');
    await pollUntil(async () => (await r.llen(`${e.ns}:rs:started`)) === 1, { what: 'the slow job started' });
    process.kill(ss.pid, 'SIGTERM');
    expect(await ss.waitForExit({ timeoutMs: slow(20_000) })).toEqual({ code: 0, signal: null });
    expect(await doneIds(r, e.ns)).toEqual(['slow0']); // finished, once
    expect(await r.lrange(`${e.ns}:rs:started`, 0, -1)).toHaveLength(1); // not run again
    expect(await r.llen(`${e.ns}:queue:rs`)).toBe(0); // not put back
    expect(await r.llen(`${e.ns}:failed`)).toBe(0);
    expect(liveWorkers(e.ns)).toEqual([]);
    expect(ss.output).toMatch(/received TERM, sending QUIT to all workers/);
    expect(ss.output).toMatch(/received QUIT: graceful shutdown: workers finish their jobs/);
  });

  it('TERM to start-server stops every generation; in-flight jobs go back to the queue', async () => {
    const e = setup(2);
    const ss = chain(e);
    const m = await pollUntil(() => (existsSync(e.pidFile) ? masterOf(e) : undefined), { what: 'pid file' });
    await readyWorkers(e, 2, m);
    const r = suite.redis.client();
    const ids = await enqueueRecords(r, e.ns, 2, 30_000, 'long');
    await pollUntil(async () => (await r.llen(`${e.ns}:rs:started`)) === 2, { what: 'both jobs started' });
    process.kill(ss.pid, 'SIGTERM');
    expect((await ss.waitForExit({ timeoutMs: slow(15_000) })).code).toBe(0);
    expect(liveWorkers(e.ns)).toEqual([]);
    const queued = (await r.lrange(`${e.ns}:queue:rs`, 0, -1)).map((p) => (JSON.parse(p) as { args: string[] }).args[0]).sort();
    expect(queued).toEqual(ids.sort());
  });
});
