import { EventEmitter } from 'node:events';
import { createLogger, logLine } from '@baton/process-kit';
import { describe, expect, it } from 'vitest';
import { logJobOutcomes, QUICK_MS } from '../src/worker-job-log.js';

type Line = { level: 'info' | 'warn'; message: string; fields: Record<string, unknown> };

/** Lines through a real JSON logger (so the prepared success line is checked as written): level, msg, and the line's own fields. */
function setup(sample: number, random?: () => number, secrets: string[] = []) {
  const w = new EventEmitter();
  const written: string[] = [];
  const logger = createLogger({ tag: 'worker[0]', format: 'json', level: 'info', stream: { write: (t: string) => written.push(t) } as never, context: { role: 'worker', slot: 0, worker: 'web1:42:mail' }, secrets });
  logJobOutcomes(w as never, logger, { sample }, { random });
  let n = 0;
  const job = (cls = 'Archive', payload: Record<string, unknown> = {}) => ({
    queue: 'mail',
    payload: { class: cls, args: [], ...payload },
    jobId: `a94a8fe5ccb19ba61c4c0873d391e98798${String(n++).padStart(6, '0')}`,
    // A slot's id (jobConcurrency > 1): the line names it instead of the context's worker.
    workerId: 'web1:42:mail/1',
    startedAt: new Date(),
  });
  const lines = (): Line[] =>
    written.map((text) => {
      expect(text.match(/"worker":/g), text).toHaveLength(1);
      const { time, level, pid, role, slot, msg, ...fields } = JSON.parse(text) as Record<string, unknown>;
      expect({ time, pid, role, slot }).toEqual({ time: expect.any(String), pid: process.pid, role: 'worker', slot: 0 });
      return { level, message: msg, fields } as Line;
    });
  return { w, lines, job };
}

