import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue as NRQueue, Worker as NRWorker } from 'node-resque';
import { Queue, Worker } from '../packages/resque/src/index.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { pollUntil } from './helpers/wait.js';

// Interop with node-resque 9.7 (a real peer, same Redis): both directions, and our failures
// read through its API.
let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.close();
});

function nrConnection(namespace: string) {
  const url = new URL(redis.url);
  return { host: url.hostname, port: Number(url.port), namespace };
}

describe('interop with node-resque', () => {
  it('jobs enqueued by node-resque are performed by our worker (its extra "queue" key is ignored)', async () => {
    const ns = redis.namespace();
    const nrQueue = new NRQueue({ connection: nrConnection(ns) });
    await nrQueue.connect();
    const seen: unknown[] = [];
    const worker = new Worker({ redis: redis.url, namespace: ns, queues: ['mixed'], jobs: { Add: (a: number, b: number) => void seen.push(a + b) } });
    await worker.start();
    try {
      await nrQueue.enqueue('mixed', 'Add', [2, 3]);
      await nrQueue.enqueue('mixed', 'Add', [10, 20]);
      await pollUntil(() => seen.length === 2, { what: 'our worker to run node-resque jobs' });
      expect(seen).toEqual([5, 30]);
      expect(await nrQueue.length('mixed')).toBe(0);
      // node-resque sees our worker, by our Resque id.
      const workers = await nrQueue.workers();
      expect(Object.keys(workers)).toContain(worker.id.split(':').slice(0, 2).join(':'));
    } finally {
      await worker.stop();
      await nrQueue.end();
    }
  });

  it('jobs enqueued by us are performed by a node-resque worker', async () => {
    const ns = redis.namespace();
    const queue = new Queue({ redis: redis.url, namespace: ns });
    const seen: unknown[] = [];
    const nrWorker = new NRWorker(
      { connection: nrConnection(ns), queues: ['ours'], timeout: 20 },
      { Greet: { perform: async (name: string, n: number) => void seen.push(`${name}:${n}`) } },
    );
    await nrWorker.connect();
    await nrWorker.start();
    try {
      await queue.enqueue('ours', 'Greet', 'ada', 1);
      await queue.enqueue('ours', 'Greet', 'bob', 2);
      await pollUntil(() => seen.length === 2, { what: 'node-resque to run our jobs' });
      expect(seen).toEqual(['ada:1', 'bob:2']);
    } finally {
      await nrWorker.end();
      await queue.close();
    }
  });

  it('our failure records and stats are read by node-resque’s API', async () => {
    const ns = redis.namespace();
    const queue = new Queue({ redis: redis.url, namespace: ns });
    const nrQueue = new NRQueue({ connection: nrConnection(ns) });
    await nrQueue.connect();
    const worker = new Worker({ redis: redis.url, namespace: ns, queues: ['f'], jobs: { Explode: (why: string) => { throw new Error(`exploded: ${why}`); } } });
    await worker.start();
    try {
      await queue.enqueue('f', 'Explode', 'on purpose');
      await pollUntil(() => worker.failed === 1);
      expect(await nrQueue.failedCount()).toBe(1);
      const [failure] = await nrQueue.failed(0, 0);
      expect(failure).toMatchObject({ queue: 'f', worker: worker.id, exception: 'Error', error: 'exploded: on purpose', payload: { class: 'Explode', args: ['on purpose'] } });
      const stats = await nrQueue.stats();
      expect(stats).toMatchObject({ processed: '1', failed: '1' });
      // node-resque's retryAndRemoveFailed re-enqueues it for us to run again.
      await nrQueue.retryAndRemoveFailed(failure!);
      await pollUntil(() => worker.failed === 2, { what: 'the retried job to run (and fail) again' });
      expect(await queue.failedCount()).toBe(1);
    } finally {
      await worker.stop();
      await nrQueue.end();
      await queue.close();
    }
  });
});
