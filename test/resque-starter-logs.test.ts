// Structured logs (issue 15): `--log-format json` turns every line of the master and its workers
// into one JSON object; the Redis password appears in no line, in either format.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { BIN, spawnNode } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pollUntil } from './helpers/wait.js';
import { assertNoUnexpectedAlarms, unexpectedAlarms } from './helpers/log-audit.js';
import { doneIds, enqueueRecords, RsEnv, type ConfOptions } from './fixtures/rs-harness.js';

/** requirepass of this suite's redis-server: no log line may carry it (nor its URL-encoded form). */
const PASSWORD = 'pw-Zq7%x!4';

interface JsonLine {
  time: string;
  level: string;
  pid: number;
  role: string;
  generation?: number;
  group?: string;
  slot?: number;
  worker?: string;
  msg: string;
  [field: string]: unknown;
}

let redis: TestRedis;
const envs: RsEnv[] = [];
beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
});
afterAll(async () => {
  await redis?.close();
});
afterEach(() => {
  for (const e of envs.splice(0)) e.cleanup();
});
const setup = (options: ConfOptions = {}) => {
  const e = new RsEnv(redis, options);
  envs.push(e);
  return e;
};

/** Every line of `text` as JSON; fails on the first line that is not one JSON object. */
function parseLines(text: string, where: string): JsonLine[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      let o: unknown;
      try {
        o = JSON.parse(l);
      } catch {
        throw new Error(`${where}: a line that is not JSON: ${l}\n--- output ---\n${text}`);
      }
      expect(o, l).toMatchObject({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), level: expect.any(String), pid: expect.any(Number), role: expect.stringMatching(/^(master|worker)$/), msg: expect.any(String) });
      return o as JsonLine;
    });
}

function expectNoPassword(output: string): void {
  expect(output).not.toContain(PASSWORD);
  expect(output).not.toContain(encodeURIComponent(PASSWORD));
}

