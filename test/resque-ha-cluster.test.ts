import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, RedisInputError, Worker } from '../packages/resque/src/index.js';
import { JobFlow } from './helpers/job-flow.js';
import { startCluster, type TestCluster } from './helpers/redis-topology.js';
import { slow } from './helpers/slowness.js';
import { pollUntil } from './helpers/wait.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster?.close();
});

describe('@baton/resque on Redis Cluster (3 primaries)', () => {
  it('with a hash-tagged namespace, jobs enqueued through Queue run on a Worker, each once', async () => {
    const ns = `{ha-${Date.now()}}`;
    const redis = { cluster: cluster.addresses };
    const queue = new Queue({ redis, namespace: ns });
    const ran = new Map<number, number>();
    const worker = new Worker({ redis, namespace: ns, queues: ['q'], concurrency: 2, jobs: { Rec: (n: number) => void ran.set(n, (ran.get(n) ?? 0) + 1) } });
    try {
      await worker.start();
      for (let i = 0; i < 200; i++) await queue.enqueue('q', 'Rec', i);
      await pollUntil(() => ran.size === 200, { what: '200 jobs to run', timeoutMs: 20_000 });
      expect([...ran.values()].every((n) => n === 1)).toBe(true);
      expect(await queue.size('q')).toBe(0);
      const stats = await queue.stats();
      expect(stats.processed).toBe(200);
      // every key lives on the namespace's slot owner
      const owner = await cluster.ownerOf(`${ns}:queues`);
      const c = cluster.nodes.find((n) => n.port === owner)!.client();
      expect(await c.smembers(`${ns}:queues`)).toEqual(['q']);
    } finally {
      await worker.stop({ graceful: false, graceMs: 100 });
      await queue.close();
    }
  });

  it('refuses a namespace without a hash tag, saying why', () => {
    const redis = { cluster: cluster.addresses };
    expect(() => new Queue({ redis, namespace: 'resque' })).toThrow(/hash-tagged, e\.g\. `\{resque\}`.*share one slot/);
    expect(() => new Worker({ redis, jobs: {} })).toThrow(RedisInputError);
  });

  it('refuses an ioredis Cluster client and unknown objects (no fall-back to 127.0.0.1:6379)', () => {
    const client = new Cluster(cluster.addresses, { lazyConnect: true });
    try {
      expect(() => new Queue({ redis: client as never, namespace: '{x}' })).toThrow(/ioredis Cluster client: pass `\{ cluster:/);
      expect(() => new Worker({ redis: new (class Pool {})() as never, jobs: {} })).toThrow(/got an object of class Pool/);
    } finally {
      client.disconnect();
    }
  });
});

describe('@baton/resque on Redis Cluster: the primary of the namespace slot fails (issue 17)', () => {
  it('kill -9 of the slot owner while jobs flow: its replica takes over (node timeout 1 s), jobs flow again, 0 lost, 0 duplicates counted outside Redis', { timeout: slow(120_000) }, async () => {
    const c = await startCluster({ count: 3, replicas: 1, nodeTimeoutMs: 1000 });
    try {
      const namespace = `{fo-${randomUUID().slice(0, 6)}}`;
      const owner = await c.ownerOf(namespace);
      const primary = c.nodes.find((n) => n.port === owner)!;
      const replica = c.nodes[c.nodes.indexOf(primary) + 3]!;
      const flow = new JobFlow({ redis: { cluster: c.addresses }, namespace, workers: 2, concurrency: 3, jobMs: 20, rate: 100 });
      try {
        await flow.start();
        flow.startProducing();
        await pollUntil(() => flow.tally().ran >= 100, { what: '100 jobs before the kill', timeoutMs: slow(20_000) });

        const killedAt = Date.now();
        await primary.kill('SIGKILL');
        // Automatic failover: the other primaries mark it failed after the node timeout, its replica is elected.
        await pollUntil(async () => /role:master/.test(await replica.client().info('replication')), { what: 'the replica to take over the slot', timeoutMs: slow(30_000), intervalMs: 50 });
        const promotedAt = Date.now();
        const firstAfter = await pollUntil(() => flow.firstSuccessAfter(promotedAt), { what: 'a job after the failover', timeoutMs: slow(20_000) });
        const acked = flow.acked.size;
        await pollUntil(() => flow.acked.size >= acked + 200, { what: 'the Queue to enqueue again', timeoutMs: slow(30_000) });
        await flow.stopProducing();
        await pollUntil(() => flow.tally().lost.length === 0, { what: 'every acknowledged job to run', timeoutMs: slow(30_000) }).catch(() => undefined);

        const t = flow.tally();
        process.stderr.write(
          `cluster failover: ${JSON.stringify({ promotedMs: promotedAt - killedAt, firstJobAfterKillMs: firstAfter - killedAt, firstJobAfterPromotionMs: firstAfter - promotedAt, ran: t.ran, lost: t.lost.length, duplicates: t.duplicates.length, rejected: flow.rejected.size, logLines: flow.log.count() })}\n`,
        );
        expect(t.lost).toEqual([]);
        expect(t.duplicates).toEqual([]);
        expect([...flow.rejected.values()]).toEqual([]);
        expect(flow.log.count(/^error/)).toBe(0);
        expect(await c.ownerOf(namespace)).toBe(replica.port);
      } finally {
        await flow.close();
      }
    } finally {
      await c.close();
    }
  });
});
