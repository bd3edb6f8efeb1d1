import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { logJobOutcomes } from '../src/worker-job-log.js';

type Line = { level: 'info' | 'warn'; message: string; fields: Record<string, unknown> };

function setup(sample: number, random?: () => number) {
  const w = new EventEmitter();
  const lines: Line[] = [];
  const emit = (level: Line['level'], l: { message: string; fields: Record<string, unknown> }) => void lines.push({ level, ...l });
  logJobOutcomes(w as never, { emit } as never, { sample }, random);
  let n = 0;
  const job = (cls = 'Archive', payload: Record<string, unknown> = {}) => ({
    queue: 'mail',
    payload: { class: cls, args: [], ...payload },
    jobId: `a94a8fe5ccb19ba61c4c0873d391e98798${String(n++).padStart(6, '0')}`,
    workerId: 'web1:42:mail',
    startedAt: new Date(),
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
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('info');
    expect(lines[0]!.message).toMatch(/^job Archive on mail done in [\d.]+ ms \(attempt 1, id a94a8fe5\)$/);
    expect(lines[0]!.fields).toEqual({ class: 'Archive', queue: 'mail', outcome: 'success', durationMs: expect.any(Number), attempt: 1, jobId: j.jobId, worker: 'web1:42:mail' });
  });

  it('a failure: always, at warn, with the exception and the first line of its message', () => {
    for (const sample of [1, 0]) {
      const { w, lines, job } = setup(sample);
      const j = job('Boom', { baton_retry: { attempt: 3, errors: [] } });
      w.emit('job', j);
      w.emit('finished', j, { exception: 'RuntimeError', error: 'boom\nat line 2', thrown: new Error('boom') });
      w.emit('failure', j, new Error('boom'));
      expect(lines).toEqual([
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
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['info', 'job Flaky on mail failed (attempt 1): still broken; retry 1 at 2026-12-03T07:00:00.000Z'],
      ['info', expect.stringMatching(/^job Slow on mail went back to the head of its queue after [\d.]+ ms/)],
    ]);
    expect(lines[0]!.fields).toMatchObject({ outcome: 'retry', retryAt: '2026-12-03T07:00:00.000Z', exception: 'Error', error: 'still broken' });
    expect(lines[1]!.fields).toMatchObject({ outcome: 'requeued', class: 'Slow' });
  });

  it('jobLog false logs no success; { sample } logs the share the random draw lets through', () => {
    const off = setup(0);
    const a = off.job();
    off.w.emit('success', a, undefined);
    expect(off.lines).toEqual([]);
    const draws = [0.05, 0.5, 0.09, 0.99];
    const sampled = setup(0.1, () => draws.shift()!);
    for (let i = 0; i < 4; i++) sampled.w.emit('success', sampled.job(), undefined);
    expect(sampled.lines).toHaveLength(2);
  });
});