describe('resque-starter --log-format json', () => {
  it('every line of the master and its workers is one JSON object with its fields; no password', async () => {
    const e = setup({ concurrency: 2 });
    const m = e.master(['--log-format', 'json']);
    // Both ready (a QUIT before a worker is ready stops it before it has started).
    for (const slot of [0, 1]) await m.waitForLine(new RegExp(`"msg":"worker\\[${slot}\\] \\d+ ready`), { timeoutMs: slow(15_000) });
    const r = redis.client();
    await enqueueRecords(r, e.ns, 2, 0);
    await pollUntil(async () => (await doneIds(r, e.ns)).length === 2, { what: 'both jobs done' });
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });

    const lines = parseLines(m.output, 'resque-starter');
    const master = lines.filter((l) => l.role === 'master');
    expect(master.every((l) => l.pid === m.pid)).toBe(true);
    // The master's own lines name no worker; its lines about one name it (and say what happened).
    expect(master.filter((l) => l.slot !== undefined || l.worker !== undefined).every((l) => typeof l.event === 'string')).toBe(true);
    expect(master.find((l) => l.msg.startsWith(`master ${m.pid} starting 2 worker(s)`))?.msg).toContain('redis redis://:***@127.0.0.1');
    const workers = lines.filter((l) => l.role === 'worker');
    // Each worker's lines carry its slot; once its Resque worker exists, its id too.
    const started = workers.filter((l) => /^worker \S+ started/.test(l.msg));
    expect(started.map((l) => l.slot).sort(), m.output).toEqual([0, 1]);
    for (const l of started) {
      expect(l.worker).toMatch(new RegExp(`^[^:]+:${l.pid}:rs$`));
      expect(l.group).toBeUndefined();
      expect(l.level).toBe('info');
    }
    expect(lines.some((l) => l.level === 'error' || l.level === 'fatal')).toBe(false);
    // The audit every chain test runs reads JSON lines too.
    assertNoUnexpectedAlarms([{ label: 'resque-starter', output: m.output }]);
    expect(unexpectedAlarms('{"time":"x","level":"error","pid":1,"role":"worker","msg":"boom"}')).toHaveLength(1);
    expectNoPassword(m.output);
  });

  it("the master's lines about a worker (started, ready, exited with its reason) carry the worker's slot, pid, id and the event as fields", async () => {
    const e = setup({ concurrency: 2 });
    const m = e.master(['--log-format', 'json']);
    for (const slot of [0, 1]) await m.waitForLine(new RegExp(`"msg":"worker\\[${slot}\\] \\d+ ready`), { timeoutMs: slow(15_000) });
    process.kill(m.pid, 'SIGTTOU');
    await m.waitForLine(/"event":"worker-exited"/, { timeoutMs: slow(15_000) });
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });

    const lines = parseLines(m.output, 'resque-starter');
    const about = (event: string, slot: number) => lines.filter((l) => l.role === 'master' && l.event === event && l.slot === slot);
    // The worker's pid as the worker's own lines give it.
    const pidOf = (slot: number) => lines.find((l) => l.role === 'worker' && l.slot === slot)?.pid;
    for (const slot of [0, 1]) {
      const [started] = about('worker-started', slot);
      expect(started, m.output).toMatchObject({ level: 'debug', pid: m.pid, role: 'master', slot, workerPid: pidOf(slot), version: expect.any(Number) });
      expect(started!.msg).toBe(`starting worker[${slot}] ${pidOf(slot)}`);
      const [ready] = about('worker-ready', slot);
      expect(ready, m.output).toMatchObject({ level: 'info', pid: m.pid, slot, workerPid: pidOf(slot), worker: expect.stringMatching(new RegExp(`^[^:]+:${pidOf(slot)}:rs$`)), readyMs: expect.any(Number) });
      expect(ready!.group).toBeUndefined();
    }
    // TTOU stops the highest slot (reason scale); QUIT the other (reason shutdown); both exit 0.
    expect(about('worker-exited', 1), m.output).toEqual([
      expect.objectContaining({ level: 'info', pid: m.pid, slot: 1, workerPid: pidOf(1), worker: expect.stringContaining(`:${pidOf(1)}:`), reason: 'scale', mode: 'graceful', code: 0, uptimeMs: expect.any(Number) }),
    ]);
    expect(about('worker-exited', 0), m.output).toEqual([expect.objectContaining({ slot: 0, workerPid: pidOf(0), reason: 'shutdown', code: 0 })]);
    expect(about('worker-exited', 1)[0]!.msg).toMatch(/^worker\[1\] \d+ exited \(scaled down\): /);
    assertNoUnexpectedAlarms([{ label: 'resque-starter', output: m.output }]);
  });

  it('the text format (the default) carries no password either', async () => {
    const e = setup({ concurrency: 1 });
    const m = e.master();
    await m.waitForLine(/worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const r = redis.client();
    await enqueueRecords(r, e.ns, 1, 0);
    await pollUntil(async () => (await doneIds(r, e.ns)).length === 1, { what: 'job done' });
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
    expect(m.output).toMatch(/^\S+ \[info\] \[resque-starter\] master \d+ starting 1 worker\(s\) on queues rs \(redis redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\)/m);
    expect(m.output).not.toMatch(/^\{/m);
    expectNoPassword(m.output);
    assertNoUnexpectedAlarms([{ label: 'resque-starter', output: m.output }]);
  });

  it("logFormat 'json' in the config, with logFile: the file takes JSON lines of both roles, and keeps doing so after reopen-logs", async () => {
    const e = setup({ concurrency: 1, extra: "logFile: 'log/rs.log', logFormat: 'json'," });
    const m = e.master();
    const log = `${e.dir}/log/rs.log`;
    await pollUntil(() => existsSync(log) && /"msg":"worker\[0\] \d+ ready/.test(readFileSync(log, 'utf8')), { what: 'ready line in the log file', timeoutMs: slow(15_000) });
    renameSync(log, `${log}.1`);
    const reopen = spawnNode(BIN.resqueStarter, ['reopen-logs', '-c', e.conf], { env: e.env() });
    expect((await reopen.waitForExit()).code).toBe(0);
    await pollUntil(() => existsSync(log) && /reopened log file/.test(readFileSync(log, 'utf8')), { what: 'new log file' });
    // A worker's line after the reopen goes to the new file (through the master, as before).
    const r = redis.client();
    await enqueueRecords(r, e.ns, 1, 0);
    await pollUntil(async () => (await doneIds(r, e.ns)).length === 1, { what: 'job done' });
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
    const before = parseLines(readFileSync(`${log}.1`, 'utf8'), 'rs.log.1');
    const after = parseLines(readFileSync(log, 'utf8'), 'rs.log');
    expect(new Set(before.map((l) => l.role))).toEqual(new Set(['master', 'worker']));
    expect(after.some((l) => l.role === 'master' && /master exiting/.test(l.msg))).toBe(true);
    expect(after.some((l) => l.role === 'worker' && /^worker \S+ stopped/.test(l.msg))).toBe(true);
    // The job line of the job run after the reopen too (job lines are held back a moment, then go the same way).
    expect(after.filter((l) => l.outcome === 'success').map((l) => l.class)).toEqual(['Record']);
    expect(before.some((l) => l.outcome === 'success')).toBe(false);
    // Before the log file is open, the master's first (debug) lines go to stderr: JSON too.
    expect(parseLines(m.output, 'stderr').every((l) => l.role === 'master' && l.level === 'debug')).toBe(true);
    expectNoPassword(readFileSync(`${log}.1`, 'utf8') + readFileSync(log, 'utf8'));
  });

  it('start-server --log-format json: its own lines are JSON, and so are the generation\'s (BATON_LOG_FORMAT), with their generation', async () => {
    const e = setup({ concurrency: 1 });
    const ss = spawnNode(BIN.startServer, [`--status-file=${e.dir}/ss.status`, '--log-format=json', '--signal-on-hup=CONT', '--interval=0.3', '--', process.execPath, BIN.resqueStarter, '-c', e.conf], { label: 'start-server', env: e.env() });
    await ss.waitForLine(/"msg":"worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    // A rolling restart: its steps are lines with fields too.
    ss.kill('SIGHUP');
    await ss.waitForLine(/"event":"rolling-restart-done"/, { timeoutMs: slow(20_000) });
    ss.kill('SIGTERM');
    expect(await ss.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
    const lines = ss.output
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as JsonLine);
    expect(lines.find((l) => l.role === 'start-server' && /starting new worker \d+/.test(l.msg))).toBeDefined();
    const ours = lines.filter((l) => l.role !== 'start-server');
    expect(ours.length).toBeGreaterThan(3);
    const gen1 = lines.find((l) => l.role === 'master' && l.generation === 1)!.pid;
    const gen2 = lines.find((l) => l.role === 'master' && l.generation === 2)!.pid;
    // Each line's generation is its master's: a worker's is that of the master whose line started it.
    const genOf = new Map<number, number>([[gen1, 1], [gen2, 2]]);
    for (const l of lines) if (l.event === 'worker-started') genOf.set(l.workerPid as number, l.pid === gen1 ? 1 : 2);
    for (const l of ours) expect(l.generation, JSON.stringify(l)).toBe(genOf.get(l.pid));
    const event = (name: string) => lines.find((l) => l.event === name);
    expect(event('rolling-restart-started'), ss.output).toMatchObject({ role: 'master', pid: gen2, generation: 2, oldMasters: [{ pid: gen1, generation: 1, workers: 1 }], desired: 1, bound: 2 });
    expect(event('replaced-started'), ss.output).toMatchObject({ role: 'master', pid: gen1, generation: 1, newMaster: gen2, newGeneration: 2, workers: 1 });
    // The new worker is ready and retires the old one; the old master's line says why its worker exited.
    expect(lines.find((l) => l.event === 'worker-ready' && l.pid === gen2), ss.output).toMatchObject({ generation: 2, slot: 0, retired: gen1, retiredBy: 'worker' });
    expect(lines.find((l) => l.event === 'worker-exited' && l.pid === gen1), ss.output).toMatchObject({ generation: 1, slot: 0, reason: 'scale', code: 0 });
    expect(event('rolling-restart-done'), ss.output).toMatchObject({ pid: gen2, generation: 2, durationMs: expect.any(Number), ready: 1, oldMasters: [gen1] });
    expectNoPassword(ss.output);
  });

  it('a finished job gives one info line with its class, queue and outcome; a failing one a warn line with its error; jobLog false keeps only failures', async () => {
    const jobs = "Boom() { throw new Error('it broke\\nsecond line of the error'); },";
    const e = setup({ concurrency: 1, jobs });
    const m = e.master(['--log-format', 'json']);
    const oldPid = (await m.waitForLine(/"msg":"worker\[0\] (\d+) ready/, { timeoutMs: slow(15_000) }))[1];
    const r = redis.client();
    await enqueueRecords(r, e.ns, 1, 0, 'ok');
    await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: 'Boom', args: [] }));
    await m.waitForLine(/"msg":"job Boom on rs failed in/, { timeoutMs: slow(10_000) });
    const lines = parseLines(m.output, 'resque-starter');
    const done = lines.filter((l) => l.outcome === 'success');
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ level: 'info', role: 'worker', slot: 0, class: 'Record', queue: 'rs', attempt: 1, jobId: expect.stringMatching(/^[0-9a-f]{40}$/), durationMs: expect.any(Number) });
    expect(done[0]!.worker).toBe(lines.find((l) => l.role === 'worker' && l.worker)!.worker);
    expect(done[0]!.msg).toBe('job Record on rs done');
    const failed = lines.filter((l) => l.outcome === 'failure');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 'warn', class: 'Boom', queue: 'rs', attempt: 1, exception: 'Error', error: 'it broke …' });
    expect(failed[0]!.msg).toMatch(/^job Boom on rs failed in [\d.]+ ms \(attempt 1, id [0-9a-f]{8}\): Error: it broke …$/);

    e.writeConf({ concurrency: 1, jobs, extra: 'jobLog: false,' });
    process.kill(m.pid, 'SIGHUP');
    const from = m.output.length;
    await m.waitForLine(/"msg":"worker\[0\] \d+ ready/, { timeoutMs: slow(15_000), from });
    // Only the new worker (jobLog false) may take the next jobs: the old one has gone.
    await m.waitForLine(new RegExp(`"msg":"worker\\[0\\] ${oldPid} exited`), { timeoutMs: slow(15_000), from });
    await enqueueRecords(r, e.ns, 3, 0, 'quiet');
    await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: 'Boom', args: [] }));
    await m.waitForLine(/"msg":"job Boom on rs failed in/, { timeoutMs: slow(10_000), from });
    await pollUntil(async () => (await doneIds(r, e.ns)).length === 4, { what: 'the quiet jobs done' });
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
    const later = parseLines(m.output.slice(from), 'after the reload');
    expect(later.filter((l) => l.outcome === 'success')).toEqual([]);
    expect(later.filter((l) => l.outcome === 'failure')).toHaveLength(1);
    expectNoPassword(m.output);
  });

  it('job lines are held back and written together, yet in order with every other line: a success listener\'s line comes right after its job\'s line; all are out by the graceful stop', async () => {
    const N = 200;
    const e = setup({
      concurrency: 1,
      jobs: "Say(i: number) { console.log('saying', i); },",
      // A console line made right after each job line (the job-line listener was added first).
      extra: "afterFork: (w: any) => { w.worker.on('success', (job: any) => console.log('acked', job.payload.args[0])); w.retireOldWorker(); },",
    });
    const m = e.master(['--log-format', 'json']);
    await m.waitForLine(/"msg":"worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const r = redis.client();
    await r.rpush(`${e.ns}:queue:rs`, ...Array.from({ length: N }, (_, i) => JSON.stringify({ class: 'Say', args: [i] })));
    await pollUntil(async () => Number(await r.get(`${e.ns}:stat:processed`)) >= N, { what: `${N} jobs processed`, timeoutMs: slow(20_000) });
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
    const lines = parseLines(m.output, 'resque-starter').filter((l) => l.role === 'worker');
    const done = lines.flatMap((l, i) => (l.outcome === 'success' && l.class === 'Say' ? [i] : []));
    expect(done, m.output.slice(-3000)).toHaveLength(N);
    // One worker, one queue: the jobs ran in order. Job k said its line before its job line, and
    // the listener's "acked k" follows the job line at once (held back, it would come first).
    for (const [k, i] of done.entries()) {
      expect(lines[i + 1], `after job line ${k}`).toMatchObject({ msg: `acked ${k}`, level: 'info' });
      const said = lines.findIndex((l) => l.msg === `saying ${k}`);
      expect(lines[said]).toMatchObject({ source: 'console', jobId: lines[i]!.jobId });
      expect(said).toBeLessThan(i);
    }
    // The worker's last lines come after every job line.
    expect(lines.findIndex((l) => /^worker \S+ stopped/.test(l.msg))).toBeGreaterThan(done.at(-1)!);
    expectNoPassword(m.output);
  });

  it('job lines wait only between quick jobs of one class and queue: a job of another class that blocks the loop right after a stream finds every earlier job line written', async () => {
    const N = 300;
    const e = setup({
      concurrency: 1,
      // Blocks its worker's event loop for ms, after saying so in a file.
      jobs: "Spin(path: string, ms: number) { appendFileSync(path, 'spinning\\n'); const t = Date.now(); while (Date.now() - t < ms) {} },",
      // A job at a time: a job's outcome (and so its line) is settled before the next one starts
      // (with a prefetched batch, the outcomes of the jobs before Spin in its batch come after it).
      extra: 'prefetch: 1,',
    });
    const m = e.master(['--log-format', 'json']);
    await m.waitForLine(/"msg":"worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const marker = join(e.dir, 'spinning');
    const r = redis.client();
    await r.rpush(`${e.ns}:queue:rs`, ...Array.from({ length: N }, (_, i) => JSON.stringify({ class: 'Quick', args: [`q${i}`] })), JSON.stringify({ class: 'Spin', args: [marker, slow(5000)] }));
    await pollUntil(() => existsSync(marker), { what: 'the Spin job running', timeoutMs: slow(20_000) });
    // While Spin holds the worker's loop, every Quick job's line is already out.
    const quickDone = () => parseLines(m.output, 'resque-starter').filter((l) => l.class === 'Quick' && l.outcome === 'success').length;
    await pollUntil(() => quickDone() === N, { what: `${N} Quick job lines while Spin blocks`, timeoutMs: slow(2000) });
    expect(m.output).not.toContain('"msg":"job Spin on rs done"');
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(20_000) })).toEqual({ code: 0, signal: null });
    expect(m.output).toContain('"msg":"job Spin on rs done"');
  });

  it('text lines for jobs read as before: done at info, failed at warn', async () => {
    const e = setup({ concurrency: 1, jobs: "Boom() { throw new TypeError('no such thing'); }," });
    const m = e.master();
    await m.waitForLine(/worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const r = redis.client();
    await enqueueRecords(r, e.ns, 1, 0);
    await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: 'Boom', args: [] }));
    await m.waitForLine(/\[warn\] \[worker\[0\]\] job Boom on rs failed in [\d.]+ ms \(attempt 1, id [0-9a-f]{8}\): TypeError: no such thing\n/, { timeoutMs: slow(10_000) });
    expect(m.output).toMatch(/\[info\] \[worker\[0\]\] job Record on rs done in [\d.]+ ms \(attempt 1, id [0-9a-f]{8}\)\n/);
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
  });

  it("a job's console output arrives as JSON lines with its job's fields, the config's own as master/worker lines; a password a job prints is masked", async () => {
    const url = JSON.stringify(redis.url);
    const e = setup({
      concurrency: 1,
      prelude: "console.log('config evaluated in', process.pid);",
      jobs: `Chatty(id: string) {
      console.log('working on', id, 'against', ${url});
      console.warn('careful:', ${JSON.stringify(PASSWORD)});
      console.error({ id, password: ${JSON.stringify(PASSWORD)} });
    },`,
    });
    const m = e.master(['--log-format', 'json']);
    await m.waitForLine(/"msg":"worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const r = redis.client();
    await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: 'Chatty', args: ['c1'] }));
    await m.waitForLine(/"msg":"job Chatty on rs done"/, { timeoutMs: slow(10_000) });
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
    const lines = parseLines(m.output, 'resque-starter');
    const done = lines.find((l) => l.outcome === 'success' && l.class === 'Chatty')!;
    const own = lines.filter((l) => l.source === 'console');
    expect(own.map((l) => [l.level, l.msg])).toEqual([
      ['info', 'working on c1 against redis://:***@127.0.0.1:' + redis.port],
      ['warn', 'careful: ***'],
      ['error', "{ id: 'c1', password: '***' }"],
    ]);
    for (const l of own) expect(l).toMatchObject({ role: 'worker', slot: 0, class: 'Chatty', queue: 'rs', attempt: 1, jobId: done.jobId, worker: done.worker });
    // The config runs in the master and in the worker: each says so in its own lines.
    const evaluated = lines.filter((l) => l.msg.startsWith('config evaluated in'));
    expect(new Set(evaluated.map((l) => l.role))).toEqual(new Set(['master', 'worker']));
    expect(evaluated.every((l) => l.class === undefined)).toBe(true);
    expectNoPassword(m.output);
  });

  it('text format: the job in brackets before what it printed', async () => {
    const e = setup({ concurrency: 1, jobs: "Chatty(id: string) { console.log('working on', id); }," });
    const m = e.master();
    await m.waitForLine(/worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const r = redis.client();
    await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: 'Chatty', args: ['c2'] }));
    await m.waitForLine(/\[info\] \[worker\[0\]\] \[Chatty [0-9a-f]{8}\] working on c2\n/, { timeoutMs: slow(10_000) });
    process.kill(m.pid, 'SIGQUIT');
    expect(await m.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
  });
});
