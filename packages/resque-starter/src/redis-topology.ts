import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { describeSeconds } from './config-warnings.js';
import { isClusterConfig, isSentinelConfig, namespaceHashTag, type RedisConfig } from './config-redis.js';
import type { ResolvedConfig } from './config.js';

// What the start-up check learns of the Redis topology beside "it answers": which node it
// reached and in which role, how many replicas follow it, what Sentinel's failover settings are
// for the master name, and for Cluster which slot the namespace lives on and who owns it. Used
// by `check --redis` (one line, and warnings) and by the master's start line.

/** What `inspectTopology` found; each part undefined when the server would not say (ACL, old version). */
export interface TopologyReport {
  kind: 'standalone' | 'sentinel' | 'cluster';
  /** `host:port` the check's connection reached (for Cluster: the owner of the namespace's slot). */
  reached: string | undefined;
  /** `master` or `slave`, from INFO replication; `sentinel` for a Sentinel's own port. */
  role: string | undefined;
  /** Replicas connected to the node reached (INFO `connected_slaves`; for Cluster, CLUSTER SLOTS). */
  replicas: number | undefined;
  /** Sentinel's view of the master name, or why it could not be read. */
  sentinel?: SentinelFacts | { error: string } | undefined;
  cluster?: ClusterFacts | undefined;
}

export interface SentinelFacts {
  name: string;
  /** The Sentinel that answered. */
  via: string;
  downAfterMs: number | undefined;
  failoverTimeoutMs: number | undefined;
  quorum: number | undefined;
  /** Sentinels that monitor the name (the one asked and the others it knows). */
  sentinels: number | undefined;
}

export interface ClusterFacts {
  slot: number;
  tag: string;
  /** `host:port` of the primary owning the slot. */
  owner: string | undefined;
  /** Primaries serving slots. */
  primaries: number;
}

/** Options of the check's connections: fail fast (no retries, no offline queue). */
function failFast(timeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
    // We PING ourselves; ioredis's INFO-based ready check only warns when INFO is not allowed.
    enableReadyCheck: false,
  };
}

/** A connection of the check, made for the topology (fails fast: no retries, no offline queue). */
export function openCheckClient(redis: RedisConfig, timeoutMs: number): Redis | Cluster {
  const common = failFast(timeoutMs);
  if (isClusterConfig(redis)) {
    const o = redis.options ?? {};
    const nodes = redis.cluster.map((n) => (typeof n === 'string' ? n : { host: n.host, port: n.port }));
    return new Cluster(nodes, {
      ...o,
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: true,
      clusterRetryStrategy: () => null,
      redisOptions: { ...o.redisOptions, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableReadyCheck: false },
    });
  }
  if (typeof redis === 'string') return new Redis(redis, common);
  return new Redis({ ...redis, ...common, ...(isSentinelConfig(redis) ? { sentinelRetryStrategy: () => null } : {}) });
}

