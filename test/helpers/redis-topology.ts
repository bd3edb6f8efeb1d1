import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './ports.js';
import { INFRA_VAR, MARK_VAR, runId } from './procs.js';
import { slow } from './slowness.js';
import { Spawned } from './spawn.js';
import { pollUntil } from './wait.js';

// Redis topologies for the high-availability tests (issue 17): a primary with replicas, a
// Sentinel set, a TCP forwarder standing in for a managed service's endpoint, and a Redis Cluster.
// Every process listens on a free loopback port and is marked as suite infrastructure (INFRA_VAR),
// like test/helpers/redis.ts's server, so the run's leak audit sees any left behind; each
// topology's close() stops what it started.

/** One redis-server (or redis-server --sentinel) process on a loopback port. */
export interface RedisNode {
  readonly port: number;
  readonly url: string;
  readonly proc: Spawned;
  /** A client of this node (closed by close()); `maxRetriesPerRequest: 1`, errors swallowed. */
  client(options?: RedisOptions): Redis;
  /** kill -9 (default) or another signal; resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the process again on the same port with the same arguments (and `extraArgs`). */
  restart(extraArgs?: string[]): Promise<void>;
  readonly alive: boolean;
  close(): Promise<void>;
}

/** Starts `redis-server` with `args` on a free (or the given) port; waits until it accepts connections. */
export async function startRedisNode(o: { args?: string[]; port?: number; label?: string; sentinelConfig?: string } = {}): Promise<RedisNode> {
  const port = o.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'baton-topology-'));
  const clients: Redis[] = [];
  let proc!: Spawned;
  const start = async (extra: string[] = []) => {
    let args: string[];
    if (o.sentinelConfig !== undefined) {
      const conf = join(dir, 'sentinel.conf');
      writeFileSync(conf, `port ${port}\nbind 127.0.0.1\nprotected-mode no\ndir ${dir}\n${o.sentinelConfig}`);
      args = [conf, '--sentinel', ...extra];
    } else {
      args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no', ...(o.args ?? []), ...extra];
    }
    proc = new Spawned('redis-server', args, { env: { [INFRA_VAR]: runId(), [MARK_VAR]: '' }, label: `${o.label ?? 'redis-server'} :${port}`, track: false });
    await proc.waitForLine(o.sentinelConfig !== undefined ? /Sentinel ID is|monitor master/ : /Ready to accept connections/, { timeoutMs: slow(10_000) });
  };
  await start();
  const node: RedisNode = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get proc() {
      return proc;
    },
    get alive() {
      return !proc.exit;
    },
    client(options = {}) {
      const c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, ...options });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    async kill(signal = 'SIGKILL') {
      proc.kill(signal);
      await proc.waitForExit({ timeoutMs: slow(10_000) });
    },
    async restart(extraArgs = []) {
      if (!proc.exit) await node.kill('SIGKILL');
      await start(extraArgs);
    },
    async close() {
      for (const c of clients.splice(0)) c.disconnect();
      if (!proc.exit) {
        proc.kill('SIGKILL');
        await proc.waitForExit({ timeoutMs: slow(10_000) }).catch(() => undefined);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return node;
}

/** A primary and its replicas (plain replication, no Sentinel). */
export interface Replicated {
  primary: RedisNode;
  replicas: RedisNode[];
  close(): Promise<void>;
}

/**
 * Why: failover and durability tests need a real replica: starts a primary and `replicas` (default
 * 1) `replicaof` it, and waits until every replica's link is up. `primaryArgs` go to the primary
 * only (e.g. `--min-replicas-to-write 1`).
 */
export async function startReplicated(o: { replicas?: number; primaryArgs?: string[]; args?: string[] } = {}): Promise<Replicated> {
  const primary = await startRedisNode({ args: [...(o.args ?? []), ...(o.primaryArgs ?? [])], label: 'redis primary' });
  const replicas: RedisNode[] = [];
  try {
    for (let i = 0; i < (o.replicas ?? 1); i++) replicas.push(await startReplica(primary.port, o.args));
  } catch (err) {
    await Promise.all([primary, ...replicas].map((n) => n.close()));
    throw err;
  }
  return { primary, replicas, close: async () => void (await Promise.all([...replicas, primary].map((n) => n.close()))) };
}

/** Starts a replica of the primary on `primaryPort` and waits for its replication link. */
export async function startReplica(primaryPort: number, args: string[] = [], port?: number): Promise<RedisNode> {
  const node = await startRedisNode({ args: [...args, '--replicaof', '127.0.0.1', String(primaryPort)], label: 'redis replica', port });
  await waitForReplicaLink(node);
  return node;
}

/** Waits until `node` is a replica whose link to its primary is up. */
export async function waitForReplicaLink(node: RedisNode): Promise<void> {
  const c = node.client();
  await pollUntil(async () => /master_link_status:up/.test(await c.info('replication')), { what: `replica :${node.port} to sync`, timeoutMs: slow(15_000) });
}

/** Three Sentinels watching one master name. */
export interface Sentinels {
  readonly name: string;
  readonly nodes: RedisNode[];
  /** `{ host, port }` of each Sentinel, for `redis: { sentinels, name }`. */
  readonly addresses: Array<{ host: string; port: number }>;
  /** ioredis options reaching the master through the Sentinels. */
  redisOptions(extra?: RedisOptions): RedisOptions;
  /** The master's port as the first answering Sentinel reports it now. */
  masterPort(): Promise<number>;
  /** Waits until every Sentinel reports a master other than `oldPort`; returns its port. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Why: the Sentinel tests need a real Sentinel set: `count` (default 3) `redis-server --sentinel`
 * processes monitoring the primary on `primaryPort` with quorum 2, a short `downAfterMs` (default
 * 1000) and failover timeout; resolves once each sees the primary and its replicas.
 */
export async function startSentinels(primaryPort: number, o: { count?: number; name?: string; downAfterMs?: number; failoverTimeoutMs?: number; replicas?: number } = {}): Promise<Sentinels> {
  const name = o.name ?? 'mymaster';
  const config =
    `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2\n` +
    `sentinel down-after-milliseconds ${name} ${o.downAfterMs ?? 1000}\n` +
    `sentinel failover-timeout ${name} ${o.failoverTimeoutMs ?? 5000}\n` +
    `sentinel parallel-syncs ${name} 1\n`;
  const nodes: RedisNode[] = [];
  try {
    for (let i = 0; i < (o.count ?? 3); i++) nodes.push(await startRedisNode({ sentinelConfig: config, label: `redis sentinel ${i}` }));
    const clients = nodes.map((n) => n.client());
    await pollUntil(
      async () => {
        for (const c of clients) {
          const [master] = (await c.call('SENTINEL', 'MASTERS')) as string[][];
          const fields = toObject(master ?? []);
          if (Number(fields['num-other-sentinels']) < nodes.length - 1) return false;
          if (Number(fields['num-slaves']) < (o.replicas ?? 1)) return false;
        }
        return true;
      },
      { what: 'the sentinels to see each other and the replicas', timeoutMs: slow(20_000) },
    );
  } catch (err) {
    await Promise.all(nodes.map((n) => n.close()));
    throw err;
  }
  const addresses = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  const masterPortOf = async (c: Redis) => Number(((await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[])[1]);
  return {
    name,
    nodes,
    addresses,
    redisOptions: (extra = {}) => ({ sentinels: addresses, name, ...extra }),
    async masterPort() {
      for (const n of nodes) {
        if (!n.alive) continue;
        try {
          return await masterPortOf(n.client());
        } catch {
          // next one
        }
      }
      throw new Error('no sentinel answers');
    },
    async waitForFailover(oldPort, timeoutMs = slow(30_000)) {
      const clients = nodes.filter((n) => n.alive).map((n) => n.client());
      return await pollUntil(
        async () => {
          const ports = await Promise.all(clients.map(masterPortOf));
          return ports.every((p) => p !== oldPort && p === ports[0]) ? ports[0] : undefined;
        },
        { what: `the sentinels to fail over from :${oldPort}`, timeoutMs, intervalMs: 50 },
      );
    },
    close: async () => void (await Promise.all(nodes.map((n) => n.close()))),
  };
}

/** A TCP forwarder: one address in front of a Redis that can change (a managed service's endpoint). */
export interface Forwarder {
  readonly port: number;
  readonly url: string;
  /** Where new connections go from now on; open ones stay where they were (as a DNS change or a VIP move leaves them). */
  retarget(port: number): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Closes every forwarded connection now (a proxy restart); new ones still go to the current target. */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * `delayMs`: every chunk, each way, arrives that much later (a slow link, e.g. to the Sentinels).
 *
 * Why: a managed Redis fails over behind one DNS name or VIP: new connections reach the promoted
 * replica while old ones stay on the demoted primary until something closes them. This stands in
 * for that endpoint, in the test process (node:net), on a free loopback port.
 */
export async function startForwarder(targetPort: number, o: { delayMs?: number } = {}): Promise<Forwarder> {
  let target = targetPort;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = connect({ host: '127.0.0.1', port: target });
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    const lag = o.delayMs ?? 0;
    // With a delay, each chunk (and the close) goes on `lag` ms later, in order: a slow network.
    client.on('error', end).on('close', () => (lag ? setTimeout(end, lag) : end()));
    upstream.on('error', end).on('close', () => (lag ? setTimeout(end, lag) : end()));
    if (!lag) {
      client.pipe(upstream);
      upstream.pipe(client);
      return;
    }
    client.on('data', (chunk) => void setTimeout(() => upstream.writable && upstream.write(chunk), lag));
    upstream.on('data', (chunk) => void setTimeout(() => client.writable && client.write(chunk), lag));
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, resolve);
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    retarget: (p) => void (target = p),
    get accepted() {
      return accepted;
    },
    dropConnections() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    async close() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Redis Cluster of primaries (no replicas) with every slot assigned. */
export interface TestCluster {
  /** The primaries first (`count`), then their replicas (replica j of primary i at count·(1 + j) + i). */
  readonly nodes: RedisNode[];
  /** `{ host, port }` of every node: `redis: { cluster: spec }`. */
  readonly addresses: Array<{ host: string; port: number }>;
  /** The port of the node that owns `key`'s slot. */
  ownerOf(key: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Why: Cluster support is shown on a real cluster: `count` (default 3) `redis-server
 * --cluster-enabled yes` nodes, slots split evenly with CLUSTER ADDSLOTSRANGE, joined with
 * CLUSTER MEET (no redis-cli needed), resolved once every node reports cluster_state:ok.
 */
export async function startCluster(o: { count?: number; replicas?: number; nodeTimeoutMs?: number } = {}): Promise<TestCluster> {
  const count = o.count ?? 3;
  const total = count * (1 + (o.replicas ?? 0));
  const nodes: RedisNode[] = [];
  try {
    for (let i = 0; i < total; i++) {
      const args = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-node-timeout', String(o.nodeTimeoutMs ?? 2000)];
      nodes.push(await startRedisNode({ args, label: `redis cluster node ${i}` }));
    }
    const clients = nodes.map((n) => n.client());
    const per = Math.floor(16384 / count);
    for (let i = 0; i < count; i++) {
      const first = i * per;
      const last = i === count - 1 ? 16383 : first + per - 1;
      await clients[i]!.call('CLUSTER', 'ADDSLOTSRANGE', first, last);
    }
    for (let i = 1; i < total; i++) await clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', nodes[i]!.port);
    await pollUntil(
      async () => {
        for (const c of clients) if (((await c.call('CLUSTER', 'NODES')) as string).trim().split('\n').length < total) return false;
        return true;
      },
      { what: 'the nodes to know each other', timeoutMs: slow(20_000), intervalMs: 100 },
    );
    // Node count + i replicates primary i % count.
    for (let i = count; i < total; i++) {
      const primaryId = (await clients[i % count]!.call('CLUSTER', 'MYID')) as string;
      await clients[i]!.call('CLUSTER', 'REPLICATE', primaryId);
    }
    await pollUntil(
      async () => {
        for (const c of clients) if (!/cluster_state:ok/.test((await c.call('CLUSTER', 'INFO')) as string)) return false;
        for (let i = count; i < total; i++) if (!/master_link_status:up/.test(await clients[i]!.info('replication'))) return false;
        return true;
      },
      { what: 'the cluster to be ok', timeoutMs: slow(20_000), intervalMs: 100 },
    );
  } catch (err) {
    await Promise.all(nodes.map((n) => n.close()));
    throw err;
  }
  return {
    nodes,
    addresses: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    async ownerOf(key) {
      const c = nodes.find((n) => n.alive)!.client();
      const slot = Number(await c.call('CLUSTER', 'KEYSLOT', key));
      const slots = (await c.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      const hit = slots.find(([a, b]) => slot >= a && slot <= b);
      if (!hit) throw new Error(`no node owns slot ${slot}`);
      return Number(hit[2][1]);
    },
    close: async () => void (await Promise.all(nodes.map((n) => n.close()))),
  };
}

/** Sums INFO commandstats `calls` of the named commands (lower case, e.g. 'evalsha'), or of all. */
export async function commandCalls(c: Redis, names?: readonly string[]): Promise<number> {
  const info = await c.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!names || names.includes(m[1]!)) total += Number(m[2]);
  }
  return total;
}

function toObject(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}
