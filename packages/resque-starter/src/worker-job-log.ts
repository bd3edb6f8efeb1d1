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
 * (`coalesce`) writes them before the next job starts: a job that blocks or is killed takes no
 * finished job's line with it. `random` is for tests.
 */
export function logJobOutcomes(
  worker: Pick<ResqueWorker, 'on'>,
  logger: Pick<Logger, 'emit' | 'member' | 'format' | 'flush' | 'jsonText' | 'mayMask' | 'hasSecrets'>,
  settings: ResolvedJobLog,
  random: () => number = Math.random,
): void {
  const running = new Map<object, Run>();
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
    logger.flush();
    if (running.size >= MAX_RUNNING) running.delete(running.keys().next().value!);
    running.set(job, { t0: performance.now(), ms: undefined, failed: undefined });
  });
  worker.on('finished', (job, failure) => {
    const r = running.get(job);
    if (!r) return;
    r.ms = performance.now() - r.t0;
    r.failed = failure && { exception: failure.exception, error: failure.error };
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

// --- internal ---

/** What a success line of one class on one queue shares: its message's start, raw and as JSON, and its class and queue members. */
interface ClassQueueParts {
  /** `job Archive on mail done in ` */
  text: string;
  /** The same as the start of a JSON string: `"job Archive on mail done in ` (escaped, no closing quote). */
  json: string;
  /** `,"class":"Archive","queue":"mail"` (masked). */
  members: string;
  /** Masking leaves `text` as it is (no `@` or `=` in it, and no secret). */
  plain: boolean;
}

/**
 * The success line of a job: its JSON members in JobLineFields' order, the class and queue
 * (`,"class":…,"queue":…`), the message's start and the slot (`,"worker":…`) made once each and
 * kept. What changes per job (the duration, the attempt, the job id: digits and the hex of the
 * library's `jobIdOf`) is appended as it is when nothing could be masked in it: a logger without
 * literal secrets masks only around an `@` or `=`, which neither those nor a plain class/queue
 * part hold. Otherwise (a Redis password, an odd class name) the message and the id are masked
 * whole, as any other line's. In the text format, which prints no fields, only the message.
 */
function successLine(logger: Pick<Logger, 'member' | 'format' | 'jsonText' | 'mayMask' | 'hasSecrets'>): (job: ResqueJobRef, r: Run | undefined) => ReturnType<typeof messages.jobDone> {
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
  const partsOf = (cls: string, queue: string): ClassQueueParts => {
    const text = messages.jobDoneStart(cls, queue);
    const quoted = JSON.stringify(text);
    return { text, json: quoted.slice(0, -1), members: logger.member('class', cls) + logger.member('queue', queue), plain: !logger.hasSecrets && !logger.mayMask(text) };
  };
  return (job, r) => {
    const cls = classOf(job);
    const durationMs = durationOf(r);
    const attempt = attemptOf(job);
    const jobId = job.jobId;
    if (!json) return messages.jobDone({ class: cls, queue: job.queue, durationMs, attempt, jobId }, '');
    const queue = job.queue;
    let classes = classQueue.get(queue);
    if (!classes) {
      classes = new Map();
      if (kept < 1000) classQueue.set(queue, classes);
    }
    const parts = classes.get(cls) ?? keep(classes, cls, partsOf(cls, queue));
    const end = messages.jobDoneEnd(durationMs, attempt, jobId);
    const plain = parts.plain;
    const members =
      parts.members +
      `,"outcome":"success","durationMs":${durationMs},"attempt":${attempt}` +
      (plain ? `,"jobId":"${jobId}"` : logger.member('jobId', jobId)) +
      (slots.get(job.workerId) ?? keep(slots, job.workerId, logger.member('worker', job.workerId)));
    return messages.jobDoneJson(members, plain ? `${parts.json}${end}"` : logger.jsonText(parts.text + end));
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
