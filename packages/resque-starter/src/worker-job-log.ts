import type { Logger } from '@baton/process-kit';
import type { ResolvedJobLog } from './config-logs.js';
import { messages, type JobLineFields } from './messages.js';
import type { ResqueJobRef, ResqueWorker } from './resque.js';

/** What a job's `finished` event says of a failure (the exception and message its Resque record names). */
interface Failed {
  exception: string;
  error: string;
}

/**
 * Why: a line per finished job, written by the worker that ran it (Sidekiq's `done`/`fail`):
 * successes at info (all, none or a random share: `jobLog`), failures at warn, a failed
 * attempt that will be retried at info, a job a stop gave back at info. The duration is the
 * handler's run (from the `job` event to `finished`, before the acknowledgement, so a
 * prefetched batch does not add its neighbours' time); the outcome is logged once Redis has
 * acknowledged it. `random` is for tests.
 */
export function logJobOutcomes(worker: Pick<ResqueWorker, 'on'>, logger: Pick<Logger, 'emit'>, settings: ResolvedJobLog, random: () => number = Math.random): void {
  const started = new WeakMap<object, number>();
  const ran = new WeakMap<object, { ms: number; failed: Failed | undefined }>();
  const fields = (job: ResqueJobRef, outcome: JobLineFields['outcome']): JobLineFields => {
    const r = ran.get(job);
    const t0 = started.get(job);
    const ms = r?.ms ?? (t0 !== undefined ? performance.now() - t0 : 0);
    const p = job.payload as { class?: unknown; baton_retry?: { attempt?: unknown } } | undefined;
    const attempt = p?.baton_retry?.attempt;
    return {
      class: String(p?.class ?? '?'),
      queue: job.queue,
      outcome,
      durationMs: Math.round(ms * 1000) / 1000,
      attempt: typeof attempt === 'number' && Number.isInteger(attempt) && attempt > 1 ? attempt : 1,
      jobId: job.jobId,
      worker: job.workerId,
    };
  };
  worker.on('job', (job) => void started.set(job, performance.now()));
  worker.on('finished', (job, failure) => {
    const t0 = started.get(job);
    ran.set(job, { ms: t0 === undefined ? 0 : performance.now() - t0, failed: failure && { exception: failure.exception, error: failure.error } });
  });
  if (settings.sample > 0) {
    worker.on('success', (job) => {
      if (settings.sample >= 1 || random() < settings.sample) logger.emit('info', messages.jobDone(fields(job, 'success')));
    });
  }
  worker.on('failure', (job, thrown) => {
    const f = ran.get(job)?.failed ?? describe(thrown);
    logger.emit('warn', messages.jobFailed(fields(job, 'failure'), f.exception, firstLine(f.error)));
  });
  worker.on('retry', (job, thrown, at) => {
    const f = ran.get(job)?.failed ?? describe(thrown);
    logger.emit('info', messages.jobRetry(fields(job, 'retry'), f.exception, firstLine(f.error), at));
  });
  worker.on('requeued', (job) => logger.emit('info', messages.jobRequeued(fields(job, 'requeued'))));
}

// --- internal ---

function describe(thrown: unknown): Failed {
  return thrown instanceof Error ? { exception: thrown.name, error: thrown.message } : { exception: 'Error', error: String(thrown) };
}

/** The error's first line: a job line stays one line (the full error is in Resque's failed list). */
function firstLine(text: string): string {
  const i = text.indexOf('\n');
  return i < 0 ? text : `${text.slice(0, i)} …`;
}
