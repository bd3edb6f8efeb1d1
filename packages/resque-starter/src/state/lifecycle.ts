import { messages, workerFields } from '../messages.js';
import type { Ctx } from './context.js';
import { DEFAULT_GROUP, isPaused, limitsOf, workerLabel } from './groups.js';
import { recordDeath } from './crash-loop.js';
import type { MasterEvent, WorkerEntry } from './model.js';
import { shrinkOnDeath } from './predecessor.js';
import { abortReload } from './reload.js';
import { finishIfDone } from './stop.js';
import { abortTakeover, retireOnReady } from './successor.js';
import { byKey, byPid, clearWorkerTimers, stopWorker } from './workers.js';

// A worker's life as the master sees it: spawned, hello, ready, exit — and what it means when
// one fails before it is ready (a takeover or a reload stops there; a crash loop is held back).

/** The process exists: a stop asked while it was spawning is sent now. */
export function spawned(c: Ctx, e: Extract<MasterEvent, { type: 'spawned' }>): void {
  const w = byKey(c, e.key);
  if (!w) return;
  w.pid = e.pid;
  w.phase = 'starting';
  c.log(messages.spawnedWorker(workerLabel(w), e.pid, w.retire), 'debug', workerFields('worker-started', w, { version: w.version, retires: w.retire }));
  if (!w.stop) return;
  const mode = w.stop.mode;
  w.stop = undefined;
  stopWorker(c, w, mode === 'kill' ? 'kill' : 'quick', 'shutdown');
}

/** The process could not be started (beforeFork threw, spawn failed). */
export function spawnFailed(c: Ctx, e: Extract<MasterEvent, { type: 'spawnFailed' }>): void {
  const w = byKey(c, e.key);
  if (!w) return;
  c.s.workers = c.s.workers.filter((x) => x !== w);
  clearWorkerTimers(c, w);
  c.log(messages.spawnFailed(workerLabel(w), e.error), 'error', workerFields('worker-start-failed', w, { error: e.error }));
  startFailure(c, w, e.error);
  finishIfDone(c);
}

/** Its Resque ids: what the master recovers and holds leases for. */
export function hello(c: Ctx, e: Extract<MasterEvent, { type: 'hello' }>): void {
  const w = byPid(c, e.pid);
  if (!w) return;
  w.id = e.id;
  w.ids = e.ids?.length ? [...e.ids] : [e.id];
}

/** Registered and taking jobs: a takeover's new worker retires a predecessor worker now. */
export function ready(c: Ctx, e: Extract<MasterEvent, { type: 'ready' }>): void {
  const w = byPid(c, e.pid);
  if (!w || w.phase === 'ready') return;
  w.phase = 'ready';
  const retired = retireOnReady(c, w, e.retired === true);
  w.activity = isPaused(c.s, w.group) ? 'paused' : 'idle';
  c.fx.push({ type: 'clearTimer', key: `ready:${w.key}` });
  const group = w.group === DEFAULT_GROUP ? undefined : w.group;
  c.log(
    messages.workerReady(workerLabel(w), e.pid, c.now - w.spawnedAt, retired?.by === 'worker' ? retired.pid : undefined, group),
    'info',
    workerFields('worker-ready', w, { readyMs: c.now - w.spawnedAt, retired: retired?.pid, retiredBy: retired?.by }),
  );
  if (retired?.by === 'master') c.log(messages.retiredForWorker(workerLabel(w), retired.pid), 'info', workerFields('old-worker-retired', w, { oldMaster: retired.pid, by: 'master' }));
  if (!w.stop) return;
  // Asked to stop while starting: now that its handlers exist, the stop can be graceful.
  const { mode, reason } = w.stop;
  w.stop = undefined;
  c.fx.push({ type: 'clearTimer', key: `kill:${w.key}` });
  stopWorker(c, w, mode, reason);
}

/** It cannot start (config, Redis, afterFork threw): said before it exits non-zero. */
export function fatal(c: Ctx, e: Extract<MasterEvent, { type: 'fatal' }>): void {
  const w = byPid(c, e.pid);
  if (w) c.log(messages.workerFatal(workerLabel(w), e.pid, e.message), 'error', workerFields('worker-fatal', w, { error: e.message }));
}

/**
 * Why: only an exit the master asked for (or the worker announced) is clean; a job calling
 * process.exit(0) is a death. Recovery runs after every exit: a clean one that could not give
 * its jobs back (a quick stop while Redis was away) leaves them in flight too.
 */
export function exited(c: Ctx, e: Extract<MasterEvent, { type: 'exit' }>): void {
  const s = c.s;
  const w = byPid(c, e.pid);
  if (!w) return;
  s.workers = s.workers.filter((x) => x !== w);
  clearWorkerTimers(c, w);
  if (w.ids.length > 0) {
    const failed = w.timedOut ? { job: w.timedOut, error: messages.jobTimeoutFailure(limitsOf(c, w).jobTimeoutMs ?? 0) } : undefined;
    c.fx.push({ type: 'recover', pid: e.pid, group: w.group, ids: w.ids, failed });
  }
  if (s.settings.reapJobProcesses) c.fx.push({ type: 'reap', pid: e.pid });
  if (w.stop) {
    c.log(messages.workerExited(workerLabel(w), e.pid, w.stop.reason, e.code, e.signal, w.stop.mode), 'info', exitFields(c, 'worker-exited', w, e, { reason: w.stop.reason, mode: w.stop.mode }));
  } else if (s.phase === 'running') {
    c.log(messages.workerDied(workerLabel(w), e.pid, e.code, e.signal, w.phase === 'ready'), 'error', exitFields(c, 'worker-died', w, e, { reason: 'died', wasReady: w.phase === 'ready' }));
    if (w.phase !== 'ready') startFailure(c, w, messages.exitPhrase(e.code, e.signal));
    else recordDeath(c);
    shrinkOnDeath(c);
  } else {
    c.log(messages.workerExited(workerLabel(w), e.pid, 'shutdown', e.code, e.signal, 'quick'), 'info', exitFields(c, 'worker-exited', w, e, { reason: 'shutdown', mode: 'quick' }));
  }
  finishIfDone(c);
}

/** readyTimeout: a worker not ready in time is killed, and counts as a start failure. */
export function readyTimedOut(c: Ctx, w: WorkerEntry | undefined): void {
  if (!w || w.phase === 'ready' || w.stop) return;
  c.log(messages.readyTimeout(workerLabel(w), w.pid, c.s.settings.readyTimeoutMs), 'error', workerFields('worker-ready-timeout', w, { readyTimeoutMs: c.s.settings.readyTimeoutMs }));
  stopWorker(c, w, 'kill', 'ready-timeout');
  startFailure(c, w, messages.notReadyIn(c.s.settings.readyTimeoutMs));
}

/** An exit's fields: its code or signal, and how long the worker lived. */
function exitFields(c: Ctx, event: 'worker-exited' | 'worker-died', w: WorkerEntry, e: { code: number | null; signal: string | null }, more: Record<string, unknown>): Record<string, unknown> {
  return workerFields(event, w, { ...more, code: e.code, signal: e.signal ?? undefined, uptimeMs: c.now - w.spawnedAt });
}

/** A worker that never became ready: a takeover gives up, a reload stops, a crash loop counts it. */
function startFailure(c: Ctx, w: WorkerEntry, why: string): void {
  if (c.s.phase !== 'running' || abortTakeover(c, w, why)) return;
  abortReload(c, w, why);
  recordDeath(c);
}
