// The resque-starter CLI as an operator uses it without start-server (issue 11 item 5): `stop`
// (graceful, escalating after --timeout), `-D` daemon mode, `-C` working directory, per-command
// help and "did you mean" for a misspelled flag. Real processes, a private redis-server.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spawnNode } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pidAlive, pollUntil, waitForPidExit } from './helpers/wait.js';
import { doneIds, enqueueRecords, liveWorkers, RS_BIN, RsEnv, rsSuite } from './fixtures/rs-harness.js';

const suite = rsSuite();

const rs = (e: RsEnv, args: string[]) => spawnNode(RS_BIN, args, { label: `resque-starter ${args.join(' ')}`, env: e.env() });
const readyWorkers = (e: RsEnv, n: number) =>
  pollUntil(() => {
    const s = e.status();
    const ready = s?.workers.filter((w) => w.state === 'idle' || w.state === 'busy') ?? [];
    return ready.length === n && s!.workers.length === n ? s : undefined;
  }, { what: `${n} ready workers in the status file`, timeoutMs: slow(15_000) });
const noUnexpectedErrors = (output: string, allowed: RegExp[] = []) => {
  const bad = output.split('\n').filter((l) => /\[error\]|SIGKILL|Unhandled|TypeError/.test(l) && !allowed.some((re) => re.test(l)));
  expect(bad).toEqual([]);
};

describe('resque-starter stop', () => {
  it('sends QUIT, lets the running job finish, waits for the master to exit, exits 0', async () => {
    const e = suite.setup({ concurrency: 1 });
    const m = e.master();
    await readyWorkers(e, 1);
    const r = suite.redis.client();
    await enqueueRecords(r, e.ns, 1, 1500, 'slow');
    await pollUntil(() => e.status()?.workers[0]?.state === 'busy', { what: 'worker busy' });
    const stop = rs(e, ['stop', '-c', e.conf]);
    expect(await stop.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
    // By the time `stop` returns, the master is gone (not merely signalled), and the job is done.
    expect(m.exit ?? (await m.waitForExit({ timeoutMs: 1000 }))).toEqual({ code: 0, signal: null });
    expect(pidAlive(m.pid)).toBe(false);
    expect(await doneIds(r, e.ns)).toEqual(['slow0']);
    expect(stop.output).toMatch(new RegExp(`sent QUIT to master ${m.pid}; waiting up to 22 s`));
    expect(stop.output).toContain(`master ${m.pid}: stopped\n`);
    expect(stop.output).not.toMatch(/TERM|KILL/);
    expect(liveWorkers(e.ns)).toEqual([]);
    noUnexpectedErrors(m.output);
  });

  it('--timeout: a master whose job ignores the stop gets TERM after the timeout, and stop says each step', async () => {
    const e = suite.setup({ concurrency: 1 });
    const m = e.master();
    await readyWorkers(e, 1);
    const r = suite.redis.client();
    await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: 'Stubborn', args: [60_000] }));
    await pollUntil(async () => (await r.llen(`${e.ns}:rs:started`)) === 1, { what: 'Stubborn started' });
    const t0 = Date.now();
    const stop = rs(e, ['stop', '--pid-file', e.pidFile, '--timeout', '0.5']);
    expect(await stop.waitForExit({ timeoutMs: slow(20_000) })).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeGreaterThan(500);
    expect(stop.output).toMatch(new RegExp(`sent QUIT to master ${m.pid}; waiting up to 0.5 s`));
    expect(stop.output).toMatch(new RegExp(`master ${m.pid} still running after 0.5 s: sent TERM \\(running jobs go back to their queues\\)`));
    expect(stop.output).toContain(`master ${m.pid}: stopped (after TERM`);
    expect(stop.output).not.toMatch(/KILL/);
    expect(m.exit ?? (await m.waitForExit({ timeoutMs: 1000 }))).toEqual({ code: 0, signal: null });
    // The stubborn job was not finished: it is back on its queue for the next master.
    expect(await doneIds(r, e.ns)).toEqual([]);
    expect(await r.llen(`${e.ns}:queue:rs`)).toBe(1);
    expect(liveWorkers(e.ns)).toEqual([]);
    // The master killed its stubborn worker after termTimeout: that line is expected.
    noUnexpectedErrors(m.output, [/SIGKILL/]);
  });

  it('refuses a pid file that names no running master, with one line and exit 1', async () => {
    const e = suite.setup();
    const stop = rs(e, ['stop', '-c', e.conf]);
    expect((await stop.waitForExit()).code).toBe(1);
    expect(stop.output.trim()).toBe(`resque-starter: no master pid in ${e.pidFile}: is resque-starter running?`);
  });
});

