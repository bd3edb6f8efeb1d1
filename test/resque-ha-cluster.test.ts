import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, RedisInputError, Worker } from '../packages/resque/src/index.js';
import { startCluster, type TestCluster } from './helpers/redis-topology.js';
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
