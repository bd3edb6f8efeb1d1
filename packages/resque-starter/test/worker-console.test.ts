import { AsyncLocalStorage } from 'node:async_hooks';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@baton/process-kit';
import { captureConsole, jobLookup, type JobContextLike } from '../src/worker-console.js';

function setup(format: 'text' | 'json') {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  const logger = createLogger({ tag: 'worker[0]', format, stream, timestamps: false, context: { role: 'worker', slot: 0 }, level: 'debug' });
  const target = { log: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Pick<Console, 'log' | 'info' | 'warn' | 'error' | 'debug'>;
  const als = new AsyncLocalStorage<JobContextLike>();
  // The jobs in flight, as the Worker's `current` lists them.
  const worker = { current: [] as { queue: string; payload: object; jobId: string; workerId: string; startedAt: Date }[] };
  const undo = captureConsole(target, () => logger, jobLookup(worker as never, () => als.getStore()));
  return { target, als, worker, undo, out: () => out };
}

const payloadA = { class: 'Archive', args: [1] };
const payloadB = { class: 'Mailer', args: [2] };
const ctx = (payload: { class: string; args: unknown[] }, workerId: string): JobContextLike => ({ payload, className: payload.class, queue: 'q', attempt: 2, workerId });

describe('captureConsole', () => {
  it('in a job: a JSON line with the job\'s fields, per job even when two run side by side', async () => {
    const { target, als, worker, out } = setup('json');
    worker.current.push({ queue: 'q', payload: payloadA, jobId: 'aaaaaaaa1111', workerId: 'h:1:q', startedAt: new Date() });
    worker.current.push({ queue: 'q', payload: payloadB, jobId: 'bbbbbbbb2222', workerId: 'h:1+1:q', startedAt: new Date() });
    await Promise.all([
      als.run(ctx(payloadA, 'h:1:q'), async () => {
        await new Promise((r) => setTimeout(r, 5));
        target.log('from A', { n: 1 });
      }),
      als.run(ctx(payloadB, 'h:1+1:q'), async () => {
        target.error('from B');
        await new Promise((r) => setTimeout(r, 1));
      }),
    ]);
    target.warn('outside');
    const lines = out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'error', msg: 'from B', class: 'Mailer', jobId: 'bbbbbbbb2222', worker: 'h:1+1:q', attempt: 2, queue: 'q', source: 'console' }),
      expect.objectContaining({ level: 'info', msg: 'from A { n: 1 }', class: 'Archive', jobId: 'aaaaaaaa1111', worker: 'h:1:q', source: 'console' }),
      { time: expect.any(String), level: 'warn', pid: process.pid, role: 'worker', slot: 0, msg: 'outside' },
    ]);
  });

  it('text lines stay readable: the job in brackets before its message; outside a job, a plain worker line', () => {
    const { target, als, worker, out } = setup('text');
    worker.current.push({ queue: 'q', payload: payloadA, jobId: 'aaaaaaaa1111', workerId: 'h:1:q', startedAt: new Date() });
    als.run(ctx(payloadA, 'h:1:q'), () => target.info('hello %s', 'there'));
    target.debug('idle');
    target.log({ message: 'not a consola log object', extra: 1 });
    expect(out()).toBe("[info] [worker[0]] [Archive aaaaaaaa] hello there\n[debug] [worker[0]] idle\n[info] [worker[0]] { message: 'not a consola log object', extra: 1 }\n");
  });

  it('the undo puts the console back', () => {
    const { target, undo } = setup('text');
    const before = target.log;
    undo();
    expect(target.log).not.toBe(before);
    expect(typeof target.log).toBe('function');
  });
});
