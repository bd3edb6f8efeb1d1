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

/** `check`'s line about logging, when the config changes it from the defaults (text lines). */
export function renderLogSettings(c: { logFormat: LogFormat }): string | undefined {
  if (c.logFormat === 'text') return undefined;
  return `  logs: one JSON object a line (logFormat '${c.logFormat}'; \`--log-format\` overrides it)`;
}
