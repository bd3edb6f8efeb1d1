import { closest } from '@baton/process-kit';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import { describe, describeNumber, type FieldReader } from './config-fields.js';

// The config's `redis` and `durability`: which Redis topologies a master can run on, checked
// before anything connects. A master starts a worker process per slot and each opens its own
// connections, so `redis` must be data (a URL, options, a Sentinel set, a Cluster node list),
// never a client object made in conf.ts.

/** A seed node of a Redis Cluster: `{ host, port }` or `'host:port'` (as `@baton/resque` takes it). */
export type RedisClusterNode = string | { host: string; port: number };

/** Redis Cluster: seed nodes (any few; the client learns the rest) and the Cluster client's options. */
export interface RedisClusterConfig {
  cluster: readonly RedisClusterNode[];
  /** ioredis `ClusterOptions`; `redisOptions` in it apply to each node connection (password, TLS). */
  options?: ClusterOptions;
}

/**
 * Where Redis is: a `redis://`/`rediss://` URL or a socket path; ioredis options (with
 * `sentinels` and `name` for a Sentinel set); or `{ cluster: [...], options }` for Redis Cluster.
 */
export type RedisConfig = string | RedisOptions | RedisClusterConfig;

/**
 * Wait for replication before a write counts: enqueue, reserve and acknowledgement each wait
 * until `replicas` replicas have it (Redis `WAIT`), at most `timeout` seconds.
 */
export interface DurabilityConfig {
  /** Replicas that must have a write before it counts; an integer from 1 to 16. */
  replicas: number;
  /** Seconds a write waits for them; 0.01 to 60. @default 1 */
  timeout?: number;
}

/** `durability` with its timeout in milliseconds. */
export interface ResolvedDurability {
  replicas: number;
  timeoutMs: number;
}

/** Why `durability` and a Cluster do not go together (the library's reason). */
export const DURABILITY_ON_CLUSTER =
  'Expected no `durability` with Redis Cluster: WAIT must reach the shard that took the write, and a Cluster connection sends it to any node; use Sentinel or a replicated primary, or drop `durability`';

export const DURABILITY_TIMEOUT = { default: 1, min: 0.01, max: 60 } as const;
export const DURABILITY_MAX_REPLICAS = 16;

export function isClusterConfig(redis: RedisConfig): redis is RedisClusterConfig {
  return typeof redis === 'object' && Array.isArray((redis as { cluster?: unknown }).cluster);
}

export function isSentinelConfig(redis: RedisConfig): redis is RedisOptions & { sentinels: NonNullable<RedisOptions['sentinels']> } {
  return typeof redis === 'object' && !isClusterConfig(redis) && Array.isArray(redis.sentinels) && redis.sentinels.length > 0;
}

/**
 * Why: one reader for `redis` that accepts each topology and says, for anything else, which
 * shape was meant. REDIS_URL or the local server by default.
 */
export function resolveRedis(f: FieldReader, env: Readonly<Record<string, string | undefined>>): RedisConfig {
  const r = f.obj.redis;
  if (r === undefined) return env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (typeof r === 'string') return resolveRedisUrl(f, r);
  if (r === null || typeof r !== 'object' || Array.isArray(r)) {
    return f.fail('redis', `Expected \`redis\` to be a URL, ioredis options, \`{ sentinels, name }\` or \`{ cluster: [...] }\`, got ${describe(r)}`);
  }
  const client = clientKind(r);
  if (client) {
    f.fail(
      'redis',
      `Expected \`redis\` to be a URL or options, got ${client}: the master opens its own connections in every worker process, ` +
        `so give what the client is made from (a URL, \`{ host, port }\`, \`{ sentinels, name }\` or \`{ cluster: [{ host, port }], options }\`)`,
    );
  }
  const obj = r as Record<string, unknown>;
  const nested = f.nested('redis', obj);
  if ('url' in obj) nested.report('url', '`redis.url` is not an ioredis option: give the URL itself, `redis: \'redis://…\'`');
  for (const key of Object.keys(obj)) {
    const near = REDIS_ALIASES[key];
    if (near && !(near in obj)) nested.report(key, `Unknown Redis option \`redis.${key}\`; did you mean \`redis.${near}\`?`);
  }
  if ('cluster' in obj) return resolveCluster(nested);
  if ('sentinels' in obj) resolveSentinels(nested);
  return r as RedisOptions;
}

/**
 * Why: Resque's keys of one namespace are used together (Lua scripts, MULTI), and Redis Cluster
 * refuses a command whose keys are on different slots (CROSSSLOT). With a hash tag in the
 * namespace (`{resque}`), every key hashes on the tag alone, so they share one slot.
 * Returns the tag, or undefined when the namespace has none.
 */
export function namespaceHashTag(namespace: string): string | undefined {
  const open = namespace.indexOf('{');
  if (open < 0) return undefined;
  const close = namespace.indexOf('}', open + 1);
  // Redis: the first `{`, then the first `}` after it, with something between.
  return close > open + 1 ? namespace.slice(open + 1, close) : undefined;
}

