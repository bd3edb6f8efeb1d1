import type { Logger } from '@baton/process-kit';
import type { ResolvedJobLog } from './config-logs.js';
import { messages, type JobLineFields } from './messages.js';
import type { ResqueJobRef, ResqueWorker } from './resque.js';

/** What a job's `finished` event says of a failure (the exception and message its Resque record names). */
interface Failed {
  exception: string;
  error: string;
}

/** A job between its `job` event and its outcome: when it started; once it ran, for how long and how it failed. */
interface Run {
  t0: number;
  ms: number | undefined;
  failed: Failed | undefined;
}

/** Jobs tracked at most (a job whose outcome never comes, its worker stopping, must not be kept for ever). */
const MAX_RUNNING = 10_000;

/**
 * Why: a line per finished job, written by the worker that ran it (Sidekiq's `done`/`fail`):
 * successes at info (all, none or a random share: `jobLog`), failures at warn, a failed
 * attempt that will be retried at info, a job a stop gave back at info. The duration is the
 * handler's run (from the `job` event to `finished`, before the acknowledgement, so a
 * prefetched batch does not add its neighbours' time); the outcome is logged once Redis has
 * acknowledged it. A success line, the one written per job, is made from parts kept per class,
 * queue and slot (their JSON members made and masked once). A logger that holds lines back
 * (`coalesce`) writes them before the next job starts (a job that blocks or is killed takes no
 * finished job's line with it) unless `mayHoldAcross` says the lines may wait for the next
 * write: a stream of no-op jobs then costs one `write(2)` per write's worth of lines, not one
 * or two per prefetched batch.
 * `options.random` and `options.now` are for tests.
 */
export function logJobOutcomes(
  worker: Pick<ResqueWorker, 'on'>,
  logger: Pick<Logger, 'emit' | 'member' | 'format' | 'flush' | 'jsonText' | 'hasSecrets'>,
  settings: ResolvedJobLog,
  options: { jobTimeout?: boolean | undefined; random?: (() => number) | undefined; now?: (() => number) | undefined } = {},
): void {
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => performance.now());
  const running = new Map<object, Run>();
  /** The job that finished last: its class, queue and whether it ran under QUICK_MS (one object, updated per job). */
  let last: { cls: string; queue: string; quick: boolean } | undefined;
  const outcomeOf = (job: ResqueJobRef): Run | undefined => {
    const r = running.get(job);
    if (r) running.delete(job);
    return r;
  };
  const fields = (job: ResqueJobRef, r: Run | undefined, outcome: JobLineFields['outcome']): JobLineFields => ({
    class: classOf(job),
    queue: job.queue,
    outcome,
    durationMs: durationOf(r),
    attempt: attemptOf(job),
    jobId: job.jobId,
    worker: job.workerId,
  });
  worker.on('job', (job) => {
    if (!mayHoldAcross(job, last, options.jobTimeout === true)) logger.flush();
    if (running.size >= MAX_RUNNING) running.delete(running.keys().next().value!);
    running.set(job, { t0: now(), ms: undefined, failed: undefined });
  });
  worker.on('finished', (job, failure) => {
    const r = running.get(job);
    if (!r) return;
    r.ms = now() - r.t0;
    r.failed = failure && { exception: failure.exception, error: failure.error };
    if (!last) last = { cls: '', queue: '', quick: false };
    last.cls = classOf(job);
    last.queue = job.queue;
    last.quick = r.ms < QUICK_MS;
  });
  const done = successLine(logger);
  worker.on('success', (job) => {
    const r = outcomeOf(job);
    if (settings.sample > 0 && (settings.sample >= 1 || random() < settings.sample)) logger.emit('info', done(job, r));
  });
  worker.on('failure', (job, thrown) => {
    const r = outcomeOf(job);
    const f = r?.failed ?? describe(thrown);
    logger.emit('warn', messages.jobFailed(fields(job, r, 'failure'), f.exception, firstLine(f.error)));
  });
  worker.on('retry', (job, thrown, at) => {
    const r = outcomeOf(job);
    const f = r?.failed ?? describe(thrown);
    logger.emit('info', messages.jobRetry(fields(job, r, 'retry'), f.exception, firstLine(f.error), at));
  });
  worker.on('requeued', (job) => logger.emit('info', messages.jobRequeued(fields(job, outcomeOf(job), 'requeued'))));
  worker.on('lost', (job) => void running.delete(job));
}

/** How long a worker's logger holds job lines at most (ms) when jobs stream: a batch of them in one write. */
export const JOB_LINES_HOLD_MS = 20;

/** A job that ran for less than this (ms) is quick: the next of its class and queue may start with lines held. */
export const QUICK_MS = 1;

