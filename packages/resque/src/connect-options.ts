import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** One node of a Redis Cluster: `{ host, port }` or `"host:port"`. */
export type ClusterNodeInput = { host: string; port: number } | string;

/**
 * A Redis Cluster: its seed nodes (one is enough, every reachable one helps at start) and ioredis
 * Cluster options. Resque's keys and scripts must share one slot: the namespace must be
 * hash-tagged (`{resque}`), so one namespace lives on one shard (failover, not sharding).
 */
export interface ClusterSpec {
  cluster: readonly ClusterNodeInput[];
  options?: ClusterOptions;
}

/**
 * Where Redis is, accepted by `Worker`, `Queue` and resque-starter's `redis`:
 * - a `redis://` / `rediss://` URL (or a Unix socket path);
 * - ioredis options, Sentinel included (`{ sentinels: [{ host, port }], name: 'mymaster' }`);
 * - a Cluster spec `{ cluster: [{ host, port }, ...], options? }`;
 * - an ioredis `Redis` client: its options are copied (yours stays yours, never closed by us).
 * An ioredis `Cluster` client or any other object is refused with a clear error.
 */
export type RedisInput = string | RedisOptions | ClusterSpec | Redis;

/** A connection the library opens: a `Redis`, or a `Cluster` typed as one (they share ioredis's command interface). */
export type RedisClient = Redis;

/** Thrown for a `redis` value that cannot work (a Cluster client, an unknown object, a malformed spec). */
export class RedisInputError extends TypeError {
  readonly code = 'E_REDIS_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'RedisInputError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * Why: the server errors that mean "this connection is on the wrong node" after a failover (a
 * demoted primary behind the same address or DNS name, a replica still loading). Returning 2
 * makes ioredis reconnect (re-resolving Sentinel, or following the endpoint to the new primary)
 * and resend the failed command, so workers and producers heal without a restart.
 */
export function defaultReconnectOnError(err: Error): boolean | 1 | 2 {
  const m = err?.message ?? '';
  return WRONG_NODE.some((prefix) => m.startsWith(prefix)) ? 2 : false;
}

/** Errors after which the node is not (or no longer) the writable primary. */
export const WRONG_NODE = ['READONLY', 'MASTERDOWN', 'LOADING', 'UNBLOCKED force unblock from blocking operation, instance state changed'] as const;

/** True for a Cluster spec (`{ cluster: [...] }`). */
export function isClusterInput(input: unknown): input is ClusterSpec {
  return isPlainObject(input) && 'cluster' in input;
}

/**
 * Why: a `redis` value that cannot work must fail at once with one clear line, never fall back
 * to 127.0.0.1:6379 (an ioredis Cluster spread into `new Redis` did). Throws `RedisInputError`.
 */
export function validateRedisInput(input: unknown): asserts input is RedisInput | undefined {
  if (input === undefined || input instanceof Redis) return;
  if (typeof input === 'string') {
    if (!/^(rediss?:\/\/|\/)/.test(input)) throw new RedisInputError(`Expected \`redis\` to be a redis:// or rediss:// URL or a socket path, got \`${redactUrl(input)}\``);
    return;
  }
  if (isClusterClient(input)) {
    throw new RedisInputError(
      'Expected `redis` to be a URL, ioredis options or a Cluster spec, got an ioredis Cluster client: pass `{ cluster: [{ host, port }, ...], options }` instead (each process opens its own connections)',
    );
  }
  if (isRedisLike(input)) return;
  if (!isPlainObject(input)) throw new RedisInputError(`Expected \`redis\` to be a URL, ioredis options, a Cluster spec or an ioredis Redis client, got ${describeValue(input)}`);
  if ('cluster' in input) return validateClusterSpec(input);
  for (const key of ['startupNodes', 'nodes'] as const) {
    if (key in input) throw new RedisInputError(`\`redis.${key}\` is not an ioredis option: for Redis Cluster pass \`{ cluster: [{ host, port }, ...], options }\``);
  }
  if ('url' in input) throw new RedisInputError('`redis.url` is not an ioredis option: pass the URL itself as `redis`');
  const o = input as RedisOptions;
  if ('sentinels' in o) {
    if (!Array.isArray(o.sentinels) || o.sentinels.length === 0 || !o.sentinels.every(isHostPort)) {
      throw new RedisInputError(`Expected \`redis.sentinels\` to be a non-empty list of { host, port }, got ${describeValue(o.sentinels)}`);
    }
    if (typeof o.name !== 'string' || o.name === '') throw new RedisInputError('Expected `redis.name` (the Sentinel master name, e.g. `mymaster`) with `redis.sentinels`');
  }
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port > 0 && o.port < 65536)) throw new RedisInputError(`Expected \`redis.port\` to be a TCP port, got ${describeValue(o.port)}`);
  if (o.host !== undefined && typeof o.host !== 'string') throw new RedisInputError(`Expected \`redis.host\` to be a string, got ${describeValue(o.host)}`);
}

