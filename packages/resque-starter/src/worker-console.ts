import { formatWithOptions } from 'node:util';
import { logLine, type Logger } from '@baton/process-kit';
import type { JobContextLike, ResqueWorker } from './resque.js';

export type { JobContextLike } from './resque.js';

/** The console methods a job's output goes through, and the level each becomes. */
const LEVELS = { log: 'info', info: 'info', warn: 'warn', error: 'error', debug: 'debug' } as const;

export type ConsoleMethod = keyof typeof LEVELS;

/** The fields of a line a job wrote with `console.*`. */
export interface JobConsoleFields {
  class: string;
  queue: string;
  jobId: string | undefined;
  attempt: number;
  /** The Resque worker id of the slot running it. */
  worker: string;
}

/**
 * Why: a job's `console.log` used to reach stdout bare (no time, pid or job). In a worker
 * process, `console.log/info/warn/error/debug` go to the worker's log stream instead, at info,
 * info, warn, error and debug, in its format; a line written while a job runs carries that job
 * (class, queue, id, attempt, slot), found through the job's AsyncLocalStorage context, so jobs
 * running side by side (`jobConcurrency`) each keep theirs. `logger()` is read at each call (the
 * worker replaces its logger once the config is loaded). Returns the undo.
 */
export function captureConsole(target: Pick<Console, ConsoleMethod>, logger: () => Logger, job: () => JobConsoleFields | undefined): () => void {
  const saved = { ...target };
  for (const method of Object.keys(LEVELS) as ConsoleMethod[]) {
    const level = LEVELS[method];
    target[method] = (...args: unknown[]) => {
      const text = formatWithOptions({ colors: false, breakLength: Infinity }, ...args);
      const j = job();
      // Always one string (or a line object): a lone `{ message }` must not read as a consola log object.
      if (!j) logger()[level](text);
      else logger()[level](logLine(text === '' ? ' ' : text, { ...j, source: 'console' }, `[${j.class}${j.jobId ? ` ${j.jobId.slice(0, 8)}` : ''}]`));
    };
  }
  return () => Object.assign(target, saved);
}

/**
 * Why: the job running in this async context, with its id (the id is the reserved payload's
 * hash, which only the worker knows: found among the jobs in flight, by the slot the context
 * names and its payload). Looked up when a job writes a line, not kept per job: a map entry per
 * job cost every job (a WeakMap's entries are work for each garbage collection) for the few
 * that print.
 */
export function jobLookup(worker: Pick<ResqueWorker, 'current'>, currentJob: () => JobContextLike | undefined): () => JobConsoleFields | undefined {
  return () => {
    const ctx = currentJob();
    if (!ctx) return undefined;
    const job = worker.current.find((j) => j.workerId === ctx.workerId && j.payload === ctx.payload);
    return { class: ctx.className, queue: ctx.queue, jobId: job?.jobId, attempt: ctx.attempt, worker: ctx.workerId };
  };
}
