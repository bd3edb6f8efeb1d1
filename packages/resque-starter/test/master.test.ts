import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEventLoop, createFakeHost, type FakeHost, type FakeSpawn } from '@baton/process-kit';
import { controlSocketPath, openHandoff, sendControl } from '../src/control.js';
import { runMaster, type MasterDeps } from '../src/master.js';
import type { ResqueQueue } from '../src/resque.js';
import { initialState, reduce, type Effect, type MasterEvent, type MasterState } from '../src/state/index.js';

// The whole master (boot, loop, effects, control socket) against the fake process host: the
// config load and the control socket are real, Redis and every process are played by the test.

interface Running {
  host: FakeHost;
  run: Promise<number>;
  log: { text: string };
  queue: { [K in keyof ResqueQueue]: ReturnType<typeof vi.fn> };
  dir: string;
  conf: string;
  env: NodeJS.ProcessEnv;
}

// One runtime directory (control sockets, the config loader's cache) for the file: the loader
// is made once per process.
let runtime: string;
beforeAll(() => {
  runtime = mkdtempSync(join(tmpdir(), 'rs-runtime-'));
});
afterAll(() => rmSync(runtime, { recursive: true, force: true }));
const dirs: string[] = [];
const running: Running[] = [];
afterEach(async () => {
  // A test that left its master running: TERM, its workers exit, it must end.
  for (const m of running.splice(0)) {
    m.host.raise('SIGTERM');
    for (const s of m.host.liveChildren()) s.exit(null, 'SIGTERM');
    await m.run;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A config file in a fresh directory (reapJobProcesses off: the fake pids are not ours to scan in /proc). */
function writeConf(dir: string, fields: string): string {
  const conf = join(dir, 'conf.ts');
  writeFileSync(conf, `export default { jobs: { A: () => undefined }, reapJobProcesses: false, ${fields} };\n`);
  return conf;
}

function startMaster(fields: string, deps: Partial<MasterDeps> = {}, extraEnv: NodeJS.ProcessEnv = {}): Running {
  const dir = mkdtempSync(join(tmpdir(), 'rs-master-'));
  dirs.push(dir);
  const conf = writeConf(dir, fields);
  const host = createFakeHost();
  const log = { text: '' };
  const stderr = new Writable({
    write(chunk: Buffer, _enc, done) {
      log.text += chunk.toString();
      done();
    },
  });
  const queue = { recoverWorker: vi.fn(async () => 1), failInflight: vi.fn(async () => false), holdLocks: vi.fn(async () => []), close: vi.fn(async () => undefined), queues: vi.fn(async () => []), size: vi.fn(async () => 0), peek: vi.fn(async () => []) };
  const env = { RESQUE_STARTER_RUNTIME_DIR: runtime, ...extraEnv };
  const run = runMaster(conf, {
    env,
    stderr,
    host,
    deps: { checkRedis: async () => undefined, createQueue: async () => queue as unknown as ResqueQueue, watchRedis: async () => () => undefined, createScheduler: async () => undefined, ...deps },
  });
  const m = { host, run, log, queue, dir, conf, env };
  running.push(m);
  return m;
}

/** Waits (with a deadline) until `cond` holds: the master's start-up is real I/O. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The master ends: its run resolves and it is no longer cleaned up by afterEach. */
async function finished(m: Running): Promise<number> {
  running.splice(running.indexOf(m), 1);
  return await m.run;
}

/** The worker says hello and ready, as worker-main does once it is registered. */
function ready(s: FakeSpawn, id = `host:${s.pid}:q`): void {
  s.message({ t: 'hello', id, ids: [id] });
  s.message({ t: 'ready', retired: false });
}

const slotOf = (s: FakeSpawn) => s.spec.env.RESQUE_STARTER_SLOT;

describe('runMaster start-up', () => {
  it('a TERM that arrives while the config loads: no worker is ever spawned, exit code 0', async () => {
    const m = startMaster('concurrency: 2');
    expect(m.host.raise('SIGTERM')).toBe(true);
    expect(await finished(m)).toBe(0);
    expect(m.host.spawns).toEqual([]);
  });

  it('a TERM that arrives before the loop opens (during the Redis check) takes effect before any worker starts', async () => {
    let redisAnswers!: () => void;
    const checked = new Promise<void>((r) => (redisAnswers = r));
    let checking = false;
    const m = startMaster('concurrency: 2', {
      checkRedis: async () => {
        checking = true;
        await checked;
      },
    });
    await until(() => checking, 'the Redis check');
    m.host.raise('SIGTERM');
    redisAnswers();
    expect(await finished(m)).toBe(0);
    expect(m.host.spawns).toEqual([]);
    expect(m.log.text).toMatch(/received TERM/);
    // Nothing is left running or installed but the signal handlers (kept to the very end).
    expect(m.host.intervalCount()).toBe(0);
    expect(m.host.timerKeys()).toEqual([]);
    expect(m.host.fatalGuardCount()).toBe(0);
    expect(m.host.handlerCount('SIGTERM')).toBe(1);
  });

  it('spawns the configured workers detached, with the worker environment, and writes the status file', async () => {
    const m = startMaster("concurrency: 1, queues: ['q'], statusFile: 'status.json'");
    await until(() => m.host.spawns.length === 1, 'the first spawn');
    const s = m.host.spawns[0]!;
    expect(s.spec).toMatchObject({ file: process.execPath, detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    expect(s.spec.args.at(-1)).toMatch(/worker\.js$/);
    expect(s.spec.env).toMatchObject({ RESQUE_STARTER_CONFIG: m.conf, RESQUE_STARTER_SLOT: '0', RESQUE_STARTER_MASTER_PID: '999' });
    ready(s);
    m.host.advance(50);
    const status = JSON.parse(m.host.files.get(join(m.dir, 'status.json'))!.data) as { master: { pid: number }; workers: Array<{ pid: number; state: string }> };
    expect(status.master.pid).toBe(999);
    expect(status.workers).toMatchObject([{ pid: s.pid, state: 'idle' }]);
    expect(m.host.titles.at(-1)).toBe('resque-starter master 1/1 (q)');
  });
});

describe('runMaster signals and workers', () => {
  it('spawn → ready → TTIN → a second worker in slot 1', async () => {
    const m = startMaster('concurrency: 1');
    await until(() => m.host.spawns.length === 1, 'the first spawn');
    ready(m.host.spawns[0]!);
    m.host.raise('SIGTTIN');
    expect(m.host.spawns.map(slotOf)).toEqual(['0', '1']);
    expect(m.log.text).toMatch(/TTIN: 1 → 2 worker\(s\)/);
  });

  it('a spawn that fails is a spawnFailed event: logged (a death for the crash-loop count), and the slot is tried again', async () => {
    const m = startMaster('concurrency: 1');
    await until(() => m.host.spawns.length === 1, 'the first spawn');
    ready(m.host.spawns[0]!);
    m.host.failNextSpawn(new Error('spawn EAGAIN'));
    m.host.raise('SIGTTIN');
    expect(m.log.text).toMatch(/could not start worker\[1\]: spawn EAGAIN/);
    await until(() => m.host.liveChildren().length === 2, 'slot 1 tried again');
    expect(m.host.spawns.map(slotOf)).toEqual(['0', '1', '1']);
  });

  it('a worker that dies: its jobs are recovered and its slot gets a new worker', async () => {
    const m = startMaster('concurrency: 1');
    await until(() => m.host.spawns.length === 1, 'the first spawn');
    const first = m.host.spawns[0]!;
    ready(first, 'host:1000:q');
    first.exit(1);
    expect(m.host.spawns.map(slotOf)).toEqual(['0', '0']);
    await until(() => m.queue.recoverWorker.mock.calls.length === 1, 'the recovery');
    expect(m.queue.recoverWorker).toHaveBeenCalledWith('host:1000:q');
    await until(() => /put 1 in-flight job\(s\) of dead worker 1000 back/.test(m.log.text), 'the recovery line');
  });

  it('QUIT: each worker is asked to finish (QUIT + CONT), and the master exits 0 once they are gone', async () => {
    const m = startMaster("concurrency: 2, statusFile: 'status.json'");
    await until(() => m.host.spawns.length === 2, 'two spawns');
    for (const s of m.host.spawns) ready(s);
    m.host.advance(50);
    m.host.raise('SIGQUIT');
    for (const s of m.host.spawns) {
      expect(m.host.signals).toContainEqual({ pid: s.pid, signal: 'SIGQUIT', group: false });
      expect(m.host.signals).toContainEqual({ pid: s.pid, signal: 'SIGCONT', group: false });
    }
    for (const s of m.host.spawns) s.exit(0);
    expect(await finished(m)).toBe(0);
    expect(m.host.spawns).toHaveLength(2);
    expect(m.host.files.has(join(m.dir, 'status.json'))).toBe(false);
    expect(m.queue.close).toHaveBeenCalled();
    expect(m.host.intervalCount()).toBe(0);
  });

  it('dying of a signal it does not handle: live workers get TERM (and CONT) to their group, the files go', async () => {
    const m = startMaster("concurrency: 1, statusFile: 'status.json'");
    await until(() => m.host.spawns.length === 1, 'the first spawn');
    const s = m.host.spawns[0]!;
    m.host.dieOf('SIGSEGV');
    expect(m.host.signals).toEqual([
      { pid: s.pid, signal: 'SIGTERM', group: true },
      { pid: s.pid, signal: 'SIGCONT', group: true },
    ]);
    expect(m.host.removed).toContain(join(m.dir, 'status.json'));
  });

  it('a restart file touched: the config is reloaded and applied when the reducer accepts it', async () => {
    const m = startMaster("concurrency: 1, queues: ['a'], restartFile: 'restart'");
    await until(() => m.host.spawns.length === 1, 'the first spawn');
    ready(m.host.spawns[0]!);
    writeConf(m.dir, "concurrency: 1, queues: ['b'], restartFile: 'restart'");
    m.host.touch(join(m.dir, 'restart'));
    // The new config's worker replaces the old one in slot 0.
    await until(() => m.host.spawns.length === 2, 'the replacement worker');
    const reply = await sendControl(controlSocketPath(999, m.env.RESQUE_STARTER_RUNTIME_DIR!), { cmd: 'status' });
    expect(reply).toMatchObject({ ok: true, status: { master: { queues: ['b'], configVersion: 2 } } });
    expect(m.log.text).toMatch(/restart file .*restart touched/);
  });
});

describe('runMaster control socket', () => {
  it('scale: the input is checked by the master, the request is answered by the reducer', async () => {
    const m = startMaster('concurrency: 1, maxConcurrency: 4');
    await until(() => m.host.spawns.length === 1, 'the first spawn');
    const socket = controlSocketPath(999, m.env.RESQUE_STARTER_RUNTIME_DIR!);
    expect(await sendControl(socket, { cmd: 'scale', workers: 3 })).toEqual({ ok: true, concurrency: 3 });
    expect(m.host.spawns.map(slotOf)).toEqual(['0', '1', '2']);
    expect(await sendControl(socket, { cmd: 'scale', workers: 5 })).toMatchObject({ ok: false, error: expect.stringMatching(/≤ maxConcurrency \(4\)/) });
    expect(await sendControl(socket, { cmd: 'scale', workers: -1 as number })).toMatchObject({ ok: false, error: expect.stringMatching(/≥ 0/) });
    // A reducer guard: a stopping master refuses.
    m.host.raise('SIGQUIT');
    expect(await sendControl(socket, { cmd: 'scale', workers: 2 })).toEqual({ ok: false, error: 'the master is stopping' });
  });
});

describe('runMaster replaced by a newer master (hand-off links)', () => {
  /** A master with two ready workers and a newer master linked to it. */
  async function replaced() {
    const m = startMaster("concurrency: 2, pidFile: 'master.pid'");
    await until(() => m.host.spawns.length === 2, 'two spawns');
    for (const s of m.host.spawns) ready(s);
    const link = await openHandoff(controlSocketPath(999, runtime), { pid: 4242, generation: 7 });
    return { m, link };
  }

  it('the link gets the live count, the workers are marked OLD, each change of the count is pushed, and a restore ends it', async () => {
    const { m, link } = await replaced();
    expect(link.initialLive).toBe(2);
    for (const s of m.host.spawns) expect(s.sent).toContainEqual({ t: 'old', old: true });
    const pushes: number[] = [];
    link.onWorkers((live) => pushes.push(live));
    // A ready worker of the newer master asks for room (TTOU): one of ours is asked to finish.
    m.host.raise('SIGTTOU');
    const quitted = m.host.signals.find((x) => x.signal === 'SIGQUIT')!;
    m.host.spawnOf(quitted.pid).exit(0);
    await until(() => pushes.includes(1), 'the push of the new count');
    // The newer master had taken the pid file over.
    const pidFile = join(m.dir, 'master.pid');
    writeFileSync(pidFile, '4242\n');
    await link.restore();
    // The newer master gave up: this one is back to its 2 workers, no longer OLD, and owns its pid file.
    await until(() => m.host.spawns.length === 3, 'the worker given back');
    expect(m.log.text).toMatch(/new master 4242 gave up its rolling restart: back to 2 worker\(s\)/);
    const kept = m.host.spawns.find((s) => s.pid !== quitted.pid)!;
    expect(kept.sent.at(-1)).toEqual({ t: 'old', old: false });
    await until(() => m.host.files.get(pidFile)?.data === '999\n', 'the pid file taken back');
    // Its connection is still open: the master's shutdown (afterEach) ends it.
  });

  it('a link that closes is a successor lost: the replacement ends', async () => {
    const { m, link } = await replaced();
    link.close();
    await until(() => /new master 4242 went away during the rolling restart: back to 2 worker\(s\)/.test(m.log.text), 'the end of the replacement');
    expect(m.host.spawns.at(-1)!.sent.at(-1)).toEqual({ t: 'old', old: false });
  });
});

describe('the master loop', () => {
  // Issue 10 item 1: a HUP storm's new master linked two old masters; the first one left while
  // the second was still being linked, its `predecessorGone` reached the reducer before `start`
  // and was dropped, and the master counted 2 workers of a dead master for ever (stuck at 2 of 3).
  it('a predecessor that leaves while the master is still starting is not counted for ever', () => {
    const settings = {
      readyTimeoutMs: 5000, stopTimeoutMs: 10_000, termTimeoutMs: 2000, jobTimeoutMs: undefined, maxMemoryKb: undefined,
      crashLoop: { deaths: 4, windowMs: 60_000, delayMs: 1000, maxDelayMs: 8000 }, maxConcurrency: 64, maxStarting: 8, reapJobProcesses: true,
    };
    let spawned = 0;
    const loop = createEventLoop<MasterState, MasterEvent, Effect>({
      initial: initialState(settings),
      reduce,
      execute: (fx) => void (spawned += fx.type === 'spawn' ? 1 : 0),
      now: () => 1000,
    });
    // the tracker's poll reports the first predecessor gone while attach() links the second one
    loop.push({ type: 'predecessorWorkers', pid: 50, live: 0 });
    loop.push({ type: 'predecessorGone', pid: 50 });
    loop.open({ type: 'start', desired: 3, predecessors: [{ pid: 50, generation: 4, live: 2, linked: false }] });
    expect(loop.state.predecessors).toEqual([]);
    expect(spawned).toBe(3);
  });
});

describe('runMaster readiness (systemd, start-server --ready-notify)', () => {
  /** Plays every systemd-notify the master runs: each exits 0; returns the messages so far. */
  const notified = (host: FakeHost) => {
    for (const s of host.liveChildren()) if (s.spec.file === 'systemd-notify') s.exit(0);
    return host.spawns.filter((s) => s.spec.file === 'systemd-notify').map((s) => s.spec.args.slice(1).join(' '));
  };
  const workers = (host: FakeHost) => host.spawns.filter((s) => s.spec.file !== 'systemd-notify');

  it('standalone with NOTIFY_SOCKET: READY=1 once every worker is ready, RELOADING=1 … READY=1 around a HUP, STOPPING=1; workers see no NOTIFY_SOCKET', async () => {
    const m = startMaster('concurrency: 2', {}, { NOTIFY_SOCKET: '/run/n.sock', WATCHDOG_USEC: '2000000' });
    await until(() => workers(m.host).length === 2, 'two workers');
    expect(workers(m.host)[0]!.spec.env.NOTIFY_SOCKET).toBeUndefined();
    expect(workers(m.host)[0]!.spec.env.WATCHDOG_USEC).toBeUndefined();
    ready(workers(m.host)[0]!);
    expect(notified(m.host).some((a) => a.includes('READY=1'))).toBe(false);
    ready(workers(m.host)[1]!);
    expect(notified(m.host).at(-1)).toBe('READY=1 STATUS=2/2 workers ready (0 busy, 2 live)');
    m.host.advance(1000);
    expect(notified(m.host).at(-1)).toBe('WATCHDOG=1');

    m.host.raise('SIGHUP');
    await until(() => notified(m.host).some((a) => a.startsWith('RELOADING=1')), 'RELOADING=1');
    expect(notified(m.host).find((a) => a.startsWith('RELOADING=1'))).toMatch(/^RELOADING=1 MONOTONIC_USEC=\d+ STATUS=reloading: /);
    // The reload replaces each worker by a new one: play the new ones ready and the old ones gone.
    await until(() => {
      for (const s of workers(m.host)) if (!s.ended && s.child && m.host.signals.some((x) => x.pid === s.pid && x.signal === 'SIGQUIT')) s.exit(0);
      for (const s of workers(m.host).slice(2)) if (!s.ended && !(s as { said?: boolean }).said) ((s as { said?: boolean }).said = true), ready(s);
      return notified(m.host).filter((a) => a.includes('READY=1')).length === 2;
    }, 'READY=1 after the reload');
    m.host.raise('SIGQUIT');
    expect(notified(m.host).at(-1)).toMatch(/^STOPPING=1 STATUS=stopping: /);
  });

  it('under start-server: READY=1 on SERVER_STARTER_NOTIFY_FD once ready, and never a word to systemd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-gate-'));
    dirs.push(dir);
    const fd = openSync(join(dir, 'gate'), 'w');
    const m = startMaster('concurrency: 1', {}, { NOTIFY_SOCKET: '/run/n.sock', SERVER_STARTER_PID: '1', SERVER_STARTER_NOTIFY_FD: String(fd) });
    await until(() => workers(m.host).length === 1, 'the worker');
    expect(workers(m.host)[0]!.spec.env.SERVER_STARTER_NOTIFY_FD).toBeUndefined();
    expect(readFileSync(join(dir, 'gate'), 'utf8')).toBe('');
    ready(workers(m.host)[0]!);
    expect(readFileSync(join(dir, 'gate'), 'utf8')).toBe('READY=1\n');
    expect(m.log.text).toMatch(new RegExp(`ready: told start-server READY=1 \\(SERVER_STARTER_NOTIFY_FD ${fd}\\)`));
    expect(notified(m.host)).toEqual([]);
  });
});
