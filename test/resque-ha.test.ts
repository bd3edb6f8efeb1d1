import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, describeRedis } from '../packages/resque/src/index.js';
import { ENDED_BY_ITSELF } from '../packages/resque/src/connect-options.js';
import { JobFlow } from './helpers/job-flow.js';
import { startForwarder, startRedisNode, startReplicated, startSentinels, type Forwarder, type Replicated, type Sentinels } from './helpers/redis-topology.js';
import { slow } from './helpers/slowness.js';
import { pollUntil } from './helpers/wait.js';

// Failover while jobs flow (issue 17): a Sentinel set losing its primary to kill -9, and a
// managed-style failover behind one endpoint. Jobs are counted outside Redis (a file of runs and
// the producer's acknowledged enqueues): nothing acknowledged is lost, nothing runs twice.

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

const DOWN_AFTER_MS = 1000;

describe('@baton/resque under Sentinel', () => {
  it('kill -9 of the primary while jobs flow: jobs again within down-after + 2 s, 0 lost, 0 duplicates, a bounded log', { timeout: slow(90_000) }, async () => {
    const set: Replicated = await startReplicated({ replicas: 1 });
    cleanup.push(() => set.close());
    const sentinels: Sentinels = await startSentinels(set.primary.port, { downAfterMs: DOWN_AFTER_MS });
    cleanup.push(() => sentinels.close());
    const redis = sentinels.redisOptions();
    expect(describeRedis(redis)).toBe(`sentinel mymaster via ${sentinels.addresses.map((a) => `127.0.0.1:${a.port}`).join(',')}`);
    const flow = new JobFlow({ redis, namespace: `ha-${randomUUID().slice(0, 8)}`, workers: 2, concurrency: 3, jobMs: 20, rate: 100 });
    cleanup.push(() => flow.close());
    await flow.start();
    flow.startProducing();
    await pollUntil(() => flow.tally().ran >= 100, { what: '100 jobs before the kill', timeoutMs: slow(20_000) });

    const killedAt = Date.now();
    await set.primary.kill('SIGKILL');
    const newPort = await sentinels.waitForFailover(set.primary.port);
    const failedOverAt = Date.now();
    expect(newPort).toBe(set.replicas[0]!.port);
    const firstAfter = await pollUntil(() => flow.firstSuccessAfter(failedOverAt), { what: 'a job to run after the failover', timeoutMs: slow(20_000) });
    await pollUntil(() => flow.acked.size >= 500, { what: '500 acknowledged enqueues', timeoutMs: slow(30_000) });
    await flow.stopProducing();
    await pollUntil(() => flow.tally().lost.length === 0, { what: 'every acknowledged job to run', timeoutMs: slow(30_000) }).catch(() => undefined);

    const t = flow.tally();
    const outage = { sentinelsMs: failedOverAt - killedAt, firstJobAfterKillMs: firstAfter - killedAt, firstJobAfterFailoverMs: firstAfter - failedOverAt };
    process.stderr.write(`sentinel kill -9: ${JSON.stringify({ ...outage, ran: t.ran, lost: t.lost.length, duplicates: t.duplicates.length, rejected: flow.rejected.size, logLines: flow.log.count() })}\n`);
    expect(t.lost).toEqual([]);
    expect(t.duplicates).toEqual([]);
    // Sentinel's own part (down-after, election) is its business; ours is to follow it at once.
    expect(firstAfter - failedOverAt).toBeLessThan(slow(2000));
    expect(firstAfter - killedAt).toBeLessThan(DOWN_AFTER_MS + slow(2000) + (failedOverAt - killedAt - DOWN_AFTER_MS));
    // One line when trouble starts and one when it ends, per worker and condition; never per attempt.
    expect(flow.log.count(/^warn/)).toBeLessThanOrEqual(2 * 3);
    expect(flow.log.count(/^error/)).toBe(0);
  });
});