/**
 * Why: every connection the library opens (Worker, Queue, the wake-up subscriber) is made here,
 * with the settings that ride out a failover: commands wait for a reconnection instead of failing
 * (`maxRetriesPerRequest: null`), reconnection never gives up and comes back within a second
 * (jittered, so a fleet does not reconnect in lockstep), "wrong node" errors reconnect and resend
 * (`defaultReconnectOnError`, unless you pass your own `reconnectOnError`), and Sentinel watches
 * for +switch-master (`failoverDetector`). `name` becomes the CLIENT SETNAME.
 */
export function createRedis(input: RedisInput | undefined, name: string): RedisClient {
  validateRedisInput(input);
  if (isClusterInput(input)) return createCluster(input, name) as unknown as Redis;
  if (input === undefined || typeof input === 'string') {
    const url = input ?? defaultRedisUrl();
    return neverEnds(quietReconnects(new Redis(url, connectionOptions({}, name))));
  }
  // A client of ours or of another ioredis copy: open our own connection with its options.
  const user = isRedisLike(input) ? (input as Redis).options : (input as RedisOptions);
  const redis = neverEnds(quietReconnects(new Redis(connectionOptions(user, name))));
  if (redis.options.sentinels?.length && redis.options.failoverDetector) retireFailoverDetector(redis);
  return redis;
}

/**
 * ioredis's Sentinel failover detector (subscribed to +switch-master on the Sentinels) outlives
 * the connection it watches: once the primary dies it keeps listening while the client
 * reconnects, and the +switch-master of that very failover then calls the connector's
 * disconnect. Landing while the connector asks a Sentinel where the primary is, that disconnect
 * makes the pending connect fail with "Connection is closed." and ends the client for good
 * (status `end`: every command rejected, no reconnection) — the stall after a Sentinel failover
 * (issue 17). The detector serves an established connection only: it is retired as soon as that
 * connection closes; the next connection starts its own (ioredis does, on connect).
 */
function retireFailoverDetector(redis: Redis): void {
  const connector = (redis as unknown as { connector?: { failoverDetector?: { cleanup?(): void } | null } }).connector;
  redis.on('close', () => connector?.failoverDetector?.cleanup?.());
}

/**
 * Why: a connection the library opens must never end by itself (ioredis's `end` is final: every
 * command rejected, no reconnection, a worker or producer stalled for good). Should one end
 * without our close (a path like the failover detector's above), it is told as an error and
 * connected again at once (at most once a second). Commands pending when ioredis ended it were
 * rejected by ioredis, never sent.
 */
function neverEnds(redis: Redis): Redis {
  let closing = false;
  const disconnect = redis.disconnect.bind(redis);
  redis.disconnect = (reconnect = false) => {
    if (!reconnect) closing = true;
    disconnect(reconnect);
  };
  const quit = redis.quit.bind(redis) as (...args: unknown[]) => Promise<'OK'>;
  (redis as unknown as { quit: typeof quit }).quit = (...args) => {
    closing = true;
    return quit(...args);
  };
  let revivedAt = -Infinity;
  const revive = () => {
    if (closing || redis.status !== 'end') return;
    revivedAt = performance.now();
    redis.connect().catch(noop);
  };
  redis.on('end', () => {
    if (closing) return;
    if (redis.listenerCount('error') > 0) redis.emit('error', new Error(ENDED_BY_ITSELF));
    // At once (commands sent meanwhile are rejected), but not more than once a second.
    setTimeout(revive, performance.now() - revivedAt < 1000 ? 1000 : 0).unref();
  });
  return redis;
}