describe('logJobOutcomes', () => {
  it('a success: one info line with class, queue, outcome, duration, attempt, job id and worker', () => {
    const { w, lines, job } = setup(1);
    const j = job();
    w.emit('job', j);
    w.emit('finished', j, undefined);
    w.emit('success', j, 'result');
    expect(lines()).toHaveLength(1);
    expect(lines()[0]!.level).toBe('info');
    // The message is the same for every job of a class on a queue (log tools group by it); the rest are fields.
    expect(lines()[0]!.message).toBe('job Archive on mail done');
    expect(lines()[0]!.fields).toEqual({ class: 'Archive', queue: 'mail', outcome: 'success', durationMs: expect.any(Number), attempt: 1, jobId: j.jobId, worker: 'web1:42:mail/1' });
  });

  it('a failure: always, at warn, with the exception and the first line of its message', () => {
    for (const sample of [1, 0]) {
      const { w, lines, job } = setup(sample);
      const j = job('Boom', { baton_retry: { attempt: 3, errors: [] } });
      w.emit('job', j);
      w.emit('finished', j, { exception: 'RuntimeError', error: 'boom\nat line 2', thrown: new Error('boom') });
      w.emit('failure', j, new Error('boom'));
      expect(lines()).toEqual([
        {
          level: 'warn',
          message: expect.stringMatching(/^job Boom on mail failed in [\d.]+ ms \(attempt 3, id a94a8fe5\): RuntimeError: boom …$/),
          fields: expect.objectContaining({ class: 'Boom', outcome: 'failure', attempt: 3, exception: 'RuntimeError', error: 'boom …' }),
        },
      ]);
    }
  });

  it('a retry is an info line as before (with its due time); a job a stop gave back, too', () => {
    const { w, lines, job } = setup(0);
    const j = job('Flaky');
    const at = new Date('2026-12-03T07:00:00.000Z');
    w.emit('job', j);
    w.emit('finished', j, { exception: 'Error', error: 'still broken', thrown: new Error('still broken') });
    w.emit('retry', j, new Error('still broken'), at);
    const k = job('Slow');
    w.emit('job', k);
    w.emit('requeued', k);
    expect(lines().map((l) => [l.level, l.message])).toEqual([
      ['info', 'job Flaky on mail failed (attempt 1): still broken; retry 1 at 2026-12-03T07:00:00.000Z'],
      ['info', expect.stringMatching(/^job Slow on mail went back to the head of its queue after [\d.]+ ms/)],
    ]);
    expect(lines()[0]!.fields).toMatchObject({ outcome: 'retry', retryAt: '2026-12-03T07:00:00.000Z', exception: 'Error', error: 'still broken' });
    expect(lines()[1]!.fields).toMatchObject({ outcome: 'requeued', class: 'Slow' });
  });

  it('jobLog false logs no success; { sample } logs the share the random draw lets through', () => {
    const off = setup(0);
    const a = off.job();
    off.w.emit('success', a, undefined);
    expect(off.lines()).toEqual([]);
    const draws = [0.05, 0.5, 0.09, 0.99];
    const sampled = setup(0.1, () => draws.shift()!);
    for (let i = 0; i < 4; i++) sampled.w.emit('success', sampled.job(), undefined);
    expect(sampled.lines()).toHaveLength(2);
  });

  it('a success line made from its kept parts escapes and masks them as any line: quotes, a secret in a queue name, a new class', () => {
    const { w, lines, job } = setup(1, undefined, ['pw-9']);
    const jobs = [job('Say "hi"'), job('Say "hi"'), job('Other')];
    for (const j of jobs) {
      (j as { queue: string }).queue = 'mail-pw-9';
      w.emit('job', j);
      w.emit('finished', j, undefined);
      w.emit('success', j, undefined);
    }
    expect(lines().map((l) => [l.message, l.fields.class, l.fields.queue, l.fields.jobId])).toEqual([
      ['job Say "hi" on mail-*** done', 'Say "hi"', 'mail-***', jobs[0]!.jobId],
      ['job Say "hi" on mail-*** done', 'Say "hi"', 'mail-***', jobs[1]!.jobId],
      ['job Other on mail-*** done', 'Other', 'mail-***', jobs[2]!.jobId],
    ]);
  });

  it('a JSON success line made from kept parts is, byte for byte, the line a logger writes for the same message and fields, whatever the names and secrets', () => {
    const names = ['Archive', 'Say "hi"', 'Ünïcode ✓', 'odd\u0001\\name', 'lone \ud800', 'redis://u:p@host', 'x?password=1', 'a=b'];
    const secretSets: string[][] = [[], ['pw-9'], ['1'], ['a94a8'], [' ms (att'], ['p@host']];
    for (const secrets of secretSets) {
      for (const cls of names) {
        for (const queue of ['mail', names[(names.indexOf(cls) + 3) % names.length]!]) {
          const w = new EventEmitter();
          const fast: string[] = [];
          const context = { role: 'worker', slot: 0, worker: 'web1:42:mail' };
          const logger = createLogger({ tag: 'worker[0]', format: 'json', level: 'info', stream: { write: (t: string) => fast.push(t) } as never, context, secrets });
          logJobOutcomes(w as never, logger, { sample: 1 });
          const j = { queue, payload: { class: cls, args: [] }, jobId: 'a94a8fe5ccb19ba61c4c0873d391e98798000001', workerId: 'web1:42:mail/1', startedAt: new Date() };
          w.emit('job', j);
          w.emit('finished', j, undefined);
          w.emit('success', j, undefined);
          expect(fast).toHaveLength(1);
          const durationMs = (JSON.parse(fast[0]!) as { durationMs: number }).durationMs;
          const slow: string[] = [];
          const general = createLogger({ tag: 'worker[0]', format: 'json', level: 'info', stream: { write: (t: string) => slow.push(t) } as never, context, secrets });
          const fields = { class: cls, queue, outcome: 'success', durationMs, attempt: 1, jobId: j.jobId, worker: j.workerId };
          general.emit('info', logLine(`job ${cls} on ${queue} done`, fields));
          const untimed = (line: string) => line.replace(/^\{"time":"[^"]+"/, '{"time":"T"');
          expect(untimed(fast[0]!), `${cls} / ${queue} / ${secrets.join(',')}`).toBe(untimed(slow[0]!));
        }
      }
    }
  });

  it('in the text format a success line is its message alone', () => {
    const w = new EventEmitter();
    let out = '';
    const logger = createLogger({ tag: 'worker[0]', format: 'text', timestamps: false, level: 'info', stream: { write: (t: string) => (out += t) } as never });
    logJobOutcomes(w as never, logger, { sample: 1 });
    const j = { queue: 'mail', payload: { class: 'Archive', args: [] }, jobId: 'a94a8fe5ccb19ba61c4c0873d391e98798000000', workerId: 'web1:42:mail', startedAt: new Date() };
    w.emit('job', j);
    w.emit('finished', j, undefined);
    w.emit('success', j, undefined);
    expect(out).toMatch(/^\[info\] \[worker\[0\]\] job Archive on mail done in [\d.]+ ms \(attempt 1, id a94a8fe5\)\n$/);
  });

  it('with a logger that holds lines back, the lines of finished jobs are written before a job of another class starts, not before the next quick one of theirs', () => {
    const w = new EventEmitter();
    const writes: string[] = [];
    const logger = createLogger({ tag: 'worker[0]', format: 'json', level: 'info', stream: { write: (t: string) => writes.push(t) } as never, coalesce: true });
    logJobOutcomes(w as never, logger, { sample: 1 });
    const job = (n: number, cls = 'Archive') => ({ queue: 'mail', payload: { class: cls, args: [n] }, jobId: `a94a8fe5ccb19ba61c4c0873d391e987980000${n}0`, workerId: 'web1:42:mail', startedAt: new Date() });
    const [a, b, c] = [job(1), job(2), job(3, 'Report')];
    w.emit('job', a);
    w.emit('finished', a, undefined);
    w.emit('success', a, undefined);
    // b: of a's class and queue, after a quick a: a's line may wait.
    w.emit('job', b);
    expect(writes).toEqual([]);
    w.emit('finished', b, undefined);
    w.emit('success', b, undefined);
    expect(writes).toEqual([]);
    w.emit('job', c);
    // Both lines in one write, before c (another class) runs.
    expect(writes).toHaveLength(1);
    expect(writes[0]!.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { jobId: string }).jobId)).toEqual([a.jobId, b.jobId]);
    logger.flush();
  });
});

