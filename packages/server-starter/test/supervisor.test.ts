import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createFakeHost, createLogger, type FakeHost } from '@baton/process-kit';
import { parseArgv } from '../src/argv.js';
import { resolveOptions } from '../src/options.js';
import { startServer } from '../src/supervisor.js';

// startServer as a whole, through the fake process host: no process, signal, timer or file is real.

const STATUS = '/run/app/start-server.status';

/** Starts start-server on a fake host (`prepare` runs before generation 1 is spawned). */
function boot(args: string[] = [], prepare: (host: FakeHost) => void = () => undefined) {
  const host = createFakeHost({ pid: 500, now: 0 });
  prepare(host);
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().trimEnd().split('\n'));
      cb();
    },
  });
  const { options: raw, command } = parseArgv([`--status-file=${STATUS}`, '--interval=1', ...args, '--', 'app', '--flag']);
  const options = resolveOptions(raw, command);
  let exitCode: number | undefined;
  const done = startServer(options, {
    logger: createLogger({ tag: 'start-server', level: 'debug', stream, timestamps: false }),
    env: { PATH: '/bin' },
    processHost: host,
  }).then((code) => (exitCode = code));
  return { host, lines, done, exited: () => exitCode };
}

const status = (host: FakeHost) => host.files.get(STATUS)?.data;
const signalsTo = (host: FakeHost, pid: number) => host.signals.filter((s) => s.pid === pid).map((s) => s.signal);

describe('startServer through the fake host', () => {
  it('starts generation 1 with the Server::Starter environment and accepts it after --interval', () => {
    const { host, lines } = boot();
    expect(host.spawns).toHaveLength(1);
    const { spec, pid } = host.spawns[0]!;
    expect(pid).toBe(1000);
    expect(spec).toMatchObject({ file: 'app', args: ['--flag'], stdio: ['inherit', 'inherit', 'inherit'] });
    expect(spec.env).toMatchObject({
      PATH: '/bin',
      SERVER_STARTER_PORT: '',
      SERVER_STARTER_PID: '500',
      SERVER_STARTER_GENERATION: '1',
      SERVER_STARTER_STATUS_FILE: STATUS,
    });
    expect(host.handlerCount('SIGHUP')).toBe(1);
    expect(host.handlerCount('SIGTSTP')).toBe(1);
    expect(host.fatalGuardCount()).toBe(1);
    expect(host.titles).toEqual(['start-server starting -- app --flag']);
    expect(status(host)).toBeUndefined();

    host.advance(999);
    expect(status(host)).toBeUndefined();
    host.advance(1);
    expect(status(host)).toBe('1:1000\n');
    expect(host.files.get(STATUS)?.mode).toBe(0o640);
    expect(host.titles.at(-1)).toBe('start-server gen 1 pid 1000 -- app --flag');
    expect(lines).toEqual([
      '[info] [start-server] start_server (pid:500) starting now...',
      '[info] [start-server] starting new worker 1000 (generation 1)',
      '[info] [start-server] new worker is now running, sending TERM to old workers:none',
    ]);
  });

  it('HUP: spawn generation 2, accept it, TERM the old one, and list only 2 once the old one exited', () => {
    const { host } = boot();
    host.advance(1000);
    expect(host.raise('SIGHUP')).toBe(true);
    expect(host.spawns.map((s) => s.pid)).toEqual([1000, 1001]);
    expect(host.spawns[1]!.spec.env.SERVER_STARTER_GENERATION).toBe('2');
    expect(signalsTo(host, 1000)).toEqual([]);
    host.advance(1000);
    expect(signalsTo(host, 1000)).toEqual(['SIGTERM', 'SIGCONT']);
    expect(status(host)).toBe('1:1000\n2:1001\n');
    expect(host.titles.at(-1)).toBe('start-server gen 2 pid 1001 (+1 old) -- app --flag');
    host.spawnOf(1000).exit(null, 'SIGTERM');
    expect(status(host)).toBe('2:1001\n');
  });

  it('a current generation that dies is started again after --interval', () => {
    const { host, lines } = boot();
    host.advance(1000);
    host.spawnOf(1000).exit(1);
    expect(lines.at(-2)).toBe('[error] [start-server] worker 1000 died unexpectedly with status:256 (exit code 1), restarting');
    expect(status(host)).toBe('');
    expect(host.spawns).toHaveLength(1);
    host.advance(1000);
    expect(host.spawns).toHaveLength(2);
    expect(host.spawns[1]!.spec.env.SERVER_STARTER_GENERATION).toBe('2');
    host.advance(1000);
    expect(status(host)).toBe('2:1001\n');
  });

  it.each([
    ['at once', false],
    ['after spawn returned', true],
  ])('a generation that cannot be spawned (%s) is retried', (_when, async) => {
    const { host, lines } = boot([], (h) => h.failNextSpawn(new Error('spawn app ENOENT'), { async }));
    expect(host.spawns[0]!.pid).toBeUndefined();
    if (async) host.spawns[0]!.spawnError();
    expect(lines.slice(-2)).toEqual([
      '[error] [start-server] new worker (generation 1) could not be started: spawn app ENOENT',
      '[warn] [start-server] retrying in 1s (failure 1 in a row); no worker is serving',
    ]);
    host.advance(1000);
    expect(host.spawns[1]!.pid).toBe(1000);
    expect(host.spawns[1]!.spec.env.SERVER_STARTER_GENERATION).toBe('2');
  });

  it('TERM before the first generation is accepted: TERM to it, exit 0 once it is gone, files and guards released', async () => {
    const { host, done, exited, lines } = boot();
    expect(host.raise('SIGTERM')).toBe(true);
    expect(signalsTo(host, 1000)).toEqual(['SIGTERM', 'SIGCONT']);
    host.advance(5000); // the check timer was cleared: generation 1 is never accepted
    expect(status(host)).toBeUndefined();
    expect(exited()).toBeUndefined();
    host.spawnOf(1000).exit(null, 'SIGTERM');
    await done;
    expect(exited()).toBe(0);
    expect(host.removed).toEqual([STATUS]);
    expect(host.fatalGuardCount()).toBe(0);
    expect(host.timerKeys()).toEqual([]);
    expect(lines.slice(-3)).toEqual([
      '[info] [start-server] received TERM, sending TERM to all workers:1000',
      '[info] [start-server] worker 1000 died, status:15 (killed by SIGTERM (Termination))',
      '[info] [start-server] exiting',
    ]);
  });

  it('SIGKILLs generations still alive --term-timeout after the stop signal', async () => {
    const { host, done } = boot(['--term-timeout=2']);
    host.advance(1000);
    host.raise('SIGINT');
    host.advance(1999);
    expect(signalsTo(host, 1000)).toEqual(['SIGTERM', 'SIGCONT']);
    host.advance(1);
    expect(signalsTo(host, 1000)).toEqual(['SIGTERM', 'SIGCONT', 'SIGKILL']);
    host.spawnOf(1000).exit(null, 'SIGKILL');
    expect(await done).toBe(0);
  });

  it('dying of an unhandled signal TERMs (and wakes) every generation and removes the status file', () => {
    const { host } = boot();
    host.advance(1000);
    host.dieOf('SIGSEGV');
    expect(signalsTo(host, 1000)).toEqual(['SIGTERM', 'SIGCONT']);
    expect(host.removed).toEqual([STATUS]);
  });
});
