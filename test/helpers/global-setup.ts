import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { findMarkedProcesses, INFRA_VAR, killAll, MARK_VAR } from './procs.js';
import { measureSlowness, SLOWNESS_VAR } from './slowness.js';

// Gives the run an id that every process started by a test carries in its environment, and
// fails the run if any of them is still alive at the end (a leaked process).
export function setup(): void {
  process.env.BATON_TEST_RUN ??= randomUUID().slice(0, 8);
  // Measured once for the run (the workers inherit it): deadlines scale with it on a busy host.
  if (!process.env[SLOWNESS_VAR]) {
    const m = measureSlowness();
    process.env[SLOWNESS_VAR] = String(m.factor);
    if (m.factor > 1) process.stderr.write(`slowness factor ${m.factor} (node -e '' median ${Math.round(m.medianMs!)} ms against 100 ms idle): integration deadlines scale by it\n`);
  }
}

export async function teardown(): Promise<void> {
  const id = process.env.BATON_TEST_RUN!;
  let left = [...findMarkedProcesses(MARK_VAR, id), ...findMarkedProcesses(INFRA_VAR, id)];
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await delay(100);
    left = [...findMarkedProcesses(MARK_VAR, id), ...findMarkedProcesses(INFRA_VAR, id)];
  }
  if (left.length > 0) {
    killAll(left);
    throw new Error(
      `leaked processes at the end of the run (killed now):\n${left.map((p) => `  ${p.pid} ${p.mark} ${p.cmdline}`).join('\n')}`,
    );
  }
}
