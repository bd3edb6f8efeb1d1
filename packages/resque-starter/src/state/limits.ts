import { messages, workerFields } from '../messages.js';
import type { Ctx } from './context.js';
import { limitsOf, workerLabel } from './groups.js';
import type { MasterEvent, WorkerEntry } from './model.js';
import { armStopTimer, byPid, jobKey, stopWorker, timedJob, trackJob, trackRunning } from './workers.js';

// What a worker reports about its jobs and memory, and the limits the master enforces on them:
// maxMemory (recycle after the current job), jobTimeout (abort the job, then kill the worker),
// and the worker's own limits (maxJobs, maxLifetime) when it says it is recycling.

/** Why: the worker's periodic state: what it runs (job timers follow it) and its memory. */
export function report(c: Ctx, e: Extract<MasterEvent, { type: 'report' }>): void {
  const w = byPid(c, e.pid);
  if (!w) return;
  w.activity = e.activity;
  w.job = e.job;
  w.processed = e.processed;
  if (e.rssKb !== undefined) w.rssKb = e.rssKb;
  trackRunning(c, w, e.jobs ?? (e.job ? [e.job] : []));
  checkMemory(c, w);
}

/** Sent before the job's handler runs: a job that blocks the worker's loop is still timed. */
export function jobStarted(c: Ctx, e: Extract<MasterEvent, { type: 'jobStarted' }>): void {
  const w = byPid(c, e.pid);
  if (!w) return;
  w.activity = 'busy';
  w.job = e.job;
  trackJob(c, w, e.job);
}

/** The master's own memory samples (RssAnon). */
export function memory(c: Ctx, e: Extract<MasterEvent, { type: 'memory' }>): void {
  for (const sample of e.samples) {
    const w = byPid(c, sample.pid);
    if (!w) continue;
    w.rssKb = sample.rssKb;
    checkMemory(c, w);
  }
}

/** The worker reached one of its own limits and stops itself; the usual deadlines still apply. */
export function recycling(c: Ctx, e: Extract<MasterEvent, { type: 'recycling' }>): void {
  const w = byPid(c, e.pid);
  if (!w || w.stop) return;
  c.log(messages.recycling(workerLabel(w), e.pid, e.reason), 'info', workerFields('worker-recycling', w, { reason: e.reason }));
  w.stop = { mode: 'graceful', reason: 'recycle' };
  armStopTimer(c, w);
}

/** jobTimeout: the job's AbortSignal fires; the worker is killed if still on it termTimeout later. */
export function jobTimedOut(c: Ctx, w: WorkerEntry | undefined, e: { startedAt?: number | undefined; slot?: string | undefined }): void {
  const j = timedJob(w, e);
  if (!w || !j || w.pid === undefined) return;
  const set = c.s.settings;
  c.log(messages.jobTimeout(workerLabel(w), w.pid, j, limitsOf(c, w).jobTimeoutMs ?? 0), 'warn', workerFields('job-timeout', w, { class: j.class, queue: j.queue, jobTimeoutMs: limitsOf(c, w).jobTimeoutMs }));
  c.fx.push({ type: 'send', pid: w.pid, message: { t: 'abort' } });
  c.fx.push({
    type: 'setTimer',
    key: `jobKill:${jobKey(w, j)}`,
    ms: set.termTimeoutMs,
    event: { type: 'timer', timer: 'jobKill', key: w.key, startedAt: e.startedAt, slot: e.slot },
  });
}

/** The job ignored its abort: the worker is killed and this job is recorded as failed. */
export function jobKillTimedOut(c: Ctx, w: WorkerEntry | undefined, e: { startedAt?: number | undefined; slot?: string | undefined }): void {
  const j = timedJob(w, e);
  if (!w || !j) return;
  c.log(messages.jobKilled(workerLabel(w), w.pid, j, c.s.settings.termTimeoutMs), 'error', workerFields('job-killed', w, { class: j.class, queue: j.queue }));
  // This job, whatever the worker runs by the time it is gone and whatever else was stopping it
  // (a recycle, a QUIT): it is the one recorded as failed.
  w.timedOut ??= j;
  stopWorker(c, w, 'kill', 'job-timeout');
}

function checkMemory(c: Ctx, w: WorkerEntry): void {
  const max = limitsOf(c, w).maxMemoryKb;
  if (max === undefined || w.rssKb === undefined || w.stop || w.phase !== 'ready' || c.s.phase !== 'running') return;
  if (w.rssKb <= max) return;
  c.log(messages.overMemory(workerLabel(w), w.pid, w.rssKb, max), 'warn', workerFields('worker-over-memory', w, { rssKb: w.rssKb, maxMemoryKb: max }));
  stopWorker(c, w, 'graceful', 'memory');
}
