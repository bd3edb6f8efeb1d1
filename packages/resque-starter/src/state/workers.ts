import type { JobInfo, MasterToWorker } from '../ipc.js';
import type { Ctx } from './context.js';
import { limitsOf } from './groups.js';
import type { StopMode, StopReason, WorkerEntry } from './model.js';

// The mechanics of one worker as the master drives it: finding it, stopping it (with its
// deadlines), its timers and the jobs it runs. Policy (who is stopped, and why) is elsewhere.

export const byPid = (c: Ctx, pid: number): WorkerEntry | undefined => c.s.workers.find((w) => w.pid === pid);
export const byKey = (c: Ctx, key: number | undefined): WorkerEntry | undefined => c.s.workers.find((w) => w.key === key);

/** Live workers that are not on their way out. */
export const staying = (c: Ctx): WorkerEntry[] => c.s.workers.filter((w) => !w.stop);

const RANK = { graceful: 0, quick: 1, kill: 2 } as const;

/**
 * Why: one place decides how a worker is asked to stop and what deadline follows: QUIT to a
 * ready worker (stopTimeout, then TERM), TERM to its group when quick or not ready yet (its
 * handlers may not exist; KILL after termTimeout + 1 s), KILL at once. A stop only escalates;
 * the first reason is kept. A worker still spawning is stopped once its pid is known.
 */
export function stopWorker(c: Ctx, w: WorkerEntry, mode: StopMode, reason: StopReason): void {
  if (w.stop && RANK[w.stop.mode] >= RANK[mode]) return;
  w.stop = { mode, reason: w.stop?.reason ?? reason };
  if (w.pid === undefined) return;
  const pid = w.pid;
  const set = c.s.settings;
  if (mode === 'kill') {
    c.fx.push({ type: 'clearTimer', key: `kill:${w.key}` });
    c.fx.push({ type: 'signal', pid, signal: 'SIGKILL', group: true });
    return;
  }
  if (mode === 'quick' || w.phase !== 'ready') {
    c.fx.push({ type: 'clearTimer', key: `stop:${w.key}` });
    c.fx.push({ type: 'signal', pid, signal: 'SIGTERM', group: true });
    c.fx.push({ type: 'signal', pid, signal: 'SIGCONT', group: true });
    c.fx.push({ type: 'setTimer', key: `kill:${w.key}`, ms: set.termTimeoutMs + 1000, event: { type: 'timer', timer: 'kill', key: w.key } });
    return;
  }
  c.fx.push({ type: 'signal', pid, signal: 'SIGQUIT', group: false });
  c.fx.push({ type: 'signal', pid, signal: 'SIGCONT', group: false });
  armStopTimer(c, w);
}

/** The graceful stop's deadline (none when stopTimeout is 0). */
export function armStopTimer(c: Ctx, w: WorkerEntry): void {
  const ms = c.s.settings.stopTimeoutMs;
  if (ms > 0) c.fx.push({ type: 'setTimer', key: `stop:${w.key}`, ms, event: { type: 'timer', timer: 'stop', key: w.key } });
}

/** Every timer of a worker that is gone. */
export function clearWorkerTimers(c: Ctx, w: WorkerEntry): void {
  for (const t of ['ready', 'stop', 'kill']) c.fx.push({ type: 'clearTimer', key: `${t}:${w.key}` });
  for (const j of w.running) clearJobTimers(c, w, j);
}

/** A message to every ready worker that is staying (pause, resume, abort). */
export function sendAll(c: Ctx, message: MasterToWorker): void {
  for (const w of c.s.workers) if (w.phase === 'ready' && w.pid !== undefined && !w.stop) c.fx.push({ type: 'send', pid: w.pid, message });
}

/** Tells ready workers whether a newer master is taking over (their titles say OLD). */
export function markOld(c: Ctx, old: boolean): void {
  for (const w of c.s.workers) if (w.pid !== undefined && w.phase === 'ready') c.fx.push({ type: 'send', pid: w.pid, message: { t: 'old', old } });
}

// jobTimeout: a timer per running job, keyed by the worker and the slot that runs it.

export const jobKey = (w: WorkerEntry, j: JobInfo): string => `${w.key}${j.worker ? `:${j.worker}` : ''}`;
const sameJob = (a: JobInfo, b: JobInfo) => a.worker === b.worker && a.startedAt === b.startedAt;

function clearJobTimers(c: Ctx, w: WorkerEntry, j: JobInfo): void {
  c.fx.push({ type: 'clearTimer', key: `job:${jobKey(w, j)}` });
  c.fx.push({ type: 'clearTimer', key: `jobKill:${jobKey(w, j)}` });
}

/** The running job a job timer was armed for, if it still runs. */
export function timedJob(w: WorkerEntry | undefined, e: { startedAt?: number | undefined; slot?: string | undefined }): JobInfo | undefined {
  return w?.running.find((x) => x.worker === e.slot && x.startedAt === e.startedAt);
}

/** A job seen for the first time: it runs in its slot instead of the one before it there. */
export function trackJob(c: Ctx, w: WorkerEntry, j: JobInfo): void {
  if (w.running.some((x) => sameJob(x, j))) return;
  for (const x of w.running.filter((x) => x.worker === j.worker)) clearJobTimers(c, w, x);
  w.running = [...w.running.filter((x) => x.worker !== j.worker), j];
  const ms = limitsOf(c, w).jobTimeoutMs;
  if (ms === undefined) return;
  c.fx.push({ type: 'setTimer', key: `job:${jobKey(w, j)}`, ms, event: { type: 'timer', timer: 'job', key: w.key, startedAt: j.startedAt, slot: j.worker } });
}

/** What runs now (one job per slot): finished jobs drop their timers, new ones get theirs. */
export function trackRunning(c: Ctx, w: WorkerEntry, current: readonly JobInfo[]): void {
  const ended = w.running.filter((j) => !current.some((x) => sameJob(x, j)));
  for (const j of ended) clearJobTimers(c, w, j);
  w.running = w.running.filter((j) => !ended.includes(j));
  for (const j of current) trackJob(c, w, j);
}
