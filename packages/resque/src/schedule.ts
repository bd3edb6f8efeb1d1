import { createRequire } from 'node:module';

// cron-parser (with luxon, ~3 MB of heap) is loaded the first time a cron expression is read:
// a process that never reads one (every resque-starter worker) does not pay for it. A CommonJS
// package, so require() gives it synchronously.
type CronParser = typeof import('cron-parser');
let cronParserModule: CronParser | undefined;
const cronParser = (): CronParser => (cronParserModule ??= createRequire(import.meta.url)('cron-parser') as CronParser);

/** One recurring job as configured (`schedule` in resque-starter's config, `Scheduler`'s `schedule`). */
export interface ScheduleEntry {
  /** A cron expression (5 fields, or 6 with seconds first), read by cron-parser. Exactly one of `cron` and `every`. */
  cron?: string;
  /** A period: milliseconds, or `'30s'`, `'5m'`, `'2h'`, `'1d'`; ticks fall on multiples of it since the epoch. */
  every?: number | string;
  class: string;
  args?: unknown[];
  queue: string;
  /** IANA time zone of `cron` (default UTC). */
  tz?: string;
  description?: string;
}
export type ScheduleInput = Record<string, ScheduleEntry>;

/** An entry checked and normalised. */
export interface ResolvedEntry {
  name: string;
  class: string;
  args: unknown[];
  queue: string;
  /** The latest tick at or before `ms`. */
  prev(ms: number): number;
  /** The first tick after `ms`. */
  next(ms: number): number;
}

/** One problem of a schedule: the entry's name, the field (none: the entry as a whole), what is wrong. */
export interface ScheduleIssue {
  name: string;
  field?: string;
  message: string;
}

/** Every problem of a schedule, one per line after the first (`schedule.<name>.<field>: …`), and as `issues`. */
export class ScheduleError extends Error {
  override name = 'ScheduleError';
  readonly problems: string[];
  constructor(readonly issues: ScheduleIssue[]) {
    const problems = issues.map((i) => `schedule${i.name ? `.${i.name}` : ''}${i.field ? `.${i.field}` : ''}: ${i.message}`);
    super(problems.length === 1 ? `invalid schedule: ${problems[0]}` : `invalid schedule:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const KNOWN = new Set(['cron', 'every', 'class', 'args', 'queue', 'tz', 'description']);

/** Why: a bad schedule must fail the config load with every problem named, not a tick later. */
export function resolveSchedule(input: unknown): ResolvedEntry[] {
  if (input === undefined) return [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ScheduleError([{ name: '', message: 'must be an object of name → entry' }]);
  const problems: ScheduleIssue[] = [];
  const out: ResolvedEntry[] = [];
  for (const [name, raw] of Object.entries(input)) {
    const add = (field: string | undefined, message: string) => problems.push(field ? { name, field, message } : { name, message });
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      add(undefined, 'must be an object with class, queue and cron or every');
      continue;
    }
    const e = raw as Record<string, unknown>;
    const before = problems.length;
    for (const k of Object.keys(e)) if (!KNOWN.has(k)) add(k, `unknown field (expected one of ${[...KNOWN].join(', ')})`);
    if (typeof e.class !== 'string' || e.class === '') add('class', 'must be a non-empty string');
    if (typeof e.queue !== 'string' || e.queue === '') add('queue', 'must be a non-empty string');
    if (e.args !== undefined && !Array.isArray(e.args)) add('args', 'must be an array');
    if (e.tz !== undefined && (typeof e.tz !== 'string' || !validZone(e.tz))) add('tz', `unknown time zone \`${String(e.tz)}\``);
    let when: Pick<ResolvedEntry, 'prev' | 'next'> | undefined;
    if ((e.cron === undefined) === (e.every === undefined)) add(undefined, 'needs exactly one of cron and every');
    else if (e.cron !== undefined) when = cronTicks(e.cron, typeof e.tz === 'string' ? e.tz : 'UTC', (m) => add('cron', m));
    else when = everyTicks(e.every, (m) => add('every', m));
    if (problems.length > before || !when) continue;
    out.push({ name, class: e.class as string, args: (e.args as unknown[] | undefined) ?? [], queue: e.queue as string, ...when });
  }
  if (problems.length > 0) throw new ScheduleError(problems);
  return out;
}

/** `'5m'` → 300000; numbers are milliseconds. Undefined when it is not a period. */
export function parsePeriod(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)\s*(ms|s|m|h|d)$/.exec(v.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return ms > 0 ? ms : undefined;
}

/** The next `count` ticks of an entry after `from` (what the Scheduler will enqueue, for `check`). */
export function nextTicks(entry: Pick<ResolvedEntry, 'next'>, from: Date, count: number): Date[] {
  const out: Date[] = [];
  let t = from.getTime();
  for (let i = 0; i < count; i++) out.push(new Date((t = entry.next(t))));
  return out;
}

function everyTicks(v: unknown, fail: (message: string) => void): Pick<ResolvedEntry, 'prev' | 'next'> | undefined {
  const period = parsePeriod(v);
  if (period === undefined) {
    fail(`expected milliseconds (a positive integer) or a period like '30s', '5m', '2h', '1d', got \`${String(v)}\``);
    return undefined;
  }
  return { prev: (ms) => Math.floor(ms / period) * period, next: (ms) => (Math.floor(ms / period) + 1) * period };
}

function cronTicks(v: unknown, tz: string, fail: (message: string) => void): Pick<ResolvedEntry, 'prev' | 'next'> | undefined {
  if (typeof v !== 'string' || v.trim() === '') {
    fail(`must be a cron expression like '*/5 * * * *'`);
    return undefined;
  }
  try {
    cronParser().parseExpression(v, { tz });
  } catch (err) {
    fail(`\`${v}\` is not a cron expression (${(err as Error).message})`);
    return undefined;
  }
  // cron-parser's prev() is strictly before its current date: start one ms after `ms`.
  return {
    prev: (ms) => cronParser().parseExpression(v, { tz, currentDate: new Date(ms + 1) }).prev().getTime(),
    next: (ms) => cronParser().parseExpression(v, { tz, currentDate: new Date(ms) }).next().getTime(),
  };
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