describe('resque-starter -D (daemon mode)', () => {
  it('returns once the master is up; stop ends it and its workers, leaving nothing running', async () => {
    const e = suite.setup({ concurrency: 2, extra: "logFile: 'master.log'," });
    const start = rs(e, ['-D', '-c', e.conf]);
    let daemon: number | undefined;
    try {
      expect(await start.waitForExit({ timeoutMs: slow(20_000) })).toEqual({ code: 0, signal: null });
      daemon = Number(/master (\d+): started in the background/.exec(start.output)?.[1]);
      expect(start.output).toContain(`(pid file ${e.pidFile}, log ${e.dir}/master.log)`);
      // Up means up: the pid file names it and it answers on its control socket right away.
      expect(readFileSync(e.pidFile, 'utf8').trim()).toBe(String(daemon));
      const status = rs(e, ['status', '--pid-file', e.pidFile]);
      expect((await status.waitForExit()).code).toBe(0);
      expect(status.output).toContain(`"pid": ${daemon}`);
      // It is detached: its own session, not a child of the starter (which has exited).
      const stat = readFileSync(`/proc/${daemon}/stat`, 'utf8');
      const [, , , session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      expect(Number(session)).toBe(daemon);
      await readyWorkers(e, 2);
      const r = suite.redis.client();
      await enqueueRecords(r, e.ns, 1, 0, 'd');
      await pollUntil(async () => (await doneIds(r, e.ns)).includes('d0'), { what: 'a job done by the daemon' });

      const stop = rs(e, ['stop', '-c', e.conf]);
      expect(await stop.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
      expect(pidAlive(daemon)).toBe(false);
      expect(liveWorkers(e.ns)).toEqual([]);
      expect(existsSync(e.pidFile)).toBe(false);
      const log = readFileSync(`${e.dir}/master.log`, 'utf8');
      expect(log).toMatch(/worker\[1\] \d+ ready/);
      noUnexpectedErrors(log);
    } finally {
      if (daemon && pidAlive(daemon)) {
        process.kill(daemon, 'SIGKILL');
        await waitForPidExit(daemon);
      }
    }
  });

  it('says why the master did not start (Redis unreachable) and exits non-zero, leaving nothing running', async () => {
    const e = suite.setup({ concurrency: 1, extra: 'redisTimeout: 0.3,' }, { url: 'redis://127.0.0.1:1' });
    const start = rs(e, ['-D', '-c', e.conf]);
    expect((await start.waitForExit({ timeoutMs: slow(20_000) })).code).toBe(1);
    expect(start.output).toMatch(/^resque-starter: .*127\.0\.0\.1:1.*\n$/);
    expect(existsSync(e.pidFile)).toBe(false);
    expect(liveWorkers(e.ns)).toEqual([]);
  });
});

describe('resque-starter CLI', () => {
  it('-C/--dir: the config path is resolved from that directory', async () => {
    const e = suite.setup();
    const check = spawnNode(RS_BIN, ['check', '-C', e.dir, '-c', 'conf.ts'], { env: e.env() });
    expect((await check.waitForExit({ timeoutMs: slow(10_000) })).code).toBe(0);
    expect(check.output).toContain(e.conf);
    const missing = spawnNode(RS_BIN, ['check', '--dir', `${e.dir}/nope`, '-c', 'conf.ts'], { env: e.env() });
    expect((await missing.waitForExit()).code).toBe(2);
    expect(missing.output).toMatch(/^resque-starter: Cannot change to directory `.*\/nope` \(`--dir`\): no such directory \(ENOENT\)\n/);
  });

  it('per-command --help prints that command\'s usage, options and an example', async () => {
    const e = suite.setup();
    const help = spawnNode(RS_BIN, ['scale', '--help'], { env: e.env() });
    expect(await help.waitForExit()).toEqual({ code: 0, signal: null });
    expect(help.output).toMatch(/^resque-starter scale — /);
    expect(help.output).toContain('resque-starter scale [GROUP] N [-c conf.ts | --pid N | --pid-file FILE]');
    expect(help.output).toContain('Example:\n  resque-starter scale 5 -c conf.ts');
    expect(help.output).not.toContain('--timeout');
  });

  it('a misspelled flag gets a suggestion and exit 2; `scale -1` is a worker-count error', async () => {
    const e = suite.setup();
    const typo = spawnNode(RS_BIN, ['stop', '--pidfile', e.pidFile], { env: e.env() });
    expect((await typo.waitForExit()).code).toBe(2);
    expect(typo.output).toBe('resque-starter: Unknown option `--pidfile`; did you mean `--pid-file`?\nTry `resque-starter stop --help`.\n');
    const negative = spawnNode(RS_BIN, ['scale', '-1', '-c', e.conf], { env: e.env() });
    expect((await negative.waitForExit()).code).toBe(2);
    expect(negative.output).toMatch(/^resque-starter: Expected `scale` to get a worker count \(an integer ≥ 0\), got `-1`\n/);
  });
});
