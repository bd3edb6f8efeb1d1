import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { spawnTracked } from './helpers/spawn.js';
import { findMarkedProcesses, MARK_VAR, currentTestMark } from './helpers/procs.js';
import { pollUntil } from './helpers/wait.js';

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
    // The shell may be in the middle of its exec when "ready" arrives, and /proc/PID/environ
    // cannot be read then: look again until the mark is seen (or the deadline says it never is).
    const found = await pollUntil(() => findMarkedProcesses(MARK_VAR, currentTestMark()).find((f) => f.pid === p.pid), { what: `the mark on pid ${p.pid}`, timeoutMs: 5000 });
    expect(found.pid).toBe(p.pid);
    await p.stop();
    expect(findMarkedProcesses(MARK_VAR, currentTestMark())).toEqual([]);
  });
});