/** The error for a Cluster config whose namespace has no hash tag; undefined when it is fine. */
export function clusterNamespaceProblem(redis: RedisConfig, namespace: string): string | undefined {
  if (!isClusterConfig(redis) || namespaceHashTag(namespace) !== undefined) return undefined;
  const suggestion = namespace.includes('{') || namespace.includes('}') ? '`{resque}`' : `\`{${namespace}}\``;
  return (
    `Expected \`namespace\` to carry a hash tag with Redis Cluster, got \`${namespace}\`: ` +
    `Resque's keys are used together (Lua scripts, MULTI) and Cluster refuses keys on different slots (CROSSSLOT); ` +
    `a tag puts them all on one slot; did you mean ${suggestion}?`
  );
}

/** `durability`: `{ replicas, timeout }`, undefined when not set. */
export function resolveDurability(f: FieldReader): ResolvedDurability | undefined {
  const d = f.obj.durability;
  if (d === undefined) return undefined;
  if (d === null || typeof d !== 'object' || Array.isArray(d)) {
    return f.fail('durability', `Expected \`durability\` to be \`{ replicas, timeout }\`, got ${describe(d)}`);
  }
  const n = f.nested('durability', d as Record<string, unknown>);
  for (const key of Object.keys(n.obj)) {
    if (key === 'replicas' || key === 'timeout') continue;
    const hint = key === 'timeoutMs' ? '; did you mean `durability.timeout` (in seconds, like every duration of the config)?' : suggestDurability(key);
    n.report(key, `Unknown field \`durability.${key}\`${hint}`);
  }
  const replicas = n.field(() => {
    const v = n.obj.replicas;
    if (v === undefined) n.fail('replicas', 'Missing `durability.replicas`: how many replicas must have a write before it counts (e.g. 1)');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > DURABILITY_MAX_REPLICAS) {
      n.fail('replicas', `Expected \`durability.replicas\` to be an integer from 1 to ${DURABILITY_MAX_REPLICAS}, got ${describeNumber(v)}`);
    }
    return v as number;
  }, 1);
  const timeout = n.field(() => {
    const v = n.obj.timeout;
    if (v === undefined) return DURABILITY_TIMEOUT.default;
    if (typeof v !== 'number' || !(v >= DURABILITY_TIMEOUT.min && v <= DURABILITY_TIMEOUT.max)) {
      const ms = typeof v === 'number' && v >= 1000 ? ` (durations are in seconds, not milliseconds: \`timeout: ${v / 1000}\`?)` : '';
      n.fail('timeout', `Expected \`durability.timeout\` to be between ${DURABILITY_TIMEOUT.min} and ${DURABILITY_TIMEOUT.max} seconds, got ${describeNumber(v)}${ms}`);
    }
    return v as number;
  }, DURABILITY_TIMEOUT.default);
  return { replicas, timeoutMs: Math.round(timeout * 1000) };
}

/**
 * Where Redis is, for log lines and `check`, with no password, worded as `@baton/resque`'s
 * describeRedis: the URL (`redis://:***@host:6379`), `sentinel mymaster via 10.0.0.1:26379,…`,
 * `cluster 10.0.0.1:7000,…`, or the host:port (or socket path) of plain options.
 */
export function describeRedis(redis: RedisConfig): string {
  if (typeof redis === 'string') return redactUrl(redis);
  if (isClusterConfig(redis)) return `cluster ${redis.cluster.map(describeNode).join(',')}`;
  if (isSentinelConfig(redis)) return `sentinel ${redis.name ?? '?'} via ${redis.sentinels.map((s) => describeNode(s)).join(',')}${redis.role === 'slave' ? ' (a replica)' : ''}`;
  if (redis.path) return redis.path;
  return `${redis.host ?? '127.0.0.1'}:${redis.port ?? 6379}${redis.db ? ` db ${redis.db}` : ''}`;
}

/**
 * Why: a Redis password must never reach a log line, a title or the status file. Parsed the way
 * ioredis parses it (WHATWG URL: the last `@` ends the user info); the user-info password and a
 * `password` query parameter become `***`, and so does a user info without `:` (a password
 * alone, as ioredis reads it). A URL that does not parse keeps only what follows its last `@`.
 */
