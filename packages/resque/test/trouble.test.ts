import { describe, expect, it } from 'vitest';
import { Backoff, classifyRedisError, Trouble, type RedisTrouble } from '../src/trouble.js';

describe('classifyRedisError', () => {
  it.each([
    ['NOREPLICAS Not enough good replicas to write.', 'write-refused'],
    ["READONLY You can't write against a read only replica.", 'write-refused'],
    ['MASTERDOWN Link with MASTER is down', 'write-refused'],
    ['connect ECONNREFUSED 127.0.0.1:6379', 'connection'],
    ['Connection is closed.', 'connection'],
    ['All sentinels are unreachable. Retrying from scratch after 10ms.', 'connection'],
    ['ERR Error running script', 'redis-error'],
  ])('%s → %s', (message, want) => {
    expect(classifyRedisError(new Error(message))).toBe(want);
  });
});

describe('Trouble', () => {
  it('logs and emits once when a condition starts and once, with its length, when it ends', () => {
    let now = 0;
    const lines: string[] = [];
    const events: RedisTrouble[] = [];
    const log = { debug: () => {}, info: (m: string) => void lines.push(`info ${m}`), warn: (m: string) => void lines.push(`warn ${m}`), error: () => {} };
    const t = new Trouble({ id: 'w', log, emit: (e) => void events.push(e), now: () => now });
    expect(t.quietFor()).toBe(Infinity);
    expect(t.report('write-refused', 'NOREPLICAS')).toBe(true);
    for (let i = 0; i < 1000; i++) expect(t.report('write-refused', 'NOREPLICAS')).toBe(false);
    expect(t.quietFor()).toBe(0);
    now = 2500;
    t.ok();
    t.ok();
    expect(lines).toEqual([
      'warn worker w: Redis refuses writes (NOREPLICAS); retrying with backoff, logged again when it ends',
      'info worker w: recovered after 2500 ms: Redis refuses writes no more (1001 error(s) meanwhile)',
    ]);
    expect(events.map((e) => [e.state, e.condition, e.ms])).toEqual([
      ['down', 'write-refused', 0],
      ['up', 'write-refused', 2500],
    ]);
    now = 3000;
    expect(t.quietFor()).toBe(500);
  });

  it('ok(keep) leaves that condition active', () => {
    const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    const t = new Trouble({ id: 'w', log, emit: () => {} });
    t.report('busy', 'x');
    t.ok('busy');
    expect(t.active('busy')).toBe(true);
  });
});

describe('Backoff', () => {
  it('doubles from 50 ms to 1 s with ±25 % jitter and resets', () => {
    const b = new Backoff();
    const d = Array.from({ length: 10 }, () => b.next());
    const bases = [50, 100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000];
    d.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(bases[i]! * 0.75 - 1);
      expect(ms).toBeLessThanOrEqual(bases[i]! * 1.25 + 1);
    });
    expect(b.attempts).toBe(10);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBeLessThanOrEqual(63);
  });
});