/**
 * Why: may `job` start while lines are held back? Only when a blocking job would be caught at
 * once anyway is a held line a risk, so: not when jobTimeout is set (the master kills a job that
 * overruns, and what the worker held would die with it); not for a job of another class or
 * queue than the one that finished last (a class that blocks shows it on its first job); not
 * after a job that ran QUICK_MS or longer (a write per such job is nothing beside it). Otherwise
 * the lines wait for the logger's hold (JOB_LINES_HOLD_MS, one write's worth): a job of a class that was quick
 * until now and then blocks the loop holds at most those, and a SIGKILL meanwhile loses them.
 */
export function mayHoldAcross(job: ResqueJobRef, last: { cls: string; queue: string; quick: boolean } | undefined, jobTimeout: boolean): boolean {
  return !jobTimeout && last !== undefined && last.quick && last.queue === job.queue && last.cls === classOf(job);
}

// --- internal ---

/** What the JSON success lines of one class on one queue share: the message and the class and queue members, masked. */
interface ClassQueueParts {
  /** `"job Archive on mail done"` */
  msg: string;
  /** `,"class":"Archive","queue":"mail"` */
  members: string;
}

/**
 * The success line of a job. In JSON its message is the same for every job of a class on a
 * queue (`job Archive on mail done`: log tools group lines by message, and the duration, attempt
 * and id are fields), so the message with the class and queue members is made and masked once
 * and kept; per job only the numbers and the id are added (the library's job id is hex: written
 * as it is unless the logger masks literal secrets). In the text format, which prints no fields,
 * the message says it all: `job Archive on mail done in 12.417 ms (attempt 1, id 3f2a9c1e)`.
 */
function successLine(logger: Pick<Logger, 'member' | 'format' | 'jsonText' | 'hasSecrets'>): (job: ResqueJobRef, r: Run | undefined) => ReturnType<typeof messages.jobDone> {
  const json = logger.format === 'json';
  /** queue → class → the parts above (no key made per job). */
  const classQueue = new Map<string, Map<string, ClassQueueParts>>();
  const slots = new Map<string, string>();
  let kept = 0;
  const keep = <V>(map: Map<string, V>, key: string, value: V): V => {
    // Class and queue names are few; a process that sees more than this stops keeping them.
    if (kept < 1000) {
      kept++;
      map.set(key, value);
    }
    return value;
  };
  const partsOf = (cls: string, queue: string): ClassQueueParts => ({
    msg: logger.jsonText(messages.jobDoneJsonMessage(cls, queue)),
    members: logger.member('class', cls) + logger.member('queue', queue),
  });
  return (job, r) => {
    const cls = classOf(job);
    const durationMs = durationOf(r);
    const attempt = attemptOf(job);
    const jobId = job.jobId;
    if (!json) return messages.jobDone({ class: cls, queue: job.queue, durationMs, attempt, jobId });
    const queue = job.queue;
    let classes = classQueue.get(queue);
    if (!classes) {
      classes = new Map();
      if (kept < 1000) classQueue.set(queue, classes);
    }
    const parts = classes.get(cls) ?? keep(classes, cls, partsOf(cls, queue));
    return messages.jobDoneJson(
      parts.msg,
      parts.members +
        `,"outcome":"success","durationMs":${durationMs},"attempt":${attempt}` +
        (logger.hasSecrets ? logger.member('jobId', jobId) : `,"jobId":"${jobId}"`) +
        (slots.get(job.workerId) ?? keep(slots, job.workerId, logger.member('worker', job.workerId))),
    );
  };
}

function classOf(job: ResqueJobRef): string {
  const c = (job.payload as { class?: unknown } | undefined)?.class;
  return typeof c === 'string' ? c : String(c ?? '?');
}

/** 1-based, as `this.attempt`: a retried job's payload counts its attempts. */
function attemptOf(job: ResqueJobRef): number {
  const attempt = (job.payload as { baton_retry?: { attempt?: unknown } } | undefined)?.baton_retry?.attempt;
  return typeof attempt === 'number' && Number.isInteger(attempt) && attempt > 1 ? attempt : 1;
}

/** The handler's run time in ms, 3 decimals; for a job given back before it finished, its time so far. */
function durationOf(r: Run | undefined): number {
  const ms = r === undefined ? 0 : (r.ms ?? performance.now() - r.t0);
  return Math.round(ms * 1000) / 1000;
}

function describe(thrown: unknown): Failed {
  return thrown instanceof Error ? { exception: thrown.name, error: thrown.message } : { exception: 'Error', error: String(thrown) };
}

/** The error's first line: a job line stays one line (the full error is in Resque's failed list). */
function firstLine(text: string): string {
  const i = text.indexOf('\n');
  return i < 0 ? text : `${text.slice(0, i)} …`;
}
