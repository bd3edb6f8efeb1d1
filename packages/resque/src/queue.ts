import type { Redis } from 'ioredis';
import { assertClusterNamespace, closeRedis, createRedis, isClusterInput, validateRedisInput, type RedisInput } from './connect-options.js';
import { DataStore } from './data-store.js';
import { DurabilityError, resolveDurability, type DurabilityOptions } from './durability.js';
import { encodeDelayed, resolveDueMs, type DelayedJob } from './delayed.js';
import { DelayedStore } from './delayed-store.js';
import { defineScripts } from './scripts.js';

export interface QueueOptions {
  /** Redis URL, ioredis options (Sentinel too), a Cluster spec `{ cluster: [...] }`, or a Redis client (its options are copied; yours stays yours). Default `REDIS_URL` or `redis://127.0.0.1:6379`. */
  redis?: RedisInput;
  /** Key namespace; default `resque` (Ruby's default). With Redis Cluster it must be hash-tagged, e.g. `{resque}`. */
  namespace?: string;
  /** Jobs of a worker that died more often than this go to `failed` instead of back to the queue. Default 3. */
  maxRecoveries?: number;
  /**
   * Wait for replicas after each enqueue, enqueueAt/enqueueIn and removeDelayed (Redis `WAIT`): an enqueue resolves once `replicas`
   * replicas have the job, and rejects with a `DurabilityError` when fewer did within
   * `timeoutMs` (or carries on, `onShortfall: 'warn'`). Not with Redis Cluster. Default: none
   * (an acknowledged enqueue can be lost if the primary dies before its replica has it).
   */
  durability?: DurabilityOptions;
}

/** A failure record as Resque stores it. */
export interface FailureRecord {
  failed_at: string;
  payload: { class: string; args: unknown[] } | unknown;
  exception: string;
  error: string;
  backtrace: string[];
  worker: string;
  queue: string;
  retried_at?: string;
}

/** One registered worker as `Queue.workerDetails` reads it (Resque's keys). */
export interface WorkerDetail {
  id: string;
  /** `{"queue","run_at","payload"}` while it works on a job, else null. */
  workingOn: unknown;
  /** `worker:<id>:started`, as Resque writes it. */
  started: string | null;
  /** The heartbeat (ISO 8601, Resque ≥ 2.0), null when none. */
  heartbeat: string | null;
  processed: number;
  failed: number;
}

/** Why: the producer and admin side apps use: enqueue, inspect, failures, stats, pause. */
export class Queue {
  readonly store: DataStore;
  readonly delayedStore: DelayedStore;
  private readonly redis: Redis;
  private readonly maxRecoveries: number;
  private closing: Promise<void> | undefined;

  constructor(options: QueueOptions = {}) {
    validateRedisInput(options.redis);
    if (isClusterInput(options.redis)) assertClusterNamespace(options.namespace ?? 'resque');
    const d = resolveDurability(options.durability, options.redis, 'error');
    this.redis = createRedis(options.redis, 'baton-resque:queue');
    this.redis.on('error', () => undefined); // reconnection is automatic; commands wait for it
    defineScripts(this.redis);
    const replication = d && {
      ...d,
      replicated: (acked: number) => {
        if (acked < d.replicas && d.onShortfall === 'error') throw new DurabilityError(acked, d.replicas, d.timeoutMs);
      },
    };
    this.store = new DataStore(this.redis, options.namespace, replication);
    // enqueueAt and removeDelayed wait for the replicas too.
    this.delayedStore = new DelayedStore(this.redis, options.namespace, replication);
    this.maxRecoveries = options.maxRecoveries ?? 3;
  }

  /**
   * Resque.enqueue_to(queue, klass, *args): `{"class","args"}` RPUSHed, queue registered, idle
   * workers woken. Redis unreachable or failing over (`READONLY` on a demoted primary): the call
   * waits and is resent. Redis refusing writes (`NOREPLICAS` under `min-replicas-to-write`, `OOM`,
   * `MISCONF`): it rejects with Redis's error, nothing enqueued; retrying is the caller's choice.
   */
  async enqueue(queue: string, className: string, ...args: unknown[]): Promise<void> {
    await this.store.pushJob(queue, className, args);
  }

  /** Pushes a raw payload, text or bytes, as is (foreign producers, tests of bad input). */
  async enqueueRaw(queue: string, raw: string | Buffer): Promise<void> {
    await this.store.push(queue, raw);
  }

