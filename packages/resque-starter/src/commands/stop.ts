import { setTimeout as delay } from 'node:timers/promises';
import { isLiveProcess, listProcesses, readEnvVar, readStat, sendSignal, stillRunning, type ProcessRef } from '@baton/process-kit';
import { ControlError } from '../errors.js';
import { WorkerEnv } from '../ipc.js';

export interface StopOptions {
  /** The master (already checked to be a resque-starter master). */
  pid: number;
  /** How long QUIT may take before TERM (ms); Infinity waits as long as it takes. */
  timeoutMs: number;
  /** How long TERM may take before KILL (ms). */
  killAfterMs: number;
  /** Says each step (the CLI writes it to stderr). */
  say(line: string): void;
  /** How often to look whether the master is gone (ms). */
  pollMs?: number;
}

/** How the master went: after QUIT, after TERM, or killed. */
export type StoppedBy = 'QUIT' | 'TERM' | 'KILL';

/** The default `stop --timeout` (ms): the master's own bound for a graceful stop plus a margin. */
export function defaultStopTimeoutMs(config: { stopTimeoutMs: number; termTimeoutMs: number } | undefined): number {
  const c = config ?? { stopTimeoutMs: 60_000, termTimeoutMs: 4_000 };
  return c.stopTimeoutMs + c.termTimeoutMs + STOP_MARGIN_MS;
}

/** The bound after TERM (ms): the master's own quick stop (termTimeout + 1 s, job recovery) plus a margin. */
export function killAfterMs(config: { termTimeoutMs: number } | undefined): number {
  return (config?.termTimeoutMs ?? 4_000) + STOP_MARGIN_MS;
}

/**
 * Why: `resque-starter stop` is what an operator (or an init script) runs: QUIT lets the jobs
 * finish, and a master that does not exit in time is escalated (TERM: jobs go back to their
 * queues; then KILL to the master and its workers, so nothing is left running). Resolves with
 * the signal that ended it; throws a ControlError when even KILL did not.
 */
export async function stopMaster(o: StopOptions): Promise<StoppedBy> {
  const pollMs = o.pollMs ?? 50;
  const supervisor = startServerOf(o.pid);
  if (supervisor !== undefined) {
    throw new ControlError(
      `master ${o.pid} runs under start-server (pid ${supervisor}), which would start it again: stop start-server instead (\`start-server --stop --pid-file FILE\`); nothing was sent`,
    );
  }
  // The same process, not a later one with a reused pid: its start time goes with it.
  const master: ProcessRef = { pid: o.pid, start: readStat(o.pid)?.start ?? 0 };
  sendSignal(o.pid, 'SIGQUIT');
  o.say(`sent QUIT to master ${o.pid}; waiting ${o.timeoutMs === Infinity ? 'as long as it takes' : `up to ${seconds(o.timeoutMs)}`} for its jobs to finish and it to exit`);
  if (await waitForExit(master, o.timeoutMs, pollMs)) return 'QUIT';
  sendSignal(o.pid, 'SIGTERM');
  o.say(`master ${o.pid} still running after ${seconds(o.timeoutMs)}: sent TERM (running jobs go back to their queues); waiting up to ${seconds(o.killAfterMs)}`);
  if (await waitForExit(master, o.killAfterMs, pollMs)) return 'TERM';
  const workers = workersOf(o.pid);
  sendSignal(o.pid, 'SIGKILL');
  for (const w of workers) sendSignal(w.pid, 'SIGKILL', true);
  o.say(`master ${o.pid} still running after TERM and ${seconds(o.killAfterMs)}: sent KILL to it${workers.length > 0 ? ` and to its workers (${workers.map((w) => w.pid).join(', ')})` : ''}`);
  const gone = await waitForExit(master, KILL_WAIT_MS, pollMs);
  let left: ProcessRef[] = [];
  for (const w of workers) if (!(await waitForExit(w, KILL_WAIT_MS, pollMs))) left.push(w);
  left = stillRunning(left);
  if (!gone || left.length > 0) {
    throw new ControlError(`master ${o.pid} could not be stopped: still running after KILL${left.length > 0 ? ` (workers ${left.map((w) => w.pid).join(', ')})` : ''}`);
  }
  return 'KILL';
}

// --- internal ---

const STOP_MARGIN_MS = 10_000;
/** How long a KILLed process may take to be gone (it cannot refuse; only an uninterruptible sleep delays it). */
const KILL_WAIT_MS = 5_000;

async function waitForExit(p: ProcessRef, timeoutMs: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (stillRunning([p]).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await delay(Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
}

/** start-server's pid when the master is one of its generations (its parent, still alive). */
function startServerOf(pid: number): number | undefined {
  if (readEnvVar(pid, 'SERVER_STARTER_GENERATION') === undefined) return undefined;
  const ppid = readStat(pid)?.ppid;
  return ppid !== undefined && ppid > 1 && isLiveProcess(ppid) ? ppid : undefined;
}

/** The live workers of a master (their environment names it). */
function workersOf(master: number): ProcessRef[] {
  return listProcesses((p) => p !== master && readEnvVar(p, WorkerEnv.masterPid) === String(master)).map((pid) => ({ pid, start: readStat(pid)?.start ?? 0 }));
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
