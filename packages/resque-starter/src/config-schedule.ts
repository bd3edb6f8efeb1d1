import { closest } from '@baton/process-kit';
import { describe, describeNumber, type FieldReader } from './config-fields.js';

// The config's side of issue 14: recurring jobs (`schedule`), the scheduler each master runs
// (`scheduler`), and per-job retry options (`jobs: { Mail: { perform, retry } }`). Durations are
// in seconds, as everywhere in the config; they are handed to `@baton/resque` in milliseconds.

/** One recurring job. Exactly one of `cron` and `every`. */
export interface ScheduleConfig {
  /** A cron expression, 5 fields (or 6 with seconds first): `'*\/5 * * * *'`, read in `tz`. */
  cron?: string;
  /** Seconds between runs (runs fall on multiples of it since the epoch), or `'30s'`, `'5m'`, `'2h'`, `'1d'`. */
  every?: number | string;
  /** The Resque job class to enqueue. */
  class: string;
  /** Its args. @default [] */
  args?: readonly unknown[];
  /** The queue it goes to. */
  queue: string;
  /** IANA time zone of `cron` (`'Europe/Paris'`). @default 'UTC' */
  tz?: string;
  description?: string;
}

/** The scheduler each master runs: one leader across every master and host on the same Redis. */
export interface SchedulerConfig {
  /** false: this master moves no delayed jobs and enqueues no recurring ones (another one, or Ruby's resque-scheduler, does). @default true */
  enabled?: boolean;
  /** Seconds of the leader lock: a leader killed with -9 is replaced within this; 1 to 3600. @default 10 */
  lockTtl?: number;
  /**
   * Seconds: missed runs of a recurring job younger than this are each enqueued once when a
   * leader finds them (a hand-over, a leader killed -9, a stall); of older ones only the latest
   * runs. 0 to 86400; 0: only the latest missed run. @default 60
   */
  catchUp?: number;
}

/** How a failed attempt of a job is retried (resque-retry's `retry_limit`, `backoff_strategy`). */
export interface RetryConfig {
  /** Retries after the first attempt; after the last one the job goes to `failed`. 0 to 10000. */
  limit: number;
  /**
   * Seconds before each retry: one number (every retry), a list (one per retry, the last one
   * repeats), or `{ exponential: base, max }` (base·2^(n−1), at most `max`). @default { exponential: 1, max: 3600 }
   */
  backoff?: number | readonly number[] | { exponential: number; max?: number };
  /** ± this fraction of each delay at random (0 to 1), so retries of many jobs spread out. @default 0 */
  jitter?: number;
  /** Retry only errors of these names (`err.name`, or the Ruby exception class) or classes, or those this returns true for. @default every error */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  retryOn?: ReadonlyArray<string | (abstract new (...args: any[]) => unknown)> | ((error: unknown) => boolean);
}

export interface ResolvedScheduleEntry {
  name: string;
  /** What `@baton/resque`'s Scheduler takes (`every` in milliseconds). */
  entry: { cron?: string; every?: number | string; class: string; args: unknown[]; queue: string; tz?: string; description?: string };
}

export interface ResolvedScheduler {
  enabled: boolean;
  lockTtlMs: number;
  catchUpMs: number;
}

/** `@baton/resque`'s `resolveSchedule`, for the cron and time-zone checks (given by load-config when there is a schedule). */
export type ScheduleParser = (input: Record<string, unknown>) => unknown;

/** Why: every problem of every entry at once, each at its line, before the library sees it. */
export function resolveSchedule(f: FieldReader, parse: ScheduleParser | undefined): ResolvedScheduleEntry[] {
  const raw = f.obj.schedule;
  if (raw === undefined) return [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    f.report('schedule', `Expected \`schedule\` to be an object of recurring jobs by name (\`schedule: { nightly: { cron: '0 3 * * *', class: 'Cleanup', queue: 'low' } }\`), got ${describe(raw)}`);
    return [];
  }
  const all = f.nested('schedule', raw as Record<string, unknown>);
  const out: ResolvedScheduleEntry[] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      all.report(name, `Expected \`schedule.${name}\` to be an object with \`class\`, \`queue\` and \`cron\` or \`every\`, got ${describe(value)}`);
      continue;
    }
    const entry = resolveEntry(all.nested(name, value as Record<string, unknown>), name, parse);
    if (entry) out.push({ name, entry });
  }
  return out;
}