/** The error a connection reports when ioredis ended it without our close (it is connected again). */
export const ENDED_BY_ITSELF = 'Connection is closed. (ended by ioredis without being closed: connecting again)';

/**
 * ioredis ends the stream once per "wrong node" reply of a burst (each adds a 'close' listener
 * to the same closing socket): no leak, but Node warns past 10. The stream being dropped may
 * have as many as the burst had replies.
 */
function quietReconnects(redis: Redis): Redis {
  const decide = redis.options.reconnectOnError;
  if (!decide) return redis;
  redis.options.reconnectOnError = (err) => {
    const r = decide(err);
    if (r) (redis as unknown as { stream?: { setMaxListeners?(n: number): void } }).stream?.setMaxListeners?.(0);
    return r;
  };
  return redis;
}

/**
 * Why: logs must name the endpoint really used, without secrets: the URL without its password,
 * `sentinel mymaster via h:p,h:p`, `cluster h:p,h:p`, a socket path, or `host:port`.
 */
export function describeRedis(input: RedisInput | undefined): string {
  if (input === undefined) return redactUrl(defaultRedisUrl());
  if (typeof input === 'string') return redactUrl(input);
  if (isClusterInput(input)) return `cluster ${(Array.isArray(input.cluster) ? input.cluster : []).map(describeNode).join(',')}`;
  if (isClusterClient(input)) return 'an ioredis Cluster client (not supported: pass a Cluster spec)';
  const o: RedisOptions = isRedisLike(input) ? (input as Redis).options : (input as RedisOptions);
  if (Array.isArray(o.sentinels) && o.sentinels.length > 0) return `sentinel ${o.name ?? '?'} via ${o.sentinels.map((s) => describeNode(s as ClusterNodeInput)).join(',')}`;
  if (o.path) return o.path;
  const db = o.db ? ` db ${o.db}` : '';
  return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}${db}`;
}

/** The hash tag of a namespace (`{resque}` → `resque`), as Redis Cluster reads it; undefined when it has none. */
export function hashTagOf(namespace: string): string | undefined {
  const open = namespace.indexOf('{');
  if (open < 0) return undefined;
  const close = namespace.indexOf('}', open + 1);
  return close > open + 1 ? namespace.slice(open + 1, close) : undefined;
}

/**
 * Why: in Redis Cluster every key a script touches must live in one slot, and Resque's keys are
 * touched together (enqueue, reserve, recover): a namespace without a hash tag would spread them
 * over slots (CROSSSLOT). Throws `RedisInputError` saying why and what to do.
 */
export function assertClusterNamespace(namespace: string): void {
  if (hashTagOf(namespace) !== undefined) return;
  throw new RedisInputError(
    `With Redis Cluster the namespace must be hash-tagged, e.g. \`{${namespace || 'resque'}}\`, got \`${namespace}\`: ` +
      "Resque's keys and scripts must share one slot (one namespace lives on one shard: failover, not sharding; shard by running separate namespaces)",
  );
}

/** `redis://user:***@host` for a URL with a password; what follows the last `@` when it does not parse. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    else if (u.username && !u.password) u.username = '***'; // legacy `redis://secret@host`
    return u.toString().replace(/\/$/, '');
  } catch {
    const at = url.lastIndexOf('@');
    return at < 0 ? url : `***@${url.slice(at + 1)}`;
  }
}

/**
 * Why: closing must not hang on a Redis that is away (QUIT waits for a reconnection that may
 * never come): QUIT, and if it has not answered within `ms`, drop the connection.
 */