/** Why: see the module comment. Never throws for what it cannot read: that part stays undefined. */
export async function inspectTopology(client: Redis | Cluster, config: Pick<ResolvedConfig, 'redis' | 'namespace' | 'redisTimeoutMs'>): Promise<TopologyReport> {
  if (client instanceof Cluster) return inspectCluster(client, config.namespace);
  const stream = (client as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  const reached = stream?.remoteAddress ? `${stream.remoteAddress}:${stream.remotePort}` : undefined;
  const replication = await client.info('replication').then(parseInfoReplication, () => ({ role: undefined, replicas: undefined }));
  // A Sentinel's own port given as `redis`: it answers INFO but has no replication section.
  if (replication.role === undefined && /^redis_mode:sentinel\r?$/m.test(await client.info('server').catch(() => ''))) {
    return { kind: 'standalone', reached, role: 'sentinel', replicas: undefined };
  }
  if (!isSentinelConfig(config.redis)) return { kind: 'standalone', reached, ...replication };
  return { kind: 'sentinel', reached, ...replication, sentinel: await askSentinels(config.redis, config.redisTimeoutMs) };
}

/** `role` and `connected_slaves` of INFO replication. */
export function parseInfoReplication(info: string): { role: string | undefined; replicas: number | undefined } {
  const field = (name: string) => new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(info)?.[1]?.trim();
  const replicas = field('connected_slaves');
  return { role: field('role') || undefined, replicas: replicas === undefined ? undefined : Number(replicas) };
}

/** SENTINEL MASTER's flat reply (`name`, `mymaster`, `ip`, …) → the facts we use. */
export function parseSentinelMaster(reply: unknown, via: string): SentinelFacts {
  const f: Record<string, string> = {};
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) f[String(reply[i])] = String(reply[i + 1]);
  const num = (k: string) => (f[k] !== undefined && Number.isFinite(Number(f[k])) ? Number(f[k]) : undefined);
  const others = num('num-other-sentinels');
  return {
    name: f.name ?? '?',
    via,
    downAfterMs: num('down-after-milliseconds'),
    failoverTimeoutMs: num('failover-timeout'),
    quorum: num('quorum'),
    sentinels: others === undefined ? undefined : others + 1,
  };
}

/** CLUSTER SLOTS → the owner of `slot`, its replicas and the number of primaries. */
export function parseClusterSlots(reply: unknown, slot: number): { owner: string | undefined; replicas: number | undefined; primaries: number } {
  const ranges = Array.isArray(reply) ? (reply as unknown[][]) : [];
  const primaries = new Set<string>();
  let owner: string | undefined;
  let replicas: number | undefined;
  for (const range of ranges) {
    const [from, to, primary, ...rest] = range as [number, number, unknown[] | undefined, ...unknown[]];
    if (!Array.isArray(primary)) continue;
    const addr = `${String(primary[0])}:${String(primary[1])}`;
    primaries.add(addr);
    if (slot >= Number(from) && slot <= Number(to)) {
      owner = addr;
      replicas = rest.length;
    }
  }
  return { owner, replicas, primaries: primaries.size };
}

/** The line `check --redis` prints about the topology. */
export function renderTopology(where: string, t: TopologyReport): string {
  const parts: string[] = [];
  if (t.kind === 'cluster' && t.cluster) {
    const c = t.cluster;
    parts.push(`namespace tag {${c.tag}} is slot ${c.slot}, owned by ${c.owner ?? 'no node (slot not served?)'}${replicasOf(t.replicas)}; ${c.primaries} primaries in the cluster`);
    parts.push('one namespace lives on one slot (failover, not sharding)');
  } else {
    const role = t.role === 'master' ? 'the primary' : t.role === 'slave' ? 'a replica' : 'a node (role unknown: INFO refused)';
    parts.push(`reached ${role}${t.reached ? ` at ${t.reached}` : ''}${replicasOf(t.replicas)}`);
  }
  if (t.sentinel && 'error' in t.sentinel) parts.push(`Sentinel not asked: ${t.sentinel.error}`);
  else if (t.sentinel) {
    const s = t.sentinel;
    const facts = [
      s.downAfterMs !== undefined ? `down-after-milliseconds ${s.downAfterMs}` : undefined,
      s.failoverTimeoutMs !== undefined ? `failover-timeout ${s.failoverTimeoutMs}` : undefined,
      s.quorum !== undefined ? `quorum ${s.quorum}` : undefined,
      s.sentinels !== undefined ? `${s.sentinels} Sentinel(s) monitor it` : undefined,
    ].filter(Boolean);
    parts.push(`Sentinel ${s.via} on ${s.name}: ${facts.join(', ')}`);
  }
  return `Redis at ${where}: ${parts.join('; ')}`;
}

/** Seconds a Sentinel failover takes beyond down-after (election, promotion, clients reconnecting). */
export const FAILOVER_EXTRA_S = 3;