/** `scheduler`: on by default in every master (delayed jobs and retries need a mover even without a schedule). */
export function resolveScheduler(f: FieldReader): ResolvedScheduler {
  const raw = f.obj.scheduler;
  if (raw === undefined) return { enabled: true, lockTtlMs: 10_000, catchUpMs: 60_000 };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    f.report('scheduler', `Expected \`scheduler\` to be an object (\`scheduler: { enabled: false }\`), got ${describe(raw)}`);
    return { enabled: true, lockTtlMs: 10_000, catchUpMs: 60_000 };
  }
  const s = f.nested('scheduler', raw as Record<string, unknown>);
  unknownFields(s, 'scheduler', SCHEDULER_FIELDS);
  return { enabled: s.flag('enabled', true), lockTtlMs: s.ms('lockTtl', 10, 'scheduler.lockTtl'), catchUpMs: s.ms('catchUp', 60, 'scheduler.catchUp') };
}

/**
 * Why: a job is a handler, or `{ perform, retry }`; the object form is checked field by field
 * and returned as `@baton/resque` takes it (backoff in milliseconds). `jobs` is the reader of the
 * `jobs` object (top level or a group's), `label` how messages name it.
 */
export function resolveJob(jobs: FieldReader, name: string, value: unknown, label: string): unknown {
  if (typeof value === 'function') return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    jobs.report(name, `Expected the handler of job \`${name}\`${label} to be a function or \`{ perform, retry }\`, got ${describe(value)}`);
    return value;
  }
  const j = jobs.nested(name, value as Record<string, unknown>);
  unknownFields(j, `jobs.${name}`, JOB_FIELDS);
  if (typeof j.obj.perform !== 'function') j.report('perform', `Expected \`jobs.${name}.perform\` to be a function, got ${describe(j.obj.perform)}`);
  if (j.obj.retry === undefined) return value;
  const retry = j.obj.retry;
  if (retry === null || typeof retry !== 'object' || Array.isArray(retry)) {
    j.report('retry', `Expected \`jobs.${name}.retry\` to be an object (\`retry: { limit: 5, backoff: { exponential: 2 } }\`), got ${describe(retry)}`);
    return value;
  }
  return { ...(value as object), retry: resolveRetry(j.nested('retry', retry as Record<string, unknown>), `jobs.${name}.retry`) };
}

// --- internal ---

const SCHEDULE_FIELDS = { cron: true, every: true, class: true, args: true, queue: true, tz: true, description: true } as const satisfies Record<keyof ScheduleConfig, true>;
const SCHEDULER_FIELDS = { enabled: true, lockTtl: true, catchUp: true } as const satisfies Record<keyof SchedulerConfig, true>;
const RETRY_FIELDS = { limit: true, backoff: true, jitter: true, retryOn: true } as const satisfies Record<keyof RetryConfig, true>;
const JOB_FIELDS = { perform: true, retry: true } as const;
/** Longest retry delay and `every`, in seconds: 30 days (delayed jobs wait in Redis, not in a timer). */
const MAX_DELAY_S = 2_592_000;
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function unknownFields(f: FieldReader, prefix: string, known: Record<string, true>): void {
  for (const key of Object.keys(f.obj)) {
    if (Object.hasOwn(known, key)) continue;
    const near = closest(key, Object.keys(known));
    f.report(key, `Unknown field \`${prefix}.${key}\`${near ? `; did you mean \`${prefix}.${near}\`?` : `; known: ${Object.keys(known).map((k) => `\`${k}\``).join(', ')}`}`);
  }
}