export function redactUrl(url: string): string {
  const query = (q: string) => q.replace(/([?&](?:password|pass|pwd)=)[^&#]*/gi, '$1***');
  if (url.startsWith('/')) return query(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
    const at = url.lastIndexOf('@');
    return at < 0 ? query(url) : `${scheme}***@${query(url.slice(at + 1))}`;
  }
  // `redis://S3cret@host` (no `:`) is the legacy password-only form (older ioredis and other
  // clients read a lone user info as the password): we cannot tell it from a user name, so it
  // is hidden as a whole.
  const auth = u.password ? `${u.username}:***@` : u.username ? '***@' : '';
  return `${u.protocol}//${auth}${u.host}${u.pathname}${query(u.search)}${u.hash ? '#…' : ''}`;
}

// --- internal ---

/** Keys people write for a topology field, and the field ioredis (or we) call it. */
const REDIS_ALIASES: Readonly<Record<string, string>> = {
  sentinel: 'sentinels',
  sentinal: 'sentinels',
  sentinals: 'sentinels',
  masterName: 'name',
  master: 'name',
  sentinelName: 'name',
  nodes: 'cluster',
  clusterNodes: 'cluster',
  startupNodes: 'cluster',
  clusterOptions: 'options',
};

function resolveRedisUrl(f: FieldReader, r: string): string {
  if (!/^rediss?:\/\//.test(r) && !r.startsWith('/')) {
    f.fail('redis', `Expected \`redis\` to be a redis:// or rediss:// URL (or ioredis options), got \`${redactUrl(r)}\``);
  }
  if (!r.startsWith('/') && !URL.canParse(r)) {
    f.fail(
      'redis',
      `Expected \`redis\` to be a valid URL, got \`${redactUrl(r)}\`; percent-encode special characters in the user name and password (\`/\` as %2F, \`#\` as %23, \`?\` as %3F, \`@\` as %40, e.g. with encodeURIComponent)`,
    );
  }
  return r;
}

/** `an ioredis Cluster client` for a client made in conf.ts (of any copy of ioredis), `a Map object` for other class instances; undefined for plain data. */
function clientKind(r: object): string | undefined {
  const proto = Object.getPrototypeOf(r) as object | null;
  if (proto === null || proto === Object.prototype) return undefined;
  const isCluster = (r as { isCluster?: unknown }).isCluster;
  if (isCluster === true) return 'an ioredis Cluster client';
  if (isCluster === false && typeof (r as { duplicate?: unknown }).duplicate === 'function') return 'an ioredis Redis client';
  const name = (proto.constructor as { name?: string } | undefined)?.name;
  return name ? `a ${name} object` : 'an object of a class';
}

function resolveCluster(n: FieldReader): RedisClusterConfig {
  for (const key of Object.keys(n.obj)) {
    if (key === 'cluster' || key === 'options' || key in REDIS_ALIASES) continue;
    const near = closest(key, ['cluster', 'options']);
    n.report(
      key,
      `Unknown field \`redis.${key}\` beside \`redis.cluster\`${near ? `; did you mean \`redis.${near}\`?` : ''}: ` +
        'Cluster options go in `redis.options` (and per-node ones, such as the password, in `redis.options.redisOptions`)',
    );
  }
  const nodes = n.obj.cluster as unknown[];
  if (nodes.length === 0) n.fail('cluster', 'Expected `redis.cluster` to list at least one node, e.g. `[{ host: \'10.0.0.1\', port: 7000 }]`');
  for (const node of nodes) {
    if (!isClusterNode(node)) {
      n.fail('cluster', `Expected each node of \`redis.cluster\` to be \`{ host, port }\` or \`'host:port'\`, got ${typeof node === 'string' ? `\`${redactUrl(node)}\`` : describe(node)}`);
    }
  }
  const options = n.obj.options;
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    n.fail('options', `Expected \`redis.options\` to be ioredis Cluster options, got ${describe(options)}`);
  }
  return n.obj as unknown as RedisClusterConfig;
}

function isClusterNode(node: unknown): boolean {
  if (typeof node === 'string') return /^\[?[^\]\s/]+?\]?:\d{1,5}$/.test(node);
  return isHostPort(node);
}

/** `{ host?, port }` with a TCP port (a Sentinel or a Cluster node). */
function isHostPort(node: unknown): boolean {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return false;
  const { host, port } = node as { host?: unknown; port?: unknown };
  return (host === undefined || (typeof host === 'string' && host !== '')) && typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536;
}

function resolveSentinels(n: FieldReader): void {
  n.field(() => {
    const sentinels = n.obj.sentinels;
    if (!Array.isArray(sentinels) || sentinels.length === 0) {
      n.fail('sentinels', `Expected \`redis.sentinels\` to list the Sentinels, e.g. \`[{ host: '10.0.0.1', port: 26379 }]\`, got ${describe(sentinels)}`);
    }
    for (const s of sentinels as unknown[]) {
      if (!isHostPort(s)) {
        n.fail('sentinels', `Expected each of \`redis.sentinels\` to be \`{ host, port }\`, got ${describe(s)}`);
      }
    }
  }, undefined);
  n.field(() => {
    const name = n.obj.name;
    if (name === undefined) n.fail('sentinels', 'Missing `redis.name` beside `redis.sentinels`: the name of the master the Sentinels monitor (e.g. `mymaster`)');
    if (typeof name !== 'string' || name === '') n.fail('name', `Expected \`redis.name\` to be the master name the Sentinels monitor, got ${describe(name)}`);
  }, undefined);
}

function describeNode(node: RedisClusterNode | { host?: string; port?: number }): string {
  return typeof node === 'string' ? node : `${node.host ?? '127.0.0.1'}:${node.port ?? 6379}`;
}

function suggestDurability(key: string): string {
  const near = closest(key, ['replicas', 'timeout']);
  return near ? `; did you mean \`durability.${near}\`?` : '; known: `durability.replicas`, `durability.timeout`';
}
