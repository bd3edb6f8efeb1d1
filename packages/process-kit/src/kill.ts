import type { SignalName } from './signals.js';

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
