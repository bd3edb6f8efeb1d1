import { eventFields, messages, workerFields } from '../messages.js';
import type { Ctx } from './context.js';
import { workerLabel } from './groups.js';
import type { WorkerEntry } from './model.js';
import { stopWorker } from './workers.js';

// The master's own stop: every worker is asked to go (graceful or quick), the deadlines
// escalate each one (stopTimeout → TERM, termTimeout → KILL), and the master exits when the
// last one is gone.

/** Why: QUIT, TERM, a failed takeover and a replaced master's end all stop the same way. */
export function beginStop(c: Ctx, mode: 'graceful' | 'quick'): void {
  c.s.phase = 'stopping';
  c.s.stopMode = mode;
  c.s.reloadPending = false;
  c.fx.push({ type: 'clearTimer', key: 'hold' });
  for (const w of c.s.workers) stopWorker(c, w, mode, 'shutdown');
  finishIfDone(c);
}

/**
 * Why: the exit happens at one place, once no worker is left: after a failed takeover (or a
 * stop during one) the predecessors get their workers back first.
 */
export function finishIfDone(c: Ctx): void {
  const s = c.s;
  if (s.phase !== 'stopping' || s.workers.length > 0) return;
  if (s.restoreOnExit) {
    const pids = s.predecessors.map((p) => p.pid);
    if (pids.length > 0) {
      c.log(messages.restoringPredecessors(pids), 'warn', eventFields('rolling-restart-restore', { oldMasters: pids }));
      c.fx.push({ type: 'restorePredecessors', pids });
    }
  }
  s.phase = 'done';
  c.log(messages.masterExiting(s.exitCode));
  c.fx.push({ type: 'exit', code: s.exitCode });
}

/** stopTimeout: a worker still busy after it was asked to finish is stopped now. */
export function stopTimedOut(c: Ctx, w: WorkerEntry | undefined): void {
  if (!w?.stop || w.stop.mode !== 'graceful') return;
  c.log(messages.stopTimeout(workerLabel(w), w.pid, c.s.settings.stopTimeoutMs), 'warn', workerFields('worker-stop-timeout', w, { reason: w.stop.reason, stopTimeoutMs: c.s.settings.stopTimeoutMs }));
  stopWorker(c, w, 'quick', w.stop.reason);
}

/** termTimeout (+ 1 s): a worker still alive after TERM gets KILL. */
export function killTimedOut(c: Ctx, w: WorkerEntry | undefined): void {
  if (!w) return;
  c.log(messages.killTimeout(workerLabel(w), w.pid, c.s.settings.termTimeoutMs + 1000), 'warn', workerFields('worker-kill-timeout', w, { reason: w.stop?.reason }));
  stopWorker(c, w, 'kill', w.stop?.reason ?? 'shutdown');
}
