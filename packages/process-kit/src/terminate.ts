import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import type { SignalName } from './signals.js';

const WAKE_WITH_CONT = new Set<SignalName>(['SIGTERM', 'SIGINT', 'SIGQUIT']);

export interface TerminateResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the deadline passed and SIGKILL was sent. */
  forced: boolean;
}

export interface TerminateOptions {
  /** Send SIGKILL after this many ms; `0`/undefined waits forever. */
  forceAfterMs?: number | undefined;
  /** Signal the whole process group (`kill(-pid)`), for detached children with subprocesses. */
  group?: boolean;
  /** Called just before SIGKILL is sent, so the caller can log it. */
  onForce?: () => void;
  /** Aborts the wait (not the child). */
  signal?: AbortSignal;
}

/** Why: every supervisor stop must end; listen first, signal, then escalate to SIGKILL at the deadline. */
export async function terminate(
  child: ChildProcess,
  sig: SignalName,
  options: TerminateOptions = {},
): Promise<TerminateResult> {
  const exited = waitForChildExit(child);
  if (child.exitCode === null && child.signalCode === null) {
    sendSignal(child.pid, sig, options.group);
    // A stopped process acts on TERM/INT/QUIT only once continued (node-mechanics §3), as systemd does.
    if (WAKE_WITH_CONT.has(sig)) sendSignal(child.pid, 'SIGCONT', options.group);
  }
  if (!options.forceAfterMs) return { ...(await exited), forced: false };
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const first = await Promise.race([
      exited.then((r) => ({ kind: 'exit' as const, r })),
      delay(options.forceAfterMs, { kind: 'timeout' as const }, { signal: ac.signal }),
    ]);
    if (first.kind === 'exit') return { ...first.r, forced: false };
    options.onForce?.();
    sendSignal(child.pid, 'SIGKILL', options.group);
    return { ...(await exited), forced: true };
  } finally {
    ac.abort();
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Resolves with the child's exit code/signal; resolves at once if it already exited. */
export function waitForChildExit(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** kill() that ignores ESRCH (already gone); with `group`, falls back to the pid when it leads no group. */
export function sendSignal(pid: number | undefined, sig: SignalName, group = false): boolean {
  if (!pid) return false;
  try {
    process.kill(group ? -pid : pid, sig);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (group && code === 'ESRCH') return sendSignal(pid, sig, false);
    if (code === 'ESRCH') return false;
    throw err;
  }
}

/** True if a process with this pid exists (EPERM counts as alive: it exists but is not ours). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
