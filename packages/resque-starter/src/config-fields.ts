import { isAbsolute, resolve as resolvePath, dirname } from 'node:path';
import { ConfigError, type ConfigIssue } from './errors.js';

export interface ResolveContext {
  /** Absolute path of the config file (for relative paths and error locations). */
  path: string;
  /** Environment (REDIS_URL, BATON_LOG_LEVEL); only `cli.ts` passes process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The config file's text, to point validation errors at the right line. */
  source?: string;
  /** `@baton/resque`'s schedule parser (cron, time zones); given when the config has a `schedule`. */
  parseSchedule?: (input: Record<string, unknown>) => unknown;
}

/**
 * Allowed range, in seconds, of every duration field: Node's timers overflow above 2³¹−1 ms
 * (~24.8 days) and fire at once, and tiny values (a 1 ms lock) make no sense.
 */
export const DURATION_RANGES = {
  dequeueInterval: [0.01, 3600],
  maxLifetime: [0.1, 1_209_600],
  jobTimeout: [0.01, 86_400],
  stopTimeout: [0.1, 86_400],
  termTimeout: [0.1, 3600],
  readyTimeout: [0.1, 3600],
  redisTimeout: [0.1, 600],
  lockTimeout: [1, 3600],
  statusInterval: [0.05, 3600],
  'crashLoop.window': [1, 86_400],
  'crashLoop.delay': [0.01, 3600],
  'crashLoop.maxDelay': [0.01, 86_400],
  'scheduler.lockTtl': [1, 3600],
  'scheduler.catchUp': [0, 86_400],
} as const satisfies Record<string, readonly [number, number]>;

export type DurationField = keyof typeof DURATION_RANGES;

/** Thrown by `FieldReader.fail` to abandon the field being read; caught by `FieldReader.field`. */
const INVALID: unique symbol = Symbol('invalid field');

/**
 * Why: every field of a config object is read through one of these typed readers, so each kind
 * of value (flag, integer, duration, path, function, id) is checked and worded one way. A
 * mistake is recorded as an issue pointing at the field's line in the file, and the field
 * reads as its default, so one run finds every mistake: `throwIfInvalid()` then throws one
 * `ConfigError` that lists them all. Readers of nested objects (`crashLoop`) share the list.
 */
export class FieldReader {
  constructor(
    readonly obj: Record<string, unknown>,
    private readonly ctx: ResolveContext,
    readonly issues: ConfigIssue[] = [],
    /** For a nested object: where its parent field is in the source, to find its own fields after it. */
    private readonly from = 0,
    /** For a nested object: its parent's name and a dot (`crashLoop.`). */
    private readonly prefix = '',
  ) {}

  /** A reader of the nested object at `field` (`crashLoop`) that records into the same list. */
  nested(field: string, obj: Record<string, unknown>): FieldReader {
    return new FieldReader(obj, this.ctx, this.issues, fieldIndex(this.ctx, field, this.from) ?? this.from, `${this.prefix}${field}.`);
  }

  /** Records a mistake at `field`'s line and goes on. */
  report(field: string, message: string): void {
    this.issues.push({ location: locate(this.ctx, field, this.from), message, field: `${this.prefix}${field}` });
  }

  /** Records a mistake and abandons the field being read: the enclosing `field()` gives its fallback. */
  fail(field: string, message: string): never {
    this.report(field, message);
    throw INVALID;
  }

  /** Reads one field with `read`; when `read` fails, `fallback`, so later fields are still checked. */
  field<T>(read: () => T, fallback: T): T {
    try {
      return read();
    } catch (err) {
      if (err === INVALID) return fallback;
      throw err;
    }
  }

  /** Throws one ConfigError listing every mistake recorded (in file order), if there is any. */
  throwIfInvalid(): void {
    if (this.issues.length === 0) return;
    const order = (i: ConfigIssue) => {
      const m = /:(\d+)(?::(\d+))?$/.exec(i.location.slice(this.ctx.path.length));
      return m ? Number(m[1]) * 1e6 + Number(m[2] ?? 0) : 0;
    };
    const sorted = this.issues.map((issue, i) => ({ issue, i })).sort((a, b) => order(a.issue) - order(b.issue) || a.i - b.i);
    throw ConfigError.fromIssues(this.ctx.path, sorted.map((s) => s.issue));
  }