/**
 * Why: a failover longer than the lock lifetime can run a job twice (@baton/resque: a worker's
 * janitor waits one lifetime of quiet after a reconnection before it judges others' locks, so a
 * failover shorter than the lifetime is ridden out). The smallest `lockTimeout`, in seconds,
 * above a Sentinel failover with this down-after-milliseconds (down-after + election + promotion).
 */
export function lockTimeoutFor(downAfterMs: number): number {
  return Math.ceil(downAfterMs / 1000 + FAILOVER_EXTRA_S);
}

/**
 * Why: what is valid but will hurt at the first failover: a lock lifetime shorter than the
 * outage Sentinel lets happen (a job can then run twice), `durability.replicas` more than are
 * connected (every write waits its timeout).
 */
export function topologyWarnings(config: Pick<ResolvedConfig, 'lockTimeoutMs' | 'durability'>, t: TopologyReport): string[] {
  const out: string[] = [];
  const s = t.sentinel && !('error' in t.sentinel) ? t.sentinel : undefined;
  if (s?.downAfterMs !== undefined && config.lockTimeoutMs < lockTimeoutFor(s.downAfterMs) * 1000) {
    out.push(
      `lockTimeout (${config.lockTimeoutMs / 1000} s) is shorter than a failover of ${s.name} can take: Sentinel waits down-after-milliseconds (${describeSeconds(s.downAfterMs / 1000)}) ` +
        `and up to ${FAILOVER_EXTRA_S} s more to promote a replica, and a failover longer than lockTimeout can run a job twice; ` +
        `set \`lockTimeout: ${lockTimeoutFor(s.downAfterMs)}\` or more (or lower down-after-milliseconds)`,
    );
  }
  if (config.durability && t.replicas !== undefined && t.replicas < config.durability.replicas) {
    out.push(
      `durability.replicas is ${config.durability.replicas} but ${t.replicas} replica(s) are connected${t.reached ? ` to ${t.reached}` : ''}: ` +
        `every write waits ${config.durability.timeoutMs / 1000} s and is then reported short of replicas`,
    );
  }
  return out;
}

// --- internal ---

function replicasOf(n: number | undefined): string {
  return n === undefined ? '' : `, ${n} replica(s) connected`;
}

async function inspectCluster(client: Cluster, namespace: string): Promise<TopologyReport> {
  const tag = namespaceHashTag(namespace) ?? namespace;
  const slot = Number(await client.call('CLUSTER', 'KEYSLOT', `{${tag}}`));
  const slots = parseClusterSlots(await client.call('CLUSTER', 'SLOTS').catch(() => []), slot);
  return { kind: 'cluster', reached: slots.owner, role: 'master', replicas: slots.replicas, cluster: { slot, tag, owner: slots.owner, primaries: slots.primaries } };
}

/** SENTINEL MASTER <name> of the first Sentinel that answers. */
async function askSentinels(redis: RedisOptions, timeoutMs: number): Promise<SentinelFacts | { error: string }> {
  let last = 'no Sentinel answered';
  for (const s of redis.sentinels ?? []) {
    const via = `${s.host ?? '127.0.0.1'}:${s.port ?? 26379}`;
    const client = new Redis({
      host: s.host ?? '127.0.0.1',
      port: s.port ?? 26379,
      ...(redis.sentinelUsername ? { username: redis.sentinelUsername } : {}),
      ...(redis.sentinelPassword ? { password: redis.sentinelPassword } : {}),
      ...(redis.enableTLSForSentinelMode && redis.sentinelTLS ? { tls: redis.sentinelTLS } : {}),
      ...failFast(timeoutMs),
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return parseSentinelMaster(await client.call('SENTINEL', 'MASTER', redis.name ?? ''), via);
    } catch (err) {
      last = `${via}: ${String((err as Error)?.message ?? err).split('\n')[0]}`;
    } finally {
      client.disconnect();
    }
  }
  return { error: last };
}