function resolveEntry(e: FieldReader, name: string, parse: ScheduleParser | undefined): ResolvedScheduleEntry['entry'] | undefined {
  const at = `schedule.${name}`;
  const before = e.issues.length;
  unknownFields(e, at, SCHEDULE_FIELDS);
  // What is missing is reported at the entry's first field (the entry's own name is not located).
  const anchor = Object.keys(e.obj)[0] ?? 'class';
  for (const field of ['class', 'queue'] as const) {
    const v = e.obj[field];
    if (v === undefined) e.report(anchor, `Missing \`${at}.${field}\``);
    else if (typeof v !== 'string' || v === '') e.report(field, `Expected \`${at}.${field}\` to be a non-empty string, got ${describe(v)}`);
  }
  if (typeof e.obj.queue === 'string' && /[\s:]/.test(e.obj.queue)) e.report('queue', `Expected \`${at}.queue\` to be a queue name without spaces or colons, got \`${e.obj.queue}\``);
  if (e.obj.args !== undefined && !Array.isArray(e.obj.args)) e.report('args', `Expected \`${at}.args\` to be an array, got ${describe(e.obj.args)}`);
  for (const field of ['tz', 'description', 'cron'] as const) {
    const v = e.obj[field];
    if (v !== undefined && (typeof v !== 'string' || v.trim() === '')) e.report(field, `Expected \`${at}.${field}\` to be a non-empty string, got ${describe(v)}`);
  }
  if ((e.obj.cron === undefined) === (e.obj.every === undefined)) {
    e.report(e.obj.cron !== undefined ? 'every' : anchor, `Expected \`${at}\` to have exactly one of \`cron\` and \`every\`, got ${e.obj.cron === undefined ? 'neither' : 'both'}`);
  }
  if (e.obj.tz !== undefined && e.obj.every !== undefined) e.report('tz', `\`${at}.tz\` applies to \`cron\`; \`every\` runs on multiples of its period since the epoch`);
  const every = e.obj.every === undefined ? undefined : everyMs(e, at);
  if (e.issues.length > before) return undefined;
  const entry: ResolvedScheduleEntry['entry'] = {
    ...(e.obj.cron !== undefined ? { cron: e.obj.cron as string } : { every }),
    class: e.obj.class as string,
    args: [...((e.obj.args as unknown[] | undefined) ?? [])],
    queue: e.obj.queue as string,
    ...(e.obj.tz !== undefined ? { tz: e.obj.tz as string } : {}),
    ...(e.obj.description !== undefined ? { description: e.obj.description as string } : {}),
  };
  libraryCheck(e, name, entry, parse);
  return e.issues.length > before ? undefined : entry;
}

/** `every`: seconds (1 to 30 days) or `'30s'`/`'5m'`/`'2h'`/`'1d'`, in milliseconds. */
function everyMs(e: FieldReader, at: string): number | undefined {
  const v = e.obj.every;
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$/.exec(v) : undefined;
  const ms = typeof v === 'number' ? v * 1000 : m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
  if (!(ms >= 1000 && ms <= MAX_DELAY_S * 1000) || !Number.isInteger(Math.round(ms))) {
    e.report('every', `Expected \`${at}.every\` to be seconds from 1 to ${MAX_DELAY_S} (30 days), or a period like '30s', '5m', '2h', '1d', got ${describeNumber(v)}`);
    return undefined;
  }
  return Math.round(ms);
}

/** The cron expression and time zone, as the Scheduler will read them; each problem at its field. */
function libraryCheck(e: FieldReader, name: string, entry: ResolvedScheduleEntry['entry'], parse: ScheduleParser | undefined): void {
  if (!parse) return;
  try {
    parse({ [name]: entry });
  } catch (err) {
    // ScheduleError's `issues` name the field; an error without them is reported at `cron`.
    const issues = (err as { issues?: Array<{ field?: string; message: string }> }).issues;
    for (const i of Array.isArray(issues) ? issues : [{ field: undefined, message: (err as Error).message }]) {
      const field = i.field && Object.hasOwn(e.obj, i.field) ? i.field : 'cron';
      e.report(Object.hasOwn(e.obj, field) ? field : (Object.keys(e.obj)[0] ?? 'class'), `\`schedule.${name}${i.field ? `.${i.field}` : ''}\`: ${i.message}`);
    }
  }
}

function resolveRetry(r: FieldReader, at: string): Record<string, unknown> {
  unknownFields(r, at, RETRY_FIELDS);
  const limit = r.obj.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > 10_000) {
    r.report('limit', limit === undefined ? `Missing \`${at}.limit\`: the number of retries after the first attempt` : `Expected \`${at}.limit\` to be an integer from 0 to 10000, got ${describeNumber(limit)}`);
  }
  const jitter = r.obj.jitter;
  if (jitter !== undefined && !(typeof jitter === 'number' && jitter >= 0 && jitter <= 1)) r.report('jitter', `Expected \`${at}.jitter\` to be a fraction from 0 to 1, got ${describeNumber(jitter)}`);
  const on = r.obj.retryOn;
  if (on !== undefined && typeof on !== 'function' && !(Array.isArray(on) && on.every((x) => (typeof x === 'string' && x !== '') || typeof x === 'function'))) {
    r.report('retryOn', `Expected \`${at}.retryOn\` to be a list of error names or classes, or a function, got ${describe(on)}`);
  }
  return { ...r.obj, ...(r.obj.backoff !== undefined ? { backoff: backoffMs(r, at) } : {}) };
}