  flag(field: string, dflt: boolean): boolean {
    return this.field(() => {
      const v = this.obj[field];
      if (v === undefined) return dflt;
      if (typeof v !== 'boolean') this.fail(field, `Expected \`${field}\` to be true or false, got ${describe(v)}`);
      return v;
    }, dflt);
  }

  int(field: string, min: number, dflt: number): number {
    return this.field(() => {
      const v = this.obj[field];
      if (v === undefined) return dflt;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
        this.fail(field, `Expected \`${field}\` to be an integer ≥ ${min}, got ${describe(v)}`);
      }
      return v;
    }, dflt);
  }

  optPositive(field: string): number | undefined {
    return this.field(() => {
      const v = this.obj[field];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
        this.fail(field, `Expected \`${field}\` to be a positive number, got ${describe(v)}`);
      }
      return v;
    }, undefined);
  }

  /** A duration in seconds within DURATION_RANGES (undefined when not set). */
  optSeconds(field: string, label: DurationField = field as DurationField): number | undefined {
    return this.field(() => {
      const v = this.obj[field];
      if (v === undefined) return undefined;
      const [min, max] = DURATION_RANGES[label];
      if (typeof v !== 'number' || !(v >= min && v <= max)) {
        this.fail(field, `Expected \`${label}\` to be between ${min} and ${max} seconds, got ${describeNumber(v)}`);
      }
      return v;
    }, undefined);
  }

  /** A duration in seconds (or its default), in milliseconds. */
  ms(field: string, dflt: number, label?: DurationField): number;
  ms(field: string, dflt: undefined, label?: DurationField): number | undefined;
  ms(field: string, dflt: number | undefined, label: DurationField = field as DurationField): number | undefined {
    const s = this.optSeconds(field, label) ?? dflt;
    return s === undefined ? undefined : Math.round(s * 1000);
  }

  optString(field: string): string | undefined {
    return this.field(() => {
      const v = this.obj[field];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v === '') this.fail(field, `Expected \`${field}\` to be a non-empty string, got ${describe(v)}`);
      return v;
    }, undefined);
  }

  /** A path, relative to the config file's directory unless absolute. */
  optPath(field: string): string | undefined {
    const v = this.optString(field);
    return v === undefined ? undefined : isAbsolute(v) ? v : resolvePath(dirname(this.ctx.path), v);
  }

  fn<F>(field: string): F | undefined {
    return this.field(() => {
      const v = this.obj[field];
      if (v === undefined) return undefined;
      if (typeof v !== 'function') this.fail(field, `Expected \`${field}\` to be a function, got ${describe(v)}`);
      return v as F;
    }, undefined);
  }

  /** A user or group: a name or a numeric id. */
  idOf(field: string): string | number | undefined {
    return this.field(() => {
      const v = this.obj[field];
      if (v === undefined) return undefined;
      if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) return v;
      return this.fail(field, `Expected \`${field}\` to be a name or a numeric id, got ${describe(v)}`);
    }, undefined);
  }
}

/** A value as an error message shows it: `` `5` (string) ``, `an array`, `nothing`. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return '`null`';
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `\`${v}\` (string)`;
  return `\`${String(v)}\` (${typeof v})`;
}

/** Numbers as the user wrote them (`0.001`, `1000000000`), anything else as `describe`. */
export function describeNumber(v: unknown): string {
  return typeof v === 'number' ? `\`${String(v)}\`` : describe(v);
}

/** `file:line:col` of the first `field:` in the source (after `from`), else the file alone. */
export function locate(ctx: ResolveContext, field: string, from = 0): string {
  const index = fieldIndex(ctx, field, from);
  if (index === undefined || !ctx.source) return ctx.path;
  const before = ctx.source.slice(0, index);
  const line = before.split('\n').length;
  const col = index - before.lastIndexOf('\n');
  return `${ctx.path}:${line}:${col}`;
}

/** Where the first `field:` (or `field(` for a method) is in the source, from `from` on. */
export function fieldIndex(ctx: ResolveContext, field: string, from: number): number | undefined {
  if (!ctx.source) return undefined;
  const re = new RegExp(`(^|[\\s{,'"])${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]?\\s*[:(]`, 'mg');
  re.lastIndex = from;
  const m = re.exec(ctx.source);
  return m ? m.index + m[1]!.length : undefined;
}
