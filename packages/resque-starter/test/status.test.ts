// The status file and `status --text` show Redis conditions (issue 17): each worker's own, and the
// master's view of them all (how many workers are in each, and its own connection).
import { describe, expect, it } from 'vitest';
import { renderStatusText } from '../src/commands/status-text.js';
import { RedisHealth } from '../src/master/redis-health.js';
import { initialState, reduce, type MasterSettings, type MasterState } from '../src/state/index.js';
import { renderStatus } from '../src/status.js';

const SETTINGS: MasterSettings = {
  readyTimeoutMs: 5000,
  stopTimeoutMs: 10_000,
  termTimeoutMs: 2000,
  jobTimeoutMs: undefined,
  maxMemoryKb: undefined,
  crashLoop: { deaths: 4, windowMs: 60_000, delayMs: 1000, maxDelayMs: 8000 },
  maxConcurrency: 64,
  maxStarting: 8,
  reapJobProcesses: true,
};
const T0 = Date.UTC(2026, 11, 3, 7, 0, 0);

/** A master with two ready workers, pids 100 and 101. */
function twoWorkers(): MasterState {
  let state = initialState(SETTINGS);
  const step = reduce(state, { type: 'start', desired: 2, groups: [{ name: 'default', concurrency: 2, hash: 'h', maxConcurrency: 16, jobTimeoutMs: undefined, maxMemoryKb: undefined }], predecessors: [] } as never, T0);
  state = step.state;
  let pid = 100;
  for (const fx of step.effects) if (fx.type === 'spawn') state = reduce(state, { type: 'spawned', key: fx.key, pid: pid++ }, T0).state;
  for (const p of [100, 101]) state = reduce(state, { type: 'ready', pid: p, retired: true } as never, T0).state;
  return state;
}

describe('status: Redis conditions', () => {
  it('up: every worker and the master say so, and --text adds nothing', () => {
    const s = renderStatus(twoWorkers(), { pid: 1, generation: undefined, queues: ['q'], startedAt: T0, now: T0 });
    expect(s.master.redis).toEqual({ state: 'up', since: null, conditions: [] });
    expect(s.workers.map((w) => w.redis.state)).toEqual(['up', 'up']);
    expect(renderStatusText(s)).not.toMatch(/redis/);
  });

  it('down: the worker in it, the master with how many workers and itself, and one --text line per condition', () => {
    let now = T0;
    const health = new RedisHealth({ warn: () => undefined, info: () => undefined, debug: () => undefined }, () => now);
    health.report({ slot: 1, pid: 101 }, { state: 'down', condition: 'write-refused', message: 'NOREPLICAS Not enough good replicas to write.' });
    now += 1500;
    health.link('redis://127.0.0.1:6379', { message: 'read ECONNRESET' });
    const s = renderStatus(twoWorkers(), { pid: 1, generation: undefined, queues: ['q'], startedAt: T0, now, redis: health });
    expect(s.workers.map((w) => [w.pid, w.redis.state])).toEqual([
      [100, 'up'],
      [101, 'down'],
    ]);
    expect(s.workers[1]!.redis).toEqual({
      state: 'down',
      since: '2026-12-03T07:00:00.000Z',
      conditions: [{ condition: 'write-refused', message: 'NOREPLICAS Not enough good replicas to write.', since: '2026-12-03T07:00:00.000Z' }],
    });
    expect(s.master.redis.state).toBe('down');
    expect(renderStatusText(s).split('\n').filter((l) => /redis/.test(l))).toEqual([
      '  redis DOWN: write-refused since 2026-12-03T07:00:00.000Z (1 worker(s)): NOREPLICAS Not enough good replicas to write.',
      '  redis DOWN: connection since 2026-12-03T07:00:01.500Z (the master): read ECONNRESET',
      '  worker[1] 101 idle processed=0 redis=down(write-refused since 2026-12-03T07:00:00.000Z)',
    ]);
  });
});