function backoffMs(r: FieldReader, at: string): unknown {
  const b = r.obj.backoff;
  const secs = (v: unknown) => typeof v === 'number' && v >= 0 && v <= MAX_DELAY_S;
  const bad = () => r.report('backoff', `Expected \`${at}.backoff\` to be seconds (0 to ${MAX_DELAY_S}), a list of them, or \`{ exponential: seconds, max?: seconds }\`, got ${describe(b)}`);
  if (secs(b)) return Math.round((b as number) * 1000);
  if (Array.isArray(b)) {
    if (b.length === 0 || !b.every(secs)) bad();
    return (b as number[]).map((s) => Math.round(s * 1000));
  }
  if (b !== null && typeof b === 'object') {
    const o = r.nested('backoff', b as Record<string, unknown>);
    unknownFields(o, `${at}.backoff`, { exponential: true, max: true });
    if (!(secs(o.obj.exponential) && (o.obj.exponential as number) > 0)) o.report('exponential', `Expected \`${at}.backoff.exponential\` to be the first delay in seconds (above 0, at most ${MAX_DELAY_S}), got ${describeNumber(o.obj.exponential)}`);
    if (o.obj.max !== undefined && !secs(o.obj.max)) o.report('max', `Expected \`${at}.backoff.max\` to be seconds (0 to ${MAX_DELAY_S}), got ${describeNumber(o.obj.max)}`);
    return { exponential: Math.round(Number(o.obj.exponential) * 1000), ...(o.obj.max !== undefined ? { max: Math.round(Number(o.obj.max) * 1000) } : {}) };
  }
  bad();
  return b;
}

/** A resolved entry as `@baton/resque` gives it back: its next tick after a time. */
type Ticks = { name: string; next(ms: number): number };

/**
 * Why: `check` shows what the scheduler will do: whether this master takes part, and each
 * recurring job with its next `count` runs (computed by the library's parser when given; the
 * entry alone otherwise).
 */
export function renderScheduleLines(c: { schedule: ResolvedScheduleEntry[]; scheduler: ResolvedScheduler }, parse: ScheduleParser | undefined, now: number, count = 3): string[] {
  // The defaults without a schedule say nothing new: `check` keeps its one summary line.
  if (c.schedule.length === 0 && c.scheduler.enabled && c.scheduler.lockTtlMs === 10_000 && c.scheduler.catchUpMs === 60_000) return [];
  const lines = [
    c.scheduler.enabled
      ? `  scheduler: on (lock ${c.scheduler.lockTtlMs / 1000} s, catch-up ${c.scheduler.catchUpMs / 1000} s; one master on this Redis leads: moves delayed jobs and retries${c.schedule.length ? ', enqueues the schedule' : ''})`
      : `  scheduler: off (this master moves no delayed jobs${c.schedule.length ? ' and enqueues no recurring ones' : ''}; another master or resque-scheduler must)`,
  ];
  for (const { name, entry } of c.schedule) {
    const when = entry.cron !== undefined ? `cron '${entry.cron}'${entry.tz ? ` ${entry.tz}` : ' UTC'}` : `every ${formatPeriod(entry.every as number)}`;
    let next = '';
    const ticks = parse ? ((parse({ [name]: entry }) as Ticks[] | undefined)?.[0]) : undefined;
    if (ticks) {
      const runs: string[] = [];
      for (let t = now, i = 0; i < count; i++) runs.push(formatUtc((t = ticks.next(t))));
      next = `; next ${runs.join(', ')}`;
    }
    lines.push(`  schedule ${name}: ${entry.class}${entry.args.length ? `(${JSON.stringify(entry.args).slice(1, -1)})` : ''} on ${entry.queue}, ${when}${next}`);
  }
  return lines;
}

function formatPeriod(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}

function formatUtc(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '')} UTC`;
}
