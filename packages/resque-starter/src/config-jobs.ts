// The `jobs` map's types, apart from config.ts so that the group resolver (config-groups.ts)
// can name them without importing config.ts, which imports it.
import type { JobContext } from '@baton/resque';
import type { RetryConfig } from './config-schedule.js';

/**
 * A job handler: called with the payload's args spread, like Ruby's `perform(*args)`, with the
 * job's context (its AbortSignal, queue, payload, logger) as `this`; arrow functions reach it
 * through `currentJob()` of `@baton/resque`. Its parameter types are yours to write: the args
 * are the JSON values the job was enqueued with.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JobHandler = (this: JobContext, ...args: any[]) => unknown;

/** A job with options: its handler and how a failed attempt is retried. */
export interface JobWithOptions {
  perform: JobHandler;
  /** Retry a failed attempt later (delayed, with backoff); `this.attempt` counts from 1. @default undefined (no retry: straight to `failed`) */
  retry?: RetryConfig;
}

/** The `jobs` map: Resque class name → handler, or `{ perform, retry }`. */
export type JobHandlers = Readonly<Record<string, JobHandler | JobWithOptions>>;