describe('logJobOutcomes: which jobs start with no line held back', () => {
  /** Jobs run one after another with the durations given; returns the jobs before which the logger was flushed. */
  function run(jobTimeout: boolean, jobs: Array<[name: string, cls: string, queue: string, ms: number]>): string[] {
    const w = new EventEmitter();
    let t = 0;
    const logger = createLogger({ tag: 'worker[0]', format: 'json', level: 'info', stream: { write: () => true } as never });
    const flushedBefore: string[] = [];
    let starting = '';
    logger.flush = () => void flushedBefore.push(starting);
    logJobOutcomes(w as never, logger, { sample: 1 }, { jobTimeout, now: () => t });
    for (const [name, cls, queue, ms] of jobs) {
      const j = { queue, payload: { class: cls, args: [] }, jobId: name, workerId: 'web1:42:q', startedAt: new Date() };
      starting = name;
      w.emit('job', j);
      starting = '';
      t += ms;
      w.emit('finished', j, undefined);
      w.emit('success', j, undefined);
    }
    return flushedBefore;
  }
  const quick = QUICK_MS / 10;

  it('quick jobs of one class and queue start with lines held; the first job, another class or queue, or a job after a slow one (≥ QUICK_MS) flush first', () => {
    expect(
      run(false, [
        ['a', 'A', 'q', quick],
        ['b', 'A', 'q', quick],
        ['c', 'A', 'q', QUICK_MS / 2],
        ['d', 'A', 'q', QUICK_MS * 2],
        ['e', 'A', 'q', quick],
        ['f', 'B', 'q', quick],
        ['g', 'B', 'r', quick],
        ['h', 'B', 'r', quick],
        ['i', 'A', 'r', quick],
      ]),
    ).toEqual(['a', 'e', 'f', 'g', 'i']);
  });

  it('with jobTimeout every job starts with nothing held (the master may kill it, and what it held)', () => {
    expect(run(true, [['a', 'A', 'q', quick], ['b', 'A', 'q', quick], ['c', 'A', 'q', quick]])).toEqual(['a', 'b', 'c']);
  });
});
