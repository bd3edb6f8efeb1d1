import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { slow } from './slowness.js';

export interface WaitOptions {
  /** Deadline; the default is 10 s on an idle machine, scaled by the run's measured slowness. */
  timeoutMs?: number;
  intervalMs?: number;
  /** What was awaited, for the timeout message. */
  what?: string;
}

/** Why: tests synchronise on a condition with a deadline, never on a fixed sleep. */
export async function pollUntil<T>(
  check: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  { timeoutMs = slow(10_000), intervalMs = 20, what = 'condition' }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false && v !== null) return v as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await delay(intervalMs);
  }
}

/** True while a pid exists (zombies count as gone). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Waits until a pid is gone. */
export async function waitForPidExit(pid: number, options: WaitOptions = {}): Promise<void> {
  await pollUntil(() => !pidAlive(pid), { what: `pid ${pid} to exit`, ...options });
}

