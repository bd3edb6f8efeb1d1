import type { LogFormat } from '@baton/process-kit';
import { describe, type FieldReader } from './config-fields.js';
import { isClusterConfig, type RedisConfig } from './config-redis.js';

// The config's log fields: the format of every line the master and its workers write, and which
// secrets no line may carry.

export type { LogFormat } from '@baton/process-kit';

/** `text` or `json`: the config's `logFormat` (below the `--log-format` flag). */
export function resolveLogFormat(f: FieldReader, env: Readonly<Record<string, string | undefined>>): LogFormat {
  const v = f.obj.logFormat;
  if (v === undefined) return env.BATON_LOG_FORMAT === 'json' ? 'json' : 'text';
  if (v !== 'text' && v !== 'json') f.fail('logFormat', `Expected \`logFormat\` to be 'text' or 'json', got ${describe(v)}`);
  return v;
}

/**
 * Why: a Redis password must never reach a log line, whoever writes it (a job printing its
 * config, an error quoting a URL): every password the config gives for Redis, as written and
 * percent-decoded, for the loggers to mask (process-kit's `secrets`).
 */
export function redisSecrets(servers: readonly RedisConfig[]): string[] {
  const out = new Set<string>();
  const add = (s: unknown) => {
    if (typeof s !== 'string' || s === '') return;
    out.add(s);
    try {
      out.add(decodeURIComponent(s));
    } catch {
      // not percent-encoded
    }
  };
  for (const r of servers) {
    if (typeof r === 'string') {
      try {
        const u = new URL(r);
        // (A lone user info, `redis://S3cret@host`, which ioredis reads as the password, is masked
        // by the loggers' URL rule; as a literal it could be a common word such as `default`.)
        add(u.password);
        add(u.searchParams.get('password'));
      } catch {
        // not a URL (a socket path)
      }
    } else if (isClusterConfig(r)) {
      add(r.options?.redisOptions?.password);
      for (const n of r.cluster) if (typeof n === 'string' && n.includes('@')) redisSecrets([`redis://${n}`]).forEach(add);
    } else {
      add(r.password);
      add(r.sentinelPassword);
    }
  }
  return [...out];
}

/** `check`'s line about logging, when the config changes it from the defaults (text lines, every job). */
export function renderLogSettings(c: { logFormat: LogFormat; jobLog: ResolvedJobLog }): string | undefined {
  if (c.logFormat === 'text' && c.jobLog.sample === 1) return undefined;
  const format = c.logFormat === 'json' ? `one JSON object a line (logFormat 'json'; \`--log-format\` overrides it)` : 'text';
  const jobs = c.jobLog.sample === 1 ? 'a line per job' : c.jobLog.sample === 0 ? 'a line per failed job only' : `a line for ${Math.round(c.jobLog.sample * 1000) / 10} % of successful jobs and every failed one`;
  return `  logs: ${format}; ${jobs}`;
}

/** `jobLog`: a line per finished job; `false` keeps only failures, `{ sample }` logs that share of successes. */
export type JobLogConfig = boolean | { sample: number };

/** `jobLog` resolved: the share of successful jobs that get their line (failures always do). */
export interface ResolvedJobLog {
  /** 1: every job; 0: none; 0.1: one in ten, at random. */
  sample: number;
}

export function resolveJobLog(f: FieldReader): ResolvedJobLog {
  const v = f.obj.jobLog;
  if (v === undefined || v === true) return { sample: 1 };
  if (v === false) return { sample: 0 };
  const hint = 'true, false or `{ sample: 0.1 }` (the share of successful jobs logged, 0 to 1)';
  if (v === null || typeof v !== 'object' || Array.isArray(v)) f.fail('jobLog', `Expected \`jobLog\` to be ${hint}, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'sample') f.fail('jobLog', `Unknown field \`jobLog.${k}\`; expected ${hint}`);
  const s = o.sample;
  if (typeof s !== 'number' || !(s >= 0 && s <= 1)) f.fail('jobLog', `Expected \`jobLog.sample\` to be a number from 0 to 1, got ${describe(s)}`);
  return { sample: s };
}