  /**
   * resque-scheduler's enqueue_at_with_queue: the job waits in the delayed queue
   * (`delayed_queue_schedule`, `delayed:<secs>`, `timestamps:<payload>`) until a scheduler (ours,
   * resque-scheduler's or node-resque's) moves it to `queue` once `at` has come. Ours moves it at
   * `at` to the millisecond; Ruby's and node-resque's at the start of its second. A time that
   * has already come enqueues the job at once, as Ruby's enqueue_at does.
   */
  async enqueueAt(at: Date | number, queue: string, className: string, ...args: unknown[]): Promise<void> {
    const ms = resolveDueMs(at);
    // resque-scheduler's enqueue_at_with_queue: a time already come enqueues at once.
    if (ms <= Date.now()) await this.enqueue(queue, className, ...args);
    else await this.delayedStore.push(ms, encodeDelayed(queue, className, args));
  }

  /** `enqueueAt(now + ms, …)` (resque-scheduler's enqueue_in). */
  async enqueueIn(ms: number, queue: string, className: string, ...args: unknown[]): Promise<void> {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new TypeError(`Expected a delay in milliseconds (>= 0), got \`${String(ms)}\``);
    await this.enqueueAt(Date.now() + ms, queue, className, ...args);
  }

  /** Delayed jobs of every queue (resque-scheduler's delayed_queue_schedule_size). */
  async delayedCount(): Promise<number> {
    return await this.delayedStore.count();
  }

  /** Queue name → how many delayed jobs go to it (reads every delayed job; for tools). */
  async delayedCounts(): Promise<Record<string, number>> {
    return await this.delayedStore.countsByQueue();
  }

  /** Delayed jobs, soonest first, from `start`, at most `count`. */
  async delayed(start = 0, count = 100): Promise<DelayedJob[]> {
    return await this.delayedStore.list(start, count);
  }

  /** When the soonest delayed job is due (undefined: none). */
  async nextDelayedAt(): Promise<Date | undefined> {
    return (await this.delayedStore.list(0, 1))[0]?.at;
  }

  /**
   * resque-scheduler's remove_delayed(klass, *args) with the queue named: removes every delayed
   * copy of the job (whatever its time) and returns how many. It finds jobs whose payload is
   * byte for byte `{"class","args","queue"}` as Ruby and we write them (node-resque orders its
   * keys `class, queue, args`: those are not found).
   */
  async removeDelayed(queue: string, className: string, ...args: unknown[]): Promise<number> {
    return await this.delayedStore.remove(encodeDelayed(queue, className, args));
  }

  async queues(): Promise<string[]> {
    return await this.store.queueNames();
  }

  async size(queue: string): Promise<number> {
    return await this.store.queueSize(queue);
  }

  /** Jobs waiting in a queue, decoded (`start`, `count` like Resque.peek). */
  async peek(queue: string, start = 0, count = 1): Promise<unknown[]> {
    return (await this.store.peek(queue, start, count)).map((raw) => safeParse(raw));
  }

  async removeQueue(queue: string): Promise<void> {
    await this.store.removeQueue(queue);
  }

  async failedCount(): Promise<number> {
    return await this.store.failedCount();
  }

  async failed(start = 0, count = 100): Promise<FailureRecord[]> {
    return (await this.store.failed(start, count)).map((raw) => safeParse(raw) as FailureRecord);
  }

  /** resque-web's Retry: enqueues `{class, args}` again and marks the entry retried_at (it stays); false when no such entry can be retried. */
  async requeueFailed(index: number): Promise<boolean> {
    return await this.store.requeueFailed(index, new Date());
  }

  /** `requeueFailed` of each index (a few round trips per 500 entries, not three each); true for each entry retried. */
  async requeueFailedMany(indices: readonly number[]): Promise<boolean[]> {
    return await this.store.requeueFailedMany(indices, new Date());
  }

  async removeFailed(index: number): Promise<void> {
    await this.store.removeFailed(index);
  }

  /** `removeFailed` of each index, highest first, one MULTI per 500 entries. */
  async removeFailedMany(indices: readonly number[]): Promise<void> {
    await this.store.removeFailedMany(indices);
  }

  async clearFailed(): Promise<void> {
    await this.store.clearFailed();
  }