describe('@baton/resque under Sentinel, asking a slow Sentinel', () => {
  // The stall after a Sentinel failover (issue 17): ioredis's failover detector of the lost
  // connection heard the +switch-master of that very failover while the client was asking a
  // Sentinel where the primary is, and ended the client for good ("Connection is closed.", no
  // reconnection). A slow link to the Sentinels (100 ms each way) makes that window wide: before
  // the fix, about a third of these connections ended; each rejected every enqueue from then on.
  it('no connection ends for good: every Queue enqueues through the failover, none rejected', { timeout: slow(90_000) }, async () => {
    const set: Replicated = await startReplicated({ replicas: 1 });
    cleanup.push(() => set.close());
    const sentinels: Sentinels = await startSentinels(set.primary.port, { downAfterMs: DOWN_AFTER_MS });
    cleanup.push(() => sentinels.close());
    const slowLinks = await Promise.all(sentinels.addresses.map((a) => startForwarder(a.port, { delayMs: 100 })));
    for (const f of slowLinks) cleanup.push(() => f.close());
    const redis = { sentinels: slowLinks.map((f) => ({ host: '127.0.0.1', port: f.port })), name: sentinels.name };
    const namespace = `ha-${randomUUID().slice(0, 8)}`;
    const queues = Array.from({ length: 12 }, () => new Queue({ redis, namespace }));
    for (const q of queues) cleanup.push(() => q.close());
    const ended: number[] = [];
    queues.forEach((q, i) => (q as unknown as { redis: { on(e: 'end', f: () => void): void } }).redis.on('end', () => ended.push(i)));
    const rejected: string[] = [];
    const lastAck = queues.map(() => 0);
    let stop = false;
    const loops = queues.map(async (q, i) => {
      for (let n = 0; !stop; n++) {
        await q.enqueue('flow', 'Rec', i, n).then(
          () => void (lastAck[i] = Date.now()),
          (err: Error) => void rejected.push(`${i}: ${err.message}`),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    await pollUntil(() => lastAck.every((t) => t > 0), { what: 'every Queue to enqueue', timeoutMs: slow(20_000) });

    await set.primary.kill('SIGKILL');
    await sentinels.waitForFailover(set.primary.port);
    const failedOverAt = Date.now();
    await pollUntil(() => lastAck.every((t) => t > failedOverAt), { what: 'every Queue to enqueue after the failover', timeoutMs: slow(15_000) }).catch(() => undefined);
    stop = true;
    await Promise.all(loops);
    expect(ended).toEqual([]);
    expect(rejected).toEqual([]);
    expect(lastAck.filter((t) => t <= failedOverAt)).toEqual([]);
  });
});

describe('@baton/resque connections never end by themselves', () => {
  it('a connection ioredis ends without our close (a connect attempt cut short) says so and connects again; one we close stays closed', { timeout: slow(30_000) }, async () => {
    const node = await startRedisNode();
    cleanup.push(() => node.close());
    const queue = new Queue({ redis: node.url, namespace: `ha-${randomUUID().slice(0, 8)}` });
    cleanup.push(() => queue.close());
    type Internals = { status: string; connector: { disconnect(): void }; disconnect(reconnect?: boolean): void; on(e: string, f: (x?: Error) => void): void; once(e: string, f: () => void): void };
    const conn = (queue as unknown as { redis: Internals }).redis;
    const errors: string[] = [];
    conn.on('error', (err) => void errors.push(err!.message));
    await queue.enqueue('q', 'A');
    // What ioredis's Sentinel failover detector did (see connect-options.ts): the connector is
    // disconnected while a reconnection's connect attempt is under way, and ioredis ends the client.
    conn.once('connecting', () => conn.connector.disconnect());
    let ended = 0;
    conn.on('end', () => void ended++);
    conn.disconnect(true);
    await pollUntil(() => ended === 1, { what: 'ioredis to end the connection', timeoutMs: slow(5000) });
    await pollUntil(() => conn.status === 'ready', { what: 'the connection to be back', timeoutMs: slow(5000) });
    await queue.enqueue('q', 'B');
    expect(errors).toContain(ENDED_BY_ITSELF);
    expect(await queue.size('q')).toBe(2);

    await queue.close();
    await pollUntil(() => conn.status === 'end', { what: 'the connection to close' });
    await new Promise((r) => setTimeout(r, 1500)); // the window in which a revival would have come: none
    expect(conn.status).toBe('end');
  });
});

describe('@baton/resque behind one endpoint (managed-style failover)', () => {
  it('the replica is promoted, new connections reach it, old ones stay on the demoted primary: Worker and Queue recover without a restart, 0 lost, 0 duplicates', { timeout: slow(90_000) }, async () => {
    const set: Replicated = await startReplicated({ replicas: 1 });
    cleanup.push(() => set.close());
    const endpoint: Forwarder = await startForwarder(set.primary.port);
    cleanup.push(() => endpoint.close());
    const flow = new JobFlow({ redis: endpoint.url, namespace: `ha-${randomUUID().slice(0, 8)}`, workers: 2, concurrency: 3, jobMs: 20, rate: 100 });
    cleanup.push(() => flow.close());
    await flow.start();
    flow.startProducing();
    await pollUntil(() => flow.tally().ran >= 100, { what: '100 jobs before the failover', timeoutMs: slow(20_000) });

    // A managed service's planned failover: writes paused until the replica has caught up, roles
    // swapped (FAILOVER), then the endpoint moves; connections already open stay on the old node.
    const replica = set.replicas[0]!;
    const primary = set.primary.client();
    const failedOverAt = Date.now();
    await primary.call('FAILOVER', 'TO', '127.0.0.1', String(replica.port), 'TIMEOUT', '5000');
    await pollUntil(async () => /role:master/.test(await replica.client().info('replication')), { what: 'the replica to be promoted', timeoutMs: slow(15_000) });
    endpoint.retarget(replica.port);
    const acceptedBefore = endpoint.accepted;
    const movedAt = Date.now();
    const firstAfter = await pollUntil(() => flow.firstSuccessAfter(movedAt), { what: 'jobs to run after the failover', timeoutMs: slow(20_000) });
    // The connections moved: they reconnected through the endpoint (READONLY → reconnect and resend).
    await pollUntil(() => endpoint.accepted > acceptedBefore, { what: 'reconnections through the endpoint' });
    const acked = flow.acked.size;
    await pollUntil(() => flow.acked.size >= acked + 100, { what: 'the Queue to enqueue again', timeoutMs: slow(20_000) });
    await flow.stopProducing();
    await pollUntil(() => flow.tally().lost.length === 0, { what: 'every acknowledged job to run', timeoutMs: slow(30_000) }).catch(() => undefined);

    const t = flow.tally();
    process.stderr.write(
      `managed failover: ${JSON.stringify({ failoverMs: movedAt - failedOverAt, firstJobAfterMoveMs: firstAfter - movedAt, ran: t.ran, lost: t.lost.length, duplicates: t.duplicates.length, rejected: flow.rejected.size, logLines: flow.log.count() })}\n`,
    );
    expect(t.lost).toEqual([]);
    expect(t.duplicates).toEqual([]);
    expect([...flow.rejected.values()]).toEqual([]);
    expect(flow.log.count(/^error/)).toBe(0);
    expect(flow.log.count(/^warn/)).toBeLessThanOrEqual(2 * 3);
  });
});
