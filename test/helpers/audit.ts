import { afterEach, beforeEach, expect } from 'vitest';
import { randomUUID } from 'node:crypto';
import { findMarkedProcesses, killAll, MARK_VAR, runId, setCurrentMark } from './procs.js';
import { pollUntil } from './wait.js';
import { stopTrackedProcesses } from './spawn.js';

// Every integration test gets a mark of its own; after the test, no process carrying it may be
// alive. A leaked one is killed and fails the test that leaked it.
let mark = '';
beforeEach(() => {
  mark = `${runId()}:${randomUUID().slice(0, 8)}`;
  setCurrentMark(mark);
});

afterEach(async (ctx) => {
  const dumps = await stopTrackedProcesses();
  if (ctx.task.result?.state === 'fail' && dumps.length > 0) {
    process.stderr.write(`\n=== output of processes started by "${ctx.task.name}" ===\n${dumps.join('\n')}\n`);
  }
  let left = findMarkedProcesses(MARK_VAR, mark);
  if (left.length > 0) {
    try {
      await pollUntil(() => (left = findMarkedProcesses(MARK_VAR, mark)).length === 0, {
        timeoutMs: 5000,
        what: 'processes started by the test to exit',
      });
    } catch {
      killAll(left);
      expect.fail(`test left processes behind (now killed):\n${left.map((p) => `  ${p.pid} ${p.cmdline}`).join('\n')}`);
    }
  }
});
