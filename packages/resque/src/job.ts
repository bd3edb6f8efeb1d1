import { AsyncLocalStorage } from 'node:async_hooks';
import { isUtf8 } from 'node:buffer';
import type { Payload } from './data-store.js';
import { jobIdOf, type JobPayload } from './payload.js';
import { retryStateOf } from './retry-state.js';

/** What a handler sees as `this`, and what `currentJob()` returns inside it. */
export interface JobContext {
  /** Aborted on a fast stop (TERM) or `abortCurrentJobs()` (USR1); pass it to fetch, timers, child processes. */
  readonly signal: AbortSignal;
  readonly queue: string;
  readonly payload: JobPayload;
  readonly className: string;
  readonly args: unknown[];
  readonly workerId: string;
  readonly log: WorkerLogger;
  /** This run's attempt, 1-based: 2 is the first retry (jobs with `retry` options; a job recovered from a dead worker keeps its number). */
  readonly attempt: number;
}

/** A job handler: called with the payload's args spread, like Ruby's `perform(*args)`. */
export type JobHandler = (this: JobContext, ...args: any[]) => unknown;

export interface WorkerLogger {
  debug(...a: unknown[]): void;
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
}

/** The hooks around each job (the `WorkerHooks` a job sees). */
export interface JobHooks {
  /** Before each job; throwing fails the job without running it. */
  beforePerform?(ctx: JobContext): unknown;
  /** Wraps each job; must call `perform()` and return (or await) its result. */
  aroundPerform?(ctx: JobContext, perform: () => Promise<unknown>): unknown;
  /** After each successful job. */
  afterPerform?(ctx: JobContext, result: unknown): unknown;
  /** After each failed job (once), with what was thrown. */
  onFailure?(error: unknown, ctx: JobContext): unknown;
}

export interface InFlightJob {
  queue: string;
  /** The decoded payload; undefined when it does not decode (the job fails without running). */
  payload: JobPayload | undefined;
  /** The payload as text (UTF-8; bytes that are not valid UTF-8 read as U+FFFD). */
  raw: string;
  /** The payload's bytes exactly as reserved (what is acknowledged, given back and recorded). */
  bytes: Buffer;
  /**
   * A stable, small identity of the job another process can use: the sha1 hex of `bytes` (Lua's
   * `redis.sha1hex` of the payload). `Queue.failInflight(workerId, jobId, …)` takes it.
   */
  jobId: string;
  startedAt: Date;
  /** The worker slot that holds the job (its id in `resque:workers`). */
  workerId: string;
}

/** How a job failed, as its failure record names it (with what was thrown). */
export interface JobFailure {
  exception: string;
  error: string;
  thrown: unknown;
}

/** A job's failure as recorded: what its record names, and what was thrown. */
export interface Failure extends JobFailure {
  backtrace: string[];
}

/** The error an aborted job's signal carries. */
export class AbortJobError extends Error {
  override name = 'Resque::DirtyExit';
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

const als = new AsyncLocalStorage<JobContext>();

/** Why: arrow-function handlers have no `this`; they reach their context through this accessor. */
export function currentJob(): JobContext | undefined {
  return als.getStore();
}

/** Why: a hook outside the handler's run (`onFailure`) still sees its job through `currentJob()`. */
export function runInJob<R>(ctx: JobContext, fn: () => R): R {
  return als.run(ctx, fn);
}

/**
 * Why: a job's context. Its AbortController is made only when the handler asks for `signal`: most
 * jobs never do, and one costs more than the rest of a job's bookkeeping (hot path).
 */
export class Context implements JobContext {
  readonly className: string;
  readonly args: unknown[];
  readonly attempt: number;
  #ac: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  constructor(
    readonly queue: string,
    readonly payload: JobPayload,
    readonly workerId: string,
    readonly log: WorkerLogger,
  ) {
    this.className = payload.class;
    this.args = payload.args;
    this.attempt = payload.baton_retry === undefined ? 1 : retryStateOf(payload).attempt;
  }

  get signal(): AbortSignal {
    if (!this.#ac) {
      this.#ac = new AbortController();
      if (this.#aborted) this.#ac.abort(this.#reason);
    }
    return this.#ac.signal;
  }

  /** Aborts the signal now, or, if nobody has asked for it yet, hands it out already aborted. */
  abort(reason: unknown): void {
    if (this.#ac) this.#ac.abort(reason);
    else if (!this.#aborted) {
      this.#aborted = true;
      this.#reason = reason;
    }
  }
}

/**
 * Why: the public view of a running job. A class, not a literal with getters (one shape for every
 * job, no closures per job on the hot path); `bytes` and `jobId` are made when first read.
 */
export class ReservedJob implements InFlightJob {
  readonly startedAt = new Date();
  #bytes: Buffer | undefined;
  #jobId: string | undefined;
  readonly #reserved: Payload;
  constructor(
    readonly queue: string,
    readonly payload: JobPayload | undefined,
    readonly raw: string,
    reserved: Payload,
    readonly workerId: string,
  ) {
    this.#reserved = reserved;
  }
  get bytes(): Buffer {
    return (this.#bytes ??= typeof this.#reserved === 'string' ? Buffer.from(this.#reserved) : this.#reserved);
  }
  /** Hashed when first read (a listener forwarding it to a master): ~1 µs a job saved otherwise. */
  get jobId(): string {
    return (this.#jobId ??= jobIdOf(this.#reserved));
  }
}

/** Why: `Worker.current` hands out plain copies; a spread of a ReservedJob would drop `bytes` and `jobId` (getters). */
export function snapshotOf(job: InFlightJob): InFlightJob {
  return { queue: job.queue, payload: job.payload, raw: job.raw, bytes: job.bytes, jobId: job.jobId, startedAt: job.startedAt, workerId: job.workerId };
}

/**
 * Why: hooks, then the handler, inside the job's context (`currentJob()`); without hooks, the
 * handler's own return value (no extra promise: a plain value is not awaited, hot path).
 */
export function runHandler(ctx: JobContext, hooks: JobHooks | undefined, handler: JobHandler): unknown {
  return als.run(ctx, callHandler, hooks, handler, ctx);
}

/**
 * Why: a payload as sent back to Redis: its text when that is exactly its bytes (valid UTF-8, the
 * usual case: ioredis writes an all-string command without a Buffer per argument, hot path),
 * else the bytes themselves.
 */
export function sendable(raw: Payload, text: string): string | Buffer {
  return typeof raw === 'string' || isUtf8(raw) ? text : raw;
}

// --- internal ---

function callHandler(hooks: JobHooks | undefined, handler: JobHandler, ctx: JobContext): unknown {
  if (!hooks?.beforePerform && !hooks?.aroundPerform && !hooks?.afterPerform) return handler.apply(ctx, ctx.args);
  return runHooked(hooks, handler, ctx);
}

async function runHooked(hooks: JobHooks, handler: JobHandler, ctx: JobContext): Promise<unknown> {
  await hooks.beforePerform?.(ctx);
  const perform = async () => await handler.apply(ctx, ctx.args);
  const result = hooks.aroundPerform ? await hooks.aroundPerform(ctx, perform) : await perform();
  await hooks.afterPerform?.(ctx, result);
  return result;
}
