import type { JobHandler } from './job.js';
import { retryStateOf, type RetryState } from './retry-state.js';

export { retryStateOf, type RetryState };

/** How a job class retries a failed attempt (resque-retry's retry_limit/retry_delay/backoff_strategy, BullMQ's attempts/backoff). */
export interface RetryOptions {
  /** Retries after the first attempt (resque-retry's `@retry_limit`): a job runs at most `limit + 1` times. */
  limit: number;
  /**
   * Delay before each retry, ms: a number (always the same), a list (the n-th retry waits the
   * n-th delay, the last repeats; resque-retry's backoff_strategy), or `{ exponential: base, max }`
   * (base · 2^(n-1), at most `max`; default `{ exponential: 1000, max: 3_600_000 }`).
   */
  backoff?: number | readonly number[] | { exponential: number; max?: number };
  /** Spread each delay by ± this fraction (0–1, default 0), so a burst of failures does not retry in lockstep. */
  jitter?: number;
  /** Which failures retry (default all): exception names (`'TypeError'`, `'Net::Timeout'`), Error classes, or a predicate. */
  retryOn?: ReadonlyArray<string | (abstract new (...a: any[]) => unknown)> | ((error: unknown) => boolean);
}

/** A `jobs` entry: a handler, or a handler with options. */
export type JobDefinition = JobHandler | { perform: JobHandler; retry?: RetryOptions };

export interface ResolvedJob {
  perform: JobHandler;
  retry: RetryOptions | undefined;
}

/** Why: a bad `jobs` entry is a one-line error when the worker is made, not a failure per job later. */
export function resolveJobs(jobs: Record<string, JobDefinition>): Map<string, ResolvedJob> {
  if (typeof jobs !== 'object' || jobs === null) throw new TypeError('Expected the `jobs` option to be an object of class name → handler');
  const out = new Map<string, ResolvedJob>();
  for (const [name, def] of Object.entries(jobs)) {
    if (typeof def === 'function') {
      out.set(name, { perform: def, retry: undefined });
      continue;
    }
    if (typeof def !== 'object' || def === null || typeof def.perform !== 'function') {
      throw new TypeError(`Expected jobs.${name} to be a function or { perform, retry }, got \`${def === null ? 'null' : typeof def}\``);
    }
    if (def.retry !== undefined) checkRetry(name, def.retry);
    out.set(name, { perform: def.perform, retry: def.retry });
  }
  return out;
}

function checkRetry(name: string, r: RetryOptions): void {
  const at = `jobs.${name}.retry`;
  if (typeof r !== 'object' || r === null) throw new TypeError(`Expected ${at} to be { limit, backoff?, jitter?, retryOn? }`);
  if (!Number.isInteger(r.limit) || r.limit < 0) throw new TypeError(`Expected ${at}.limit to be an integer >= 0, got \`${String(r.limit)}\``);
  const b = r.backoff;
  const ms = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  const ok =
    b === undefined ||
    ms(b) ||
    (Array.isArray(b) && b.length > 0 && b.every(ms)) ||
    (typeof b === 'object' && !Array.isArray(b) && ms((b as { exponential: number }).exponential) && ((b as { max?: number }).max === undefined || ms((b as { max?: number }).max)));
  if (!ok) throw new TypeError(`Expected ${at}.backoff to be ms, a non-empty list of ms, or { exponential: ms, max?: ms }, got \`${JSON.stringify(b)}\``);
  if (r.jitter !== undefined && !(typeof r.jitter === 'number' && r.jitter >= 0 && r.jitter <= 1)) throw new TypeError(`Expected ${at}.jitter to be between 0 and 1, got \`${String(r.jitter)}\``);
  if (r.retryOn !== undefined && typeof r.retryOn !== 'function' && !Array.isArray(r.retryOn)) throw new TypeError(`Expected ${at}.retryOn to be a list of exception names or classes, or a function`);
}

/** The delay before retry number `retry` (1 = the first retry), before jitter. */
export function backoffMs(r: RetryOptions, retry: number): number {
  const b = r.backoff ?? { exponential: 1000, max: 3_600_000 };
  if (typeof b === 'number') return b;
  if (Array.isArray(b)) return b[Math.min(retry, b.length) - 1]!;
  const e = b as { exponential: number; max?: number };
  return Math.min(e.exponential * 2 ** (retry - 1), e.max ?? Infinity);
}

/** The delay with jitter applied (`random` in [0, 1)). */
export function retryDelayMs(r: RetryOptions, retry: number, random: () => number = Math.random): number {
  const base = backoffMs(r, retry);
  const j = r.jitter ?? 0;
  return Math.max(0, Math.round(base * (1 + j * (2 * random() - 1))));
}

/** Whether attempt `attempt` (1-based) that failed with `thrown` (recorded as `exception`) is retried. */
export function shouldRetry(r: RetryOptions | undefined, attempt: number, exception: string, thrown: unknown): boolean {
  if (!r || attempt > r.limit) return false;
  const on = r.retryOn;
  if (on === undefined) return true;
  if (typeof on === 'function') {
    try {
      return Boolean(on(thrown));
    } catch {
      return false;
    }
  }
  return on.some((m) => (typeof m === 'string' ? m === exception || (thrown instanceof Error && m === thrown.name) : thrown instanceof m));
}

/** The backtrace lines that sum up every earlier attempt's error in the final failure record. */
export function attemptsSummary(state: RetryState, total: number): string[] {
  return state.errors.map((e, i) => `attempt ${i + 1} of ${total} failed at ${e.at}: ${e.exception}: ${e.error}`);
}
