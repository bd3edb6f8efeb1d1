import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { startLogPipe } from '../src/log-pipe.js';

/** A log command double: `stdin` collects what reaches it; `exit()` ends it like a killed process. */
class FakeCommand extends EventEmitter {
  received = '';
  readonly stdin = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      this.received += chunk.toString('utf8');
      cb();
    },
  });
  constructor(readonly pid: number | undefined) {
    super();
  }
  exit(signal: NodeJS.Signals = 'SIGKILL') {
    this.emit('exit', null, signal);
  }
  kill() {
    return true;
  }
}

/** A command that cannot start: no pid, then 'error' (what node's spawn does for ENOENT/EAGAIN). */
function failedStart(message: string): ChildProcess {
  const c = new FakeCommand(undefined);
  process.nextTick(() => c.emit('error', new Error(message)));
  return c as unknown as ChildProcess;
}

function setup(plan: Array<'ok' | 'fail'>, maxBufferBytes?: number) {
  const commands: FakeCommand[] = [];
  let fallback = '';
  const pipe = startLogPipe({
    command: 'cat',
    restartDelayMs: 5,
    maxRestartDelayMs: 40,
    maxBufferBytes,
    fallback: new Writable({
      write(chunk: Buffer, _enc, cb) {
        fallback += chunk.toString('utf8');
        cb();
      },
    }),
    spawnCommand: () => {
      const step = plan.shift() ?? 'ok';
      if (step === 'fail') return failedStart('spawn /bin/sh EAGAIN');
      const c = new FakeCommand(1000 + commands.length);
      commands.push(c);
      return c as unknown as ChildProcess;
    },
  });
  return { pipe, commands, fallback: () => fallback };
}

describe('startLogPipe (item 11 follow-up)', () => {
  it('relays a generation output to whichever command is current: the generation never sees the command go', async () => {
    const { pipe, commands } = setup(['ok', 'ok']);
    const gen = new PassThrough();
    pipe.adopt(gen);
    gen.write('one\n');
    await vi.waitFor(() => expect(commands[0]!.received).toBe('one\n'));
    commands[0]!.exit();
    gen.write('two\n'); // while no command runs: kept
    await vi.waitFor(() => expect(commands[1]).toBeDefined());
    gen.write('three\n');
    await vi.waitFor(() => expect(commands[1]!.received).toContain('two\nthree\n'));
    expect(commands[1]!.received).toMatch(/the --log-file command was started again \(pid 1001\)\n/);
    expect(gen.destroyed).toBe(false);
    await pipe.close(100);
  });

  it('retries a command that could not be started, with a growing delay, until one starts', async () => {
    const { pipe, commands, fallback } = setup(['ok', 'fail', 'fail', 'fail', 'ok']);
    commands[0]!.exit('SIGTERM');
    await vi.waitFor(() => expect(commands).toHaveLength(2), { timeout: 5000 });
    expect(fallback()).toMatch(/the --log-file command exited \(killed by SIGTERM[^\n]*starts it again in 0\.005s/);
    const delays = [...fallback().matchAll(/could not start the --log-file command \(spawn \/bin\/sh EAGAIN\); start-server keeps serving and starts it again in ([\d.]+)s/g)].map((m) => Number(m[1]));
    expect(delays).toEqual([0.01, 0.02, 0.04]);
    expect(commands[1]!.received).toMatch(/the --log-file command was started again \(pid 1001\)/);
    await pipe.close(100);
  });

  it('keeps at most maxBufferBytes while no command runs, drops the rest and says how much', async () => {
    const { pipe, commands } = setup(['ok', 'fail', 'ok'], 8);
    const gen = new PassThrough();
    pipe.adopt(gen);
    commands[0]!.exit();
    gen.write('1234\n');
    gen.write('5678\n'); // would make 10 bytes: dropped
    gen.write('ab\n');
    await vi.waitFor(() => expect(commands[1]).toBeDefined(), { timeout: 5000 });
    await vi.waitFor(() => expect(commands[1]!.received).toMatch(/5 bytes of output were dropped while the --log-file command was down \(more than 8 bytes\)\n1234\nab\n$/));
    await pipe.close(100);
  });

  it('close() ends the current command input and starts nothing again', async () => {
    const { pipe, commands } = setup(['ok']);
    const c = commands[0]!;
    const ended = new Promise((r) => c.stdin.once('finish', r));
    const closed = pipe.close(5000);
    await ended;
    c.exit('SIGTERM');
    await closed;
    expect(commands).toHaveLength(1);
  });
});
