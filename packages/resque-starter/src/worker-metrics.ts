import type { JobOutcome, WorkerToMaster } from './ipc.js';
import type { ResqueJobRef, ResqueWorker } from './resque.js';

/** Jobs finished within this many ms go to the master in one message. */
export const OUTCOME_FLUSH_MS = 100;
/** A batch this long goes at once (a burst of no-op jobs does not grow one message without bound). */
export const OUTCOME_BATCH_MAX = 1000;

/**
 * Why: the master counts jobs per class and queue and times them (its counters outlive every
 * worker); a message per job would cost a no-op job most of its time, so finished jobs are
 * batched: one `done` message per 100 ms at most. The run time is the handler's (from the job's
 * start to its `finished` event, before the acknowledgement). `flush()` sends what is pending
 * (before exit). Only when the master serves metrics.
 */
export function reportJobOutcomes(worker: Pick<ResqueWorker, 'on'>, send: (m: WorkerToMaster) => void): { flush(): void } {
  const ran = new WeakMap<object, number>();
  let pending: JobOutcome[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const jobs = pending;
    pending = [];
    send({ t: 'done', jobs });
  };
  const add = (job: ResqueJobRef, outcome: JobOutcome[2]) => {
    const started = job.startedAt instanceof Date ? job.startedAt.getTime() : Number(job.startedAt);
    const ms = ran.get(job) ?? Math.max(0, Date.now() - started);
    pending.push([String(job.payload?.class ?? '?'), job.queue, outcome, Math.round(ms * 1000) / 1000]);
    if (pending.length >= OUTCOME_BATCH_MAX) flush();
    else if (!timer) {
      timer = setTimeout(flush, OUTCOME_FLUSH_MS);
      timer.unref();
    }
  };
  const startedAt = new WeakMap<object, number>();
  worker.on('job', (job) => void startedAt.set(job, performance.now()));
  worker.on('finished', (job) => {
    const t0 = startedAt.get(job);
    if (t0 !== undefined) ran.set(job, performance.now() - t0);
  });
  worker.on('success', (job) => add(job, 'success'));
  worker.on('failure', (job) => add(job, 'failure'));
  worker.on('retry', (job) => add(job, 'retry'));
  return { flush };
}