export async function closeRedis(redis: RedisClient, ms = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([redis.quit().then(noop, noop), timeout]);
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

/**
 * Why: a stop that gave up on Redis must not wait on a command ioredis keeps for a reconnection
 * that will not come: disconnect, and reject every command still queued with `reason` (between
 * two reconnection attempts ioredis's disconnect() closes nothing and leaves them pending).
 */
export function dropRedis(redis: RedisClient, reason: string): void {
  redis.disconnect();
  (redis as unknown as { flushQueue?(err: Error): void }).flushQueue?.(new Error(reason));
}

const noop = (): void => undefined;

/** @deprecated use `describeRedis` */
export const redactRedis = describeRedis;

// --- internal ---

/** Reconnect delays: 50 ms doubling to 1 s, ±25 % jitter. */
function reconnectDelay(times: number): number {
  const base = Math.min(1000, 50 * 2 ** Math.min(times - 1, 5));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

function connectionOptions(user: RedisOptions, name: string): RedisOptions {
  const sentinel = Array.isArray(user.sentinels) && user.sentinels.length > 0;
  return {
    ...user,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: reconnectDelay,
    reconnectOnError: user.reconnectOnError ?? defaultReconnectOnError,
    connectionName: name,
    ...(sentinel ? { failoverDetector: user.failoverDetector ?? true, sentinelRetryStrategy: user.sentinelRetryStrategy ?? reconnectDelay } : {}),
  };
}

function createCluster(spec: ClusterSpec, name: string): Cluster {
  const o = spec.options ?? {};
  const nodes = spec.cluster.map((n) => (typeof n === 'string' ? parseNode(n)! : { host: n.host, port: n.port }));
  return new Cluster(nodes, {
    ...o,
    enableOfflineQueue: true,
    clusterRetryStrategy: o.clusterRetryStrategy ?? reconnectDelay,
    retryDelayOnFailover: o.retryDelayOnFailover ?? 200,
    retryDelayOnClusterDown: o.retryDelayOnClusterDown ?? 200,
    // A command waits through a failover as with Sentinel: CLUSTERDOWN and a lost node are retried
    // every 200 ms, each counting as a redirection; ioredis's 16 gave up after about 3 s (a
    // measured failover took 2.3 s and rejected 25 enqueues). 150: about 30 s.
    maxRedirections: o.maxRedirections ?? 150,
    redisOptions: connectionOptions(o.redisOptions ?? {}, name),
  });
}

function validateClusterSpec(input: Record<string, unknown>): void {
  const nodes = input.cluster;
  if (!Array.isArray(nodes) || nodes.length === 0) throw new RedisInputError(`Expected \`redis.cluster\` to be a non-empty list of { host, port } or "host:port", got ${describeValue(nodes)}`);
  for (const n of nodes) {
    if (typeof n === 'string' ? !parseNode(n) : !isHostPort(n)) throw new RedisInputError(`Expected each node of \`redis.cluster\` to be { host, port } or "host:port", got ${describeValue(n)}`);
  }
  const extra = Object.keys(input).filter((k) => k !== 'cluster' && k !== 'options');
  if (extra.length) throw new RedisInputError(`A Cluster spec takes \`cluster\` and \`options\` only, got \`${extra.join('`, `')}\` (ioredis Cluster options go in \`options\`)`);
  if (input.options !== undefined && !isPlainObject(input.options)) throw new RedisInputError(`Expected \`redis.options\` to be ioredis Cluster options, got ${describeValue(input.options)}`);
}

function parseNode(s: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(s);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

function describeNode(n: ClusterNodeInput | { host?: string | undefined; port?: number | undefined }): string {
  return typeof n === 'string' ? n : `${n.host ?? '127.0.0.1'}:${n.port ?? 6379}`;
}

function isHostPort(n: unknown): boolean {
  if (!isPlainObject(n)) return false;
  const { host, port } = n as { host?: unknown; port?: unknown };
  return (host === undefined || typeof host === 'string') && Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** An ioredis Cluster client, from this copy of ioredis or another one. */
function isClusterClient(v: unknown): boolean {
  return v instanceof Cluster || (typeof v === 'object' && v !== null && (v as { isCluster?: unknown }).isCluster === true);
}

/** An ioredis Redis client of another copy of ioredis (same shape: options, duplicate, isCluster false). */
function isRedisLike(v: unknown): boolean {
  if (v instanceof Redis) return true;
  const r = v as { isCluster?: unknown; options?: unknown; duplicate?: unknown } | null;
  return typeof r === 'object' && r !== null && r.isCluster === false && typeof r.duplicate === 'function' && typeof r.options === 'object';
}

function describeValue(v: unknown): string {
  if (v === null) return '`null`';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return `an object of class ${(v as object).constructor?.name ?? '(none)'}`;
  if (typeof v === 'string') return `\`${v}\` (string)`;
  return `\`${String(v)}\` (${typeof v})`;
}

function defaultRedisUrl(): string {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379';
}
