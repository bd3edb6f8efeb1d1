// resque-scheduler's delayed-job payloads (SCHEDULER.md).

import { parseJsonObject } from './payload.js';

/** A delayed job as `Queue.delayed()` lists it. */
export interface DelayedJob {
  /** When it is due (millisecond precision for ours, whole seconds for Ruby's and node-resque's). */
  at: Date;
  /** The queue it goes to; undefined for a payload without one (the scheduler fails it). */
  queue: string | undefined;
  class: string;
  args: unknown[];
  /** The payload's exact text (what `timestamps:<payload>` names). */
  raw: string;
}

/** Why: resque-scheduler's job_to_hash_with_queue, `{class, args, queue}` in Ruby's key order, so remove_delayed finds ours. */
export function encodeDelayed(queue: string, className: string, args: readonly unknown[]): string {
  return JSON.stringify({ class: className, args, queue });
}

/** A delayed payload read back (Ruby's, node-resque's `{class, queue, args}` or ours); undefined when it is not a job. */
export function decodeDelayed(raw: string, atMs: number): DelayedJob | undefined {
  const o = parseJsonObject(raw);
  if (!o || typeof o.class !== 'string') return undefined;
  return { at: new Date(atMs), queue: typeof o.queue === 'string' ? o.queue : undefined, class: o.class, args: Array.isArray(o.args) ? o.args : [], raw };
}

/** Why: a due time must be a real instant; `enqueueAt(new Date('x'))` is a bug worth one clear line. */
export function resolveDueMs(at: Date | number): number {
  const ms = at instanceof Date ? at.getTime() : at;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new TypeError(`Expected a Date or epoch milliseconds for the due time, got \`${at instanceof Date ? 'Invalid Date' : String(at)}\``);
  }
  return Math.floor(ms);
}
