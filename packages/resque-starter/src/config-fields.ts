import { isAbsolute, resolve as resolvePath, dirname } from 'node:path';
import { ConfigError } from './errors.js';

export interface ResolveContext {
  /** Absolute path of the config file (for relative paths and error locations). */
  path: string;
  /** Environment (REDIS_URL, BATON_LOG_LEVEL); only `cli.ts` passes process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The config file's text, to point validation errors at the right line. */
  source?: string;
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
} as const satisfies Record<string, readonly [number, number]>;

export type DurationField = keyof typeof DURATION_RANGES;

/**
 * Why: every field of a config object is read through one of these typed readers, so each kind
 * of value (flag, integer, duration, path, function, id) is checked and worded one way, and a
 * failure is a `ConfigError` pointing at the field's line in the file.
 */
export class FieldReader {
  constructor(
    readonly obj: Record<string, unknown>,
    private readonly ctx: ResolveContext,
  ) {}

  fail(field: string, message: string): never {
    throw new ConfigError(message, this.ctx.path, locate(this.ctx, field));
  }

  flag(field: string, dflt: boolean): boolean {
    const v = this.obj[field];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') this.fail(field, `Expected \`${field}\` to be true or false, got ${describe(v)}`);
    return v;
  }

  int(field: string, min: number, dflt: number): number {
    const v = this.obj[field];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      this.fail(field, `Expected \`${field}\` to be an integer ≥ ${min}, got ${describe(v)}`);
    }
    return v;
  }

  optPositive(field: string): number | undefined {
    const v = this.obj[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      this.fail(field, `Expected \`${field}\` to be a positive number, got ${describe(v)}`);
    }
    return v;
  }

  /** A duration in seconds within DURATION_RANGES (undefined when not set). */
  optSeconds(field: string, label: DurationField = field as DurationField): number | undefined {
    const v = this.obj[field];
    if (v === undefined) return undefined;
    const [min, max] = DURATION_RANGES[label];
    if (typeof v !== 'number' || !(v >= min && v <= max)) {
      this.fail(label, `Expected \`${label}\` to be between ${min} and ${max} seconds, got ${describeNumber(v)}`);
    }
    return v;
  }

  /** A duration in seconds (or its default), in milliseconds. */
  ms(field: string, dflt: number, label?: DurationField): number;
  ms(field: string, dflt: undefined, label?: DurationField): number | undefined;
  ms(field: string, dflt: number | undefined, label: DurationField = field as DurationField): number | undefined {
    const s = this.optSeconds(field, label) ?? dflt;
    return s === undefined ? undefined : Math.round(s * 1000);
  }

  optString(field: string): string | undefined {
    const v = this.obj[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') this.fail(field, `Expected \`${field}\` to be a non-empty string, got ${describe(v)}`);
    return v;
  }

  /** A path, relative to the config file's directory unless absolute. */
  optPath(field: string): string | undefined {
    const v = this.optString(field);
    return v === undefined ? undefined : isAbsolute(v) ? v : resolvePath(dirname(this.ctx.path), v);
  }

  fn<F>(field: string): F | undefined {
    const v = this.obj[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'function') this.fail(field, `Expected \`${field}\` to be a function, got ${describe(v)}`);
    return v as F;
  }

  /** A user or group: a name or a numeric id. */
  idOf(field: string): string | number | undefined {
    const v = this.obj[field];
    if (v === undefined) return undefined;
    if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) return v;
    return this.fail(field, `Expected \`${field}\` to be a name or a numeric id, got ${describe(v)}`);
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

/** `file:line:col` of the first `field:` in the source, else the file alone. */
function locate(ctx: ResolveContext, field: string): string {
  if (!ctx.source) return ctx.path;
  const re = new RegExp(`(^|[\\s{,'"])${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]?\\s*[:(]`, 'm');
  const m = re.exec(ctx.source);
  if (!m) return ctx.path;
  const index = m.index + m[1]!.length;
  const before = ctx.source.slice(0, index);
  const line = before.split('\n').length;
  const col = index - before.lastIndexOf('\n');
  return `${ctx.path}:${line}:${col}`;
}
