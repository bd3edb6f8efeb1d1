import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { spawnTracked } from './helpers/spawn.js';
import { findMarkedProcesses, MARK_VAR, currentTestMark } from './helpers/procs.js';

// The harness itself: the private redis-server works, and processes a test starts carry its mark
// (that is what the leak audit after each test looks for).
describe('test harness', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.close();
  });

  it('starts a private redis-server on a free port', async () => {
    const c = redis.client();
    expect(await c.ping()).toBe('PONG');
    if (!redis.external) expect(redis.port).not.toBe(6379);
  });

  it('marks the processes a test starts so leaks can be found', async () => {
    const p = spawnTracked('sh', ['-c', 'echo ready; exec sleep 30']);
    await p.waitForLine(/ready/);
    const found = findMarkedProcesses(MARK_VAR, currentTestMark());
    expect(found.map((f) => f.pid)).toContain(p.pid);
    await p.stop();
    expect(findMarkedProcesses(MARK_VAR, currentTestMark())).toEqual([]);
  });
});
