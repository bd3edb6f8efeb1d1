import { Redis, type RedisOptions } from 'ioredis';

/** A Redis URL, ioredis options, or a client you own (it is then neither duplicated nor closed by us... except where said). */
export type RedisInput = string | RedisOptions | Redis;

/**
 * Why: workers must ride out Redis restarts: commands wait for the reconnection instead of
 * failing (`maxRetriesPerRequest: null`), and reconnection never gives up.
 */
export function createRedis(input: RedisInput | undefined, name: string): Redis {
  const base: RedisOptions = {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(50 * times, 1000),
    connectionName: name,
  };
  if (input instanceof Redis) return input.duplicate(base);
  const url = input ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (typeof url === 'string') return new Redis(url, base);
  return new Redis({ ...url, ...base });
}

/** Redis URL with any password replaced, for logs. */
export function redactRedis(input: RedisInput | undefined): string {
  if (typeof input === 'string') return input.replace(/\/\/([^@/]*)@/, (_, cred: string) => `//${cred.includes(':') ? `${cred.split(':')[0]}:***` : '***'}@`);
  if (input instanceof Redis) return `${input.options.host}:${input.options.port}`;
  return `${input?.host ?? '127.0.0.1'}:${input?.port ?? 6379}`;
}