  async stats(): Promise<{ processed: number; failed: number; queues: number; workers: number; pending: number }> {
    const [s, queues, workers] = await Promise.all([this.store.stats(), this.store.queueNames(), this.store.workerIds()]);
    const sizes = await Promise.all(queues.map((q) => this.store.queueSize(q)));
    return { ...s, queues: queues.length, workers: workers.length, pending: sizes.reduce((a, b) => a + b, 0) };
  }

  /** Registered workers (Ruby's, node-resque's and ours) with what each works on. */
  async workers(): Promise<Array<{ id: string; job: unknown }>> {
    const ids = await this.store.workerIds();
    return await Promise.all(ids.map(async (id) => ({ id, job: safeParse((await this.store.workingOn(id)) ?? 'null') })));
  }

  /** Registered worker ids (Ruby's, node-resque's and ours), sorted. */
  async workerIds(): Promise<string[]> {
    return await this.store.workerIds();
  }

  /** How many workers are registered (SCARD): the workers page counts before it reads a page. */
  async workerCount(): Promise<number> {
    return await this.store.workerCount();
  }

  /**
   * Why: a dashboard shows 50 of 100s of workers; it reads only those: each one's job (parsed,
   * null when idle), its start and last heartbeat as Resque wrote them, its processed/failed counts.
   */
  async workerDetails(ids: readonly string[]): Promise<WorkerDetail[]> {
    return (await this.store.workerDetails(ids)).map((d) => ({ ...d, workingOn: d.workingOn === null ? null : safeParse(d.workingOn) }));
  }

  async pauseAll(): Promise<void> {
    await this.store.setPauseAll(true);
  }

  async resumeAll(): Promise<void> {
    await this.store.setPauseAll(false);
  }

  /**
   * Why: the master that saw a worker process exit knows it is dead; its in-flight jobs go back
   * to the head of their queues at once (no waiting for the owner lock to expire) and its Resque
   * registration goes. Returns how many jobs were put back.
   */
  async recoverWorker(workerId: string): Promise<number> {
    let requeued = 0;
    for (const id of await this.store.slotIdsOf(workerId)) {
      const r = await this.store.recover(id, true, this.maxRecoveries);
      requeued += r?.requeued ?? 0;
    }
    return requeued;
  }

  /**
   * Why: a master that stopped a job from outside (it ran past its timeout while blocking its
   * worker's event loop) records it as failed, so it is not recovered and run again. Atomically
   * removes the job with id `jobId` (the `jobId` of the worker's `job` event: sha1 hex of the
   * payload bytes) from slot `workerId`'s inflight list (`workerId` of that event), pushes a Ruby
   * Resque failure record (`exception`, e.g. `Resque::JobTimeout`, and `error` as given; empty
   * backtrace; this worker and queue; the payload byte for byte) and counts it as Ruby counts a
   * job that raised (`stat:processed` and `stat:failed`, global and the slot's). The slot's other
   * jobs stay for `recoverWorker(workerId)`, to be called afterwards once the worker is gone.
   * False when the slot does not hold the job (acknowledged, given back or recovered already).
   */
  async failInflight(workerId: string, jobId: string, failure: { exception: string; error: string }): Promise<boolean> {
    return await this.store.failInflight(workerId, jobId, failure, new Date());
  }

  /**
   * Why: a worker whose event loop is blocked cannot renew its leases, and its jobs would be
   * recovered and run again elsewhere while it still runs them. A master that sees the process
   * alive keeps them: extends to at least `ttlMs` the owner lock of each slot id that still has
   * one (pass every slot id: the worker's `ids`), and refreshes their Resque heartbeats. A lock
   * that is gone is never set again. Returns the ids whose lock was gone (their jobs may have
   * been recovered already). The worker, seeing its locks held, checks Redis instead of its own
   * clock before it gives up a job after its loop was blocked.
   */
  async holdLocks(workerIds: readonly string[], ttlMs: number): Promise<string[]> {
    if (!Number.isFinite(ttlMs) || ttlMs < 1 || ttlMs > 2 ** 31 - 1) {
      throw new RangeError(`Expected \`ttlMs\` to be between 1 and ${2 ** 31 - 1}, got \`${String(ttlMs)}\``);
    }
    return await this.store.holdLocks(workerIds, ttlMs);
  }

  close(): Promise<void> {
    this.closing ??= closeRedis(this.redis);
    return this.closing;
  }
}

function safeParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
