import type { JobCounts, WorkerToMaster } from './ipc.js';
import { DURATION_BUCKETS } from './master/metrics-store.js';
import type { ResqueWorker } from './resque.js';

/** Jobs finished within this many ms go to the master in one message. */
export const OUTCOME_FLUSH_MS = 100;

/**
 * Why: the master counts jobs per class and queue and times them (its counters outlive every
 * worker). A message per job, or even an entry per job, would cost a no-op job a good part of
 * its time, so the worker adds them up itself: per class and queue, jobs run, jobs failed, and
 * the run times already sorted into the histogram's buckets; one `done` message per 100 ms at
 * most carries those sums. Counted when a handler has settled (`finished`: before the
 * acknowledgement, once per run, a failed attempt included; a job given back by a stop is not
 * counted). The run time is the handler's, from the `job` event to `finished` (a slot starts
 * its next job only after that). `flush()` sends what is pending (before exit). Only when the
 * master serves metrics.
 */
export function reportJobOutcomes(worker: Pick<ResqueWorker, 'on'>, send: (m: WorkerToMaster) => void): { flush(): void } {
  const started = new Map<string, number>();
  /** queue → class → sums since the last message (no key made per job). */
  let pending = new Map<string, Map<string, JobCounts>>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.size === 0) return;
    const jobs: JobCounts[] = [];
    for (const classes of pending.values()) for (const c of classes.values()) jobs.push(c);
    pending = new Map();
    send({ t: 'done', jobs });
  };
  worker.on('job', (job) => void started.set(job.workerId, performance.now()));
  worker.on('finished', (job, failure) => {
    const t0 = started.get(job.workerId);
    const ms = t0 === undefined ? 0 : performance.now() - t0;
    const cls = String(job.payload?.class ?? '?');
    let classes = pending.get(job.queue);
    if (!classes) pending.set(job.queue, (classes = new Map()));
    let c = classes.get(cls);
    if (!c) classes.set(cls, (c = [cls, job.queue, 0, 0, new Array<number>(DURATION_BUCKETS.length + 1).fill(0), 0]));
    c[2] += 1;
    if (failure) c[3] += 1;
    const s = ms / 1000;
    let i = 0;
    while (i < DURATION_BUCKETS.length && s > DURATION_BUCKETS[i]!) i++;
    c[4][i]! += 1;
    c[5] += s;
    if (!timer) {
      timer = setTimeout(flush, OUTCOME_FLUSH_MS);
      timer.unref();
    }
  });
  return { flush };
}
