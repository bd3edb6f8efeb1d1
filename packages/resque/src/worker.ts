import { EventEmitter } from 'node:events';
import { hostname as osHostname } from 'node:os';
import type { Redis } from 'ioredis';
import { assertClusterNamespace, closeRedis, createRedis, dropRedis, isClusterInput, validateRedisInput, type RedisInput } from './connect-options.js';
import { DataStore, type Settled } from './data-store.js';
import { DurabilityError, resolveDurability, type DurabilityOptions } from './durability.js';
import { FinalWrites } from './final-writes.js';
import { Grace } from './grace.js';
import { Janitor } from './janitor.js';
import {
  AbortJobError,
  Context,
  ReservedJob,
  runHandler,
  runInJob,
  sendable,
  snapshotOf,
  type Failure,
  type InFlightJob,
  type JobFailure,
  type JobHandler,
  type JobHooks,
  type WorkerLogger,
} from './job.js';
import { Lease } from './lease.js';
import { decodeJob, describeThrown, encodeFailure } from './payload.js';
import { isDynamic, resolveQueues } from './queues.js';
import { ReserveBatcher } from './reserve-batcher.js';
import { defineScripts } from './scripts.js';
import { Slot, type Finished, type Held, type Running, type SlotEvents } from './slot.js';
import { Backoff, classifyRedisError, Trouble, type RedisTrouble } from './trouble.js';
import { Waker } from './waker.js';
import { attemptsSummary, resolveJobs, retryDelayMs, retryStateOf, shouldRetry, type JobDefinition, type ResolvedJob } from './retry.js';
import { formatFailedAt } from './time.js';
import { formatWorkerId } from './worker-id.js';
import { createStopper, delay, isThenable, messageOf, noop, retry } from './_utils.js';

export { AbortJobError, currentJob, type InFlightJob, type JobContext, type JobFailure, type JobHandler, type WorkerLogger } from './job.js';

export interface WorkerHooks extends JobHooks {
  /** Once the worker is registered and about to take jobs. */
  workerStart?(worker: Worker): unknown;
  /** After the worker has unregistered. */
  workerExit?(worker: Worker): unknown;
}

export interface WorkerOptions {
  /** Redis URL, ioredis options (Sentinel too), a Cluster spec `{ cluster: [...] }`, or a Redis client (its options are copied). Default `REDIS_URL` or `redis://127.0.0.1:6379`. */
  redis?: RedisInput;
  /** Key namespace; default `resque`. With Redis Cluster it must be hash-tagged, e.g. `{resque}`. */
  namespace?: string;
  /** Resque priority list: names, globs (`*`, `high_*`) and `!exclusions`. Default `['*']`. */
  queues?: string[];
  /** Resque class name → handler, or `{ perform, retry }` (retries with backoff through the delayed queue; README). */
  jobs: Record<string, JobDefinition>;
  /** Jobs in flight at once in this process; default 1 (Resque's model). Slot k > 0 registers as `host:pid+k:queues`. */
  concurrency?: number;
  /**
   * At concurrency 1, the most jobs reserved in one call when jobs are short (default 16; 1:
   * always one job per reserve, as Ruby Resque). The batch grows while jobs average under 1 ms
   * and drops to one job as soon as they do not; jobs still run one at a time, each stays
   * recoverable until acknowledged, and jobs not started within 20 ms go back to the head of
   * their queue. At concurrency > 1, slots freed in the same tick already share one call.
   */
  prefetch?: number;
  /**
   * Seconds between polls, Resque's `INTERVAL`. When unset, idle workers are woken within
   * milliseconds by our producers (pub/sub) and still poll (backing off to 1 s) for jobs
   * pushed by other producers.
   */
  interval?: number;
  hostname?: string;
  pid?: number;
  logger?: WorkerLogger;
  hooks?: WorkerHooks;
  /** Owner-lock lifetime: a dead or frozen worker's job is recovered by others this long after its last renewal. Default 10000. */
  lockTtlMs?: number;
  /** A job that killed this many workers goes to `failed` instead of back to its queue. Default 3. */
  maxRecoveries?: number;
  /** How often the Resque heartbeat is written (Ruby prunes after 300 s without one). Default 30000. */
  heartbeatMs?: number;
  /**
   * How long a stop waits for Redis to take its final writes once no job handler runs any more
   * (acknowledgements of finished jobs, give-backs, the unregistration). Past it the stop ends
   * anyway (said once, `warn`): what was not written stays in the slots' in-flight lists with
   * their registration, and is recovered like a dead worker's jobs — by `Queue.recoverWorker`
   * (resque-starter's master, when the process exits) or by another worker's janitor once the
   * owner lock has lapsed (`lockTtlMs`). A job that finished but whose acknowledgement was not
   * written runs again: at least once, never lost. Default 10000.
   */
  stopRedisTimeoutMs?: number;
  /**
   * A supervisor keeps this worker's owner locks while it sees the process alive
   * (`Queue.holdLocks` at least every `lockTtlMs / 3`, as resque-starter's master does). The
   * worker then trusts it from the start: after its event loop was blocked past the lock
   * lifetime, it asks Redis whether a slot was recovered before it aborts that slot's job,
   * instead of aborting every job at once. Either way the worker also learns it from the locks
   * themselves (a held lock reads `held <id>` at its next renewal), and stops trusting it once
   * no renewal has found a held lock for `lockTtlMs` (the supervisor is gone). Default false.
   */
  leasesHeldByMaster?: boolean;
  /**
   * Wait for replicas after each reserve and acknowledgement (Redis `WAIT`), so a failover that
   * promotes a replica neither runs a reserved job again nor loses an acknowledgement. A
   * shortfall is logged once while it lasts (the `redis` event, `replication`); with
   * `onShortfall: 'warn'` (the default) the worker carries on, with `'error'` it WAITs again
   * (backing off to 1 s) and starts the job, or counts the acknowledgement, only once the
   * replicas have it (no progress without replicas; a stop ends the wait). Not with Redis
   * Cluster. Default: none.
   */
  durability?: DurabilityOptions;
}


export type WorkerState = 'starting' | 'idle' | 'busy' | 'paused' | 'stopping' | 'stopped';

/** Typed events, each documented. */
export interface WorkerEvents {
  /** Registered and taking jobs. */
  ready: [];
  /**
   * A job was reserved and its handler is about to run: emitted synchronously, right before the
   * handler (or the `beforePerform` hook) is called, in the same tick.
   */
  job: [InFlightJob];
  /**
   * A job's handler has settled (the failure undefined on success): emitted synchronously, before
   * its acknowledgement and before this worker makes any other reserve call or starts any other
   * job. A listener that calls `stop({ graceful: true })` then is sure no further job starts here:
   * this one is still acknowledged once (then `success`/`failure`), jobs reserved with it go back
   * to the head of their queues in order. Not emitted for a job given back by a stop.
   */
  finished: [InFlightJob, JobFailure | undefined];
  /** A job finished and was acknowledged. */
  success: [InFlightJob, unknown];
  /** A job's attempt failed and it will run again at `at` (its `retry` options): it waits in the delayed queue. */
  retry: [InFlightJob, unknown, Date];
  /** A job failed; its failure record is in `failed`. */
  failure: [InFlightJob, unknown];
  /** The job was recovered by someone else while this worker was frozen; its outcome was dropped. */
  lost: [InFlightJob];
  /** A job was put back at the head of its queue (fast stop). */
  requeued: [InFlightJob];
  /** Every slot is idle (after having been busy). */
  idle: [];
  paused: [];
  resumed: [];
  /** A dead worker's jobs were recovered by this one. */
  recovered: [string, { requeued: number; failed: number }];
  /**
   * Connection or Redis trouble; never fatal: the worker retries with backoff. Only emitted if
   * listened to, and once per condition (the first error of an outage or a refusal to write;
   * the others go to the logger at debug until the condition ends: see `redis`).
   */
  error: [Error];
  /**
   * A Redis condition started (`down`: unreachable, writes refused, a slot busy, replication
   * short) or ended (`up`, with its length in ms): once each, also logged once each (warn, info).
   */
  redis: [RedisTrouble];
  stopped: [];
}

const MIN_POLL_MS = 10;
const MAX_POLL_MS = 1000;
/** Jobs of a batch not started this long after the batch was reserved go back to the head of their queue. */
const PREFETCH_HOLD_MS = 20;
/** The largest `prefetch`: one script call moves at most this many jobs (Lua's unpack has a limit near 8000 values). */
export const MAX_PREFETCH = 1000;
const silent: WorkerLogger = { debug: noop, info: noop, warn: noop, error: noop };

/**
 * Why: a Resque worker that never loses a job: atomic reserve into a per-slot inflight list,
 * atomic acknowledge that checks ownership, owner locks that let any live worker recover a
 * dead one, and Resque's registration, heartbeat, stats and failure records byte for byte.
 * This class runs the slots' loops and the public API; what a slot holds is its `Slot`'s, the
 * owner locks are the `Lease`'s, recoveries the `Janitor`'s, reserve calls the `ReserveBatcher`'s,
 * wake-ups the `Waker`'s.
 */
export class Worker extends EventEmitter<WorkerEvents> {
  readonly id: string;
  readonly queues: readonly string[];
  readonly store: DataStore;
  processed = 0;
  failed = 0;
  private readonly redis: Redis;
  private readonly opts: Required<Pick<WorkerOptions, 'concurrency' | 'prefetch' | 'lockTtlMs' | 'maxRecoveries' | 'heartbeatMs'>> & WorkerOptions;
  private readonly log: WorkerLogger;
  private readonly dynamic: boolean;
  private phase: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private pausedLocal = false;
  private pausedAll = false;
  private wasBusy = false;
  private stopping: Promise<void> | undefined;
  /** Aborted once a stop no longer waits for the slots: ends every sleep and timer of this worker. */
  private readonly stopper = createStopper();
  private readonly grace = new Grace(this.stopper.signal);
  private readonly waker = new Waker(this.stopper.signal);
  private readonly lease: Lease;
  private readonly janitor: Janitor;
  private readonly batcher: ReserveBatcher;
  private readonly slots: Slot[];
  private readonly trouble: Trouble;
  /**
   * With `durability`, lock renewals go over a connection of their own: a WAIT blocks its
   * connection up to its timeout (again and again while replicas are short), and renewals queued
   * behind it would let the locks lapse (the jobs would be aborted and run again).
   */
  private readonly leaseRedis: Redis | undefined;
  private readonly jobs: Map<string, ResolvedJob>;
  /** A stop's deadline for its Redis writes (see `stopRedisTimeoutMs`). */
  private readonly finalWrites: FinalWrites;
  /** Ends the retries of a give-back: a stop, or the stop giving up on Redis. */
  private get retrySignal(): AbortSignal {
    return (this.#retrySignal ??= AbortSignal.any([this.stopper.signal, this.finalWrites.signal]));
  }
  #retrySignal: AbortSignal | undefined;
  /** Job handlers running now (a stop's deadline for Redis starts when none is). */
  private running = 0;

  constructor(options: WorkerOptions) {
    super();
    this.opts = { concurrency: 1, prefetch: 16, lockTtlMs: 10_000, maxRecoveries: 3, heartbeatMs: 30_000, ...options };
    for (const name of ['concurrency', 'prefetch'] as const) {
      if (!Number.isInteger(this.opts[name]) || this.opts[name] < 1) {
        throw new TypeError(`Expected the \`${name}\` option to be a positive integer, got \`${String(options[name])}\``);
      }
    }
    if (this.opts.prefetch > MAX_PREFETCH) {
      throw new TypeError(`Expected the \`prefetch\` option to be at most ${MAX_PREFETCH}, got \`${this.opts.prefetch}\``);
    }
    this.jobs = resolveJobs(options.jobs);
    this.queues = options.queues?.length ? [...options.queues] : ['*'];
    this.dynamic = isDynamic(this.queues);
    this.log = options.logger ?? silent;
    const host = options.hostname ?? osHostname();
    const pid = options.pid ?? process.pid;
    const ids = Array.from({ length: this.opts.concurrency }, (_, i) => formatWorkerId(host, pid, this.queues, i));
    this.id = ids[0]!;
    this.trouble = new Trouble({ id: this.id, log: this.log, emit: (t) => this.emit('redis', t) });
    validateRedisInput(options.redis);
    if (isClusterInput(options.redis)) assertClusterNamespace(options.namespace ?? 'resque');
    const durability = resolveDurability(options.durability, options.redis, 'warn');
    this.redis = createRedis(options.redis, `baton-resque:worker:${this.id}`);
    this.redis.on('error', this.reportError);
    // A reconnection (a failover, a restart) disturbs the locks of every worker: the janitor waits.
    this.redis.on('reconnecting', () => this.trouble.touch());
    defineScripts(this.redis);
    this.store = new DataStore(
      this.redis,
      options.namespace,
      durability && {
        ...durability,
        replicated: (acked) => {
          if (acked >= durability.replicas) return this.trouble.clear('replication');
          const err = new DurabilityError(acked, durability.replicas, durability.timeoutMs);
          if (this.trouble.report('replication', err.message) && durability.onShortfall === 'error' && this.listenerCount('error') > 0) this.emit('error', err);
        },
        // 'error': a job starts, and an acknowledgement counts, only once replicated (not while stopping).
        insist: () => durability.onShortfall === 'error' && this.phase === 'running',
      },
    );
    const { lockTtlMs, maxRecoveries, heartbeatMs } = this.opts;
    this.finalWrites = new FinalWrites(options.stopRedisTimeoutMs ?? 10_000, () => this.giveUpOnRedis());
    if (durability) {
      this.leaseRedis = createRedis(options.redis, `baton-resque:lease:${this.id}`);
      this.leaseRedis.on('error', this.reportError);
      defineScripts(this.leaseRedis);
    }
    const leaseStore = this.leaseRedis ? new DataStore(this.leaseRedis, options.namespace) : this.store;
    // Renewals go on through a graceful stop while it waits for jobs (a job longer than the lock
    // lifetime must not be recovered by another worker meanwhile), until the slots are released.
    const isRunning = () => this.phase === 'running' || (this.phase === 'stopping' && !this.stopper.signal.aborted);
    this.lease = new Lease(
      { id: this.id, ids, log: this.log, store: leaseStore, isRunning, interruptLapsed: (ms, lapsed) => this.interruptLapsed(ms, lapsed) },
      { lockTtlMs, heartbeatMs, heldByMaster: options.leasesHeldByMaster ?? false },
    );
    this.janitor = new Janitor(
      {
        ids,
        log: this.log,
        store: this.store,
        isStopping: () => this.phase === 'stopping' || this.phase === 'stopped',
        quietFor: () => this.trouble.quietFor(),
        recovered: (id, r) => this.emit('recovered', id, r),
      },
      { lockTtlMs, maxRecoveries },
    );
    this.batcher = new ReserveBatcher(
      { store: this.store, queues: () => this.reserveQueues(), lockTtlArg: () => this.lease.lockTtlArg() },
      { slots: ids.length, prefetch: this.opts.prefetch },
    );
    const events: SlotEvents = { settled: (f, acked) => this.settled(f, acked), gaveBackUnstarted: () => this.batcher.shrink(), error: this.reportError };
    this.slots = ids.map((id) => new Slot(id, this.batcher, events, { holdMs: PREFETCH_HOLD_MS, signal: this.stopper.signal }));
  }

  get state(): WorkerState {
    if (this.phase === 'new' || this.phase === 'starting') return 'starting';
    if (this.phase === 'stopping' || this.phase === 'stopped') return this.phase;
    if (this.slots.some((s) => s.job)) return 'busy';
    return this.pausedLocal || this.pausedAll ? 'paused' : 'idle';
  }

  /** Jobs in flight now (plain copies: `bytes` and `jobId` included). */
  get current(): InFlightJob[] {
    return this.slots.flatMap((s) => (s.job ? [snapshotOf(s.job.pub)] : []));
  }

  /** Worker ids of every slot (one per unit of concurrency). */
  get ids(): string[] {
    return this.slots.map((s) => s.id);
  }

  /**
   * Connects, registers every slot, recovers dead workers, then starts taking jobs. While Redis is
   * unreachable or refuses writes (a failover, `NOREPLICAS`) it waits, backed off and said once;
   * other errors reject it.
   */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error('worker already started');
    this.phase = 'starting';
    try {
      let sentAt = 0;
      await this.untilWritten(() => {
        sentAt = performance.now();
        return this.store.registerWorkers(this.ids, this.opts.lockTtlMs);
      });
      this.lease.registered(sentAt);
      if (this.opts.interval === undefined) {
        await this.waker.subscribe(() => createRedis(this.opts.redis, `baton-resque:wake:${this.id}`), this.store.keys.wakeChannel, this.reportError);
      }
      await this.untilWritten(() => this.janitor.sweep());
    } catch (err) {
      // stop() during start closed the connection under it: that is the stop, not a failure to start.
      if (this.phase === 'starting') throw err;
    }
    if (this.phase !== 'starting') {
      this.waker.close(); // subscribed after the stop had disconnected it
      return;
    }
    this.phase = 'running';
    this.lease.run(this.stopper.signal, this.reportError);
    this.janitor.run(this.stopper.signal, this.reportError);
    await this.opts.hooks?.workerStart?.(this);
    for (const slot of this.slots) slot.run((s) => this.runSlot(s));
    const prefetch = this.slots.length === 1 && this.opts.prefetch > 1 ? `, prefetch up to ${this.opts.prefetch} short jobs` : '';
    this.log.info(`worker ${this.id} started (queues ${this.queues.join(',')}, concurrency ${this.opts.concurrency}${prefetch})`);
    this.emit('ready');
  }

  /** USR2: finish what runs, take nothing new. */
  pause(): void {
    if (this.pausedLocal) return;
    this.pausedLocal = true;
    this.emit('paused');
  }

  /** CONT. */
  resume(): void {
    if (!this.pausedLocal) return;
    this.pausedLocal = false;
    this.emit('resumed');
    this.waker.wake();
  }

  /** USR1: abort the jobs in flight (they fail with what their handler throws); keep working. */
  abortCurrentJobs(): void {
    for (const s of this.slots) s.job?.ctx?.abort(new AbortJobError('job aborted (USR1)'));
  }

  /**
   * QUIT (`graceful: true`): take nothing new, finish the jobs in flight, unregister.
   * TERM (`graceful: false`): abort the jobs in flight through their AbortSignal, wait up to
   * `graceMs` (default 5000), put whatever did not finish back at the head of its queue,
   * unregister. Every call returns the same promise; a fast stop after a graceful one (or after
   * a fast one with a longer grace) upgrades it: the jobs are aborted and the grace, counted from
   * this call, applies.
   */
  stop({ graceful = true, graceMs = 5000 }: { graceful?: boolean; graceMs?: number } = {}): Promise<void> {
    if (!graceful) this.grace.shorten(graceMs);
    this.stopping ??= this.shutdown();
    if (!graceful) this.interruptAll();
    return this.stopping;
  }

  // --- internal ---

  /**
   * A start-up write (the registration, the first sweep's recoveries) waits out a Redis that
   * refuses writes (NOREPLICAS while a replica is missing, READONLY in a failover) as the slots'
   * loops do: backed off with jitter, said once when it starts and once when it ends. Any other
   * error fails the start, and so does a stop meanwhile (which `start` then ignores).
   */
  private async untilWritten(write: () => Promise<void>): Promise<void> {
    const backoff = new Backoff();
    for (;;) {
      try {
        await write();
        if (backoff.attempts > 0) this.trouble.ok();
        return;
      } catch (err) {
        if (this.phase !== 'starting' || classifyRedisError(err) === 'redis-error') throw err;
        this.reportError(err as Error);
        await delay(backoff.next(), this.stopper.signal);
        if (this.phase !== 'starting') throw err;
      }
    }
  }

  private async shutdown(): Promise<void> {
    const wasRunning = this.phase === 'running';
    if (!wasRunning) this.grace.settle();
    this.phase = 'stopping';
    this.waker.wake();
    if (this.running === 0) this.finalWrites.arm();
    const errors: unknown[] = [];
    if (wasRunning) await this.drainSlots(errors);
    // Nothing waits for a slot any more: renewals, the janitor, the grace, hold timers and retries end.
    this.stopper.abort();
    // A final write like the acknowledgements: retried (backed off, said once) while Redis refuses
    // writes, until the stop's deadline for Redis; past it the registration stays, recovered with the jobs.
    if (!this.finalWrites.gaveUp) {
      try {
        await retry(() => this.store.unregisterWorkers(this.ids), { signal: this.finalWrites.signal, onError: this.reportError });
      } catch (err) {
        if (!this.finalWrites.gaveUp) errors.push(err);
      }
    }
    this.finalWrites.dispose();
    try {
      await this.opts.hooks?.workerExit?.(this);
    } catch (err) {
      errors.push(err);
    }
    this.waker.close();
    // Given up on: already dropped (a QUIT would wait for a reconnection).
    if (!this.finalWrites.gaveUp) await Promise.all([closeRedis(this.redis), this.leaseRedis && closeRedis(this.leaseRedis)]);
    this.phase = 'stopped';
    this.log.info(`worker ${this.id} stopped`);
    this.emit('stopped');
    if (errors.length) throw new AggregateError(errors, `worker ${this.id} stopped with ${errors.length} error(s)`);
  }

  /**
   * Until every slot's loop ends (graceful), or the grace of a fast stop, asked now or later, runs
   * out; then the jobs of handlers that ignored the abort go back now (their late outcome is
   * dropped). A slot whose job has finished is waiting on Redis (its acknowledgement is in flight,
   * or being retried): it ends by itself once Redis answers, and must, before unregistering.
   */
  private async drainSlots(errors: unknown[]): Promise<void> {
    await Promise.race([Promise.all(this.slots.map((s) => s.loop)), this.grace.over]);
    this.grace.settle();
    // The handlers still running ignored their abort and are abandoned: only Redis is waited for now.
    this.finalWrites.arm();
    const waiting: Array<Promise<void> | undefined> = [];
    for (const slot of this.slots) {
      const job = slot.job;
      if (!job || job.finished) {
        waiting.push(slot.loop);
        continue;
      }
      try {
        if (await slot.abandon()) this.emit('requeued', job.pub);
      } catch (err) {
        if (!this.finalWrites.gaveUp) errors.push(err);
      }
    }
    await Promise.all(waiting);
  }

  /**
   * The stop's deadline for Redis passed (`stopRedisTimeoutMs`): say what stays behind, and drop
   * the connections, which rejects every write still pending (the slots' loops then end).
   */
  private giveUpOnRedis(): void {
    const unacked = this.slots.reduce((n, s) => n + s.finished, 0);
    const held = this.slots.reduce((n, s) => n + s.held, 0);
    this.log.warn(
      `worker ${this.id}: Redis did not take the stop's last writes within ${this.opts.stopRedisTimeoutMs ?? 10_000} ms; stopping without them: ` +
        `${unacked} finished job(s) not acknowledged and ${held - unacked} other job(s) stay in its in-flight lists, with its registration, ` +
        'to be recovered (and run again) like a dead worker\'s',
    );
    const why = `the stop gave up on Redis after ${this.opts.stopRedisTimeoutMs ?? 10_000} ms`;
    dropRedis(this.redis, why);
    if (this.leaseRedis) dropRedis(this.leaseRedis, why);
  }

  /**
   * The slots' jobs may be running elsewhere: their slot was recovered (registration gone), or,
   * with Redis unreachable, no renewal was confirmed for longer than the lock lifetime. Stop ours
   * the way a fast stop does: if the slot still holds the job it goes back to the head of its
   * queue, else nothing is written.
   */
  private interruptLapsed(ms: number, ids?: readonly string[]): void {
    for (const s of this.slots) {
      const job = s.job;
      if (!job || job.interrupted || (ids && !ids.includes(s.id))) continue;
      this.log.warn(
        `worker ${s.id} renewed no lock for ${(ms / 1000).toFixed(1)}s (lock lifetime ${this.opts.lockTtlMs / 1000}s; frozen or cut off from Redis): ` +
          `aborting its job ${job.pub.payload?.class ?? '(bad payload)'}, which another worker may have taken over`,
      );
      s.interrupt(new AbortJobError('the owner lock lapsed: another worker may run this job now'));
    }
  }

  private interruptAll(): void {
    for (const s of this.slots) {
      if (s.job) s.interrupt(new AbortJobError('worker is shutting down (TERM)'));
    }
  }

  /** The queues to reserve from now, in priority order; none while paused or stopping (acknowledge only). */
  private reserveQueues(): readonly string[] | Promise<readonly string[]> {
    if (this.phase !== 'running' || this.pausedLocal) return [];
    return this.dynamic ? this.store.queueNames().then((known) => resolveQueues(this.queues, known)) : this.queues;
  }

  private async runSlot(slot: Slot): Promise<void> {
    let pollMs = MIN_POLL_MS;
    // Every retry of this slot (errors, write refusals, a busy list) waits longer each time.
    const backoff = new Backoff();
    for (;;) {
      if (slot.giving) await slot.giving;
      const taking = this.phase === 'running' && !this.pausedLocal;
      // Reserved with the others of its batch: it starts without a round trip. When the owner
      // locks may have lapsed (a freeze, a Redis stall), they are renewed first (one renewal for
      // every slot), not given back and reserved again until the next periodic renewal; a slot
      // that renewal found recovered by another worker starts none (its next call drops them).
      if (taking && slot.hasNext) {
        if (!this.lease.fresh) await this.lease.refresh().catch(this.reportError);
        if (this.lease.fresh && !this.lease.takeLost(slot.id)) {
          await this.perform(slot, slot.startNext());
          continue;
        }
      }
      if (!taking && slot.held === 0) {
        if (this.phase !== 'running') break;
        await this.waker.wait(MAX_POLL_MS);
        continue;
      }
      let res: Settled;
      try {
        // One call per batch: the finished jobs' acknowledgements ride on the next reserve, and
        // jobs reserved but not started (paused or stopping meanwhile) go back with it.
        res = await slot.sync(taking ? this.batcher.want(slot.finished) : 0);
      } catch (err) {
        this.reportError(err as Error);
        // Stopped, or the stop gave up on Redis (stopRedisTimeoutMs): what the slot holds stays in
        // its inflight list, for the master or the owner lock's expiry to recover.
        if (this.phase === 'stopped' || this.stopper.signal.aborted || this.finalWrites.gaveUp) break;
        // An acknowledgement must land: retry it, backing off (commands also wait for a reconnection in ioredis).
        await delay(backoff.next(), this.stopper.signal);
        continue;
      }
      const next = res.next;
      if (next.kind !== 'busy') {
        backoff.reset();
        this.trouble.ok();
      }
      if (next.kind === 'job') {
        // Not started here when pause() or stop() came meanwhile: the next call gives them back.
        this.batcher.reserved();
        pollMs = MIN_POLL_MS;
        this.setPausedAll(false);
        continue;
      }
      if (this.phase !== 'running') continue;
      if (next.kind === 'busy') {
        // A previous process with our pid left a job here: recover it, then register again. Once
        // is expected; again and again is trouble (writes refused in between): backed off, told once.
        if (backoff.attempts > 0) this.trouble.report('busy', `slot ${slot.id} still holds jobs it did not reserve after ${backoff.attempts} recover(s)`);
        await this.store.recover(slot.id, true, this.opts.maxRecoveries).catch(this.reportError);
        await this.store.registerWorker(slot.id, this.opts.lockTtlMs).catch(this.reportError);
        await delay(backoff.next(), this.stopper.signal);
        continue;
      }
      this.setPausedAll(next.kind === 'paused');
      if (this.wasBusy && this.slots.every((s) => !s.job)) {
        this.wasBusy = false;
        this.emit('idle');
      }
      if (this.opts.interval !== undefined) await this.waker.wait(this.opts.interval * 1000);
      else {
        await this.waker.wait(pollMs);
        pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
      }
    }
  }

  /** Runs the slot's next job; its acknowledgement goes with the slot's next call, unless it went back to its queue. */
  private async perform(slot: Slot, { queue, raw }: Held): Promise<void> {
    const text = typeof raw === 'string' ? raw : raw.toString();
    const decoded = decodeJob(text);
    const payload = decoded.ok ? decoded.payload : undefined;
    const pub = new ReservedJob(queue, payload, text, raw, slot.id);
    const ctx = payload ? new Context(queue, payload, slot.id, this.log) : undefined;
    const job = slot.begin(pub, ctx);
    this.wasBusy = true;
    this.running++;
    try {
      this.emit('job', pub);
    } catch (err) {
      this.handlerEnded();
      throw err;
    }
    let failure: Failure | undefined;
    let result: unknown;
    if (!decoded.ok) {
      failure = { exception: decoded.exception, error: decoded.error, backtrace: [], thrown: new Error(decoded.error) };
    } else if (ctx) {
      const handler = this.jobs.get(ctx.className)?.perform;
      if (typeof handler !== 'function') {
        failure = { exception: 'NameError', error: `uninitialized constant ${ctx.className}`, backtrace: [], thrown: new Error(`no job named ${ctx.className}`) };
      } else {
        try {
          // A handler that returns a plain value is not awaited (one microtask less per job).
          const r = runHandler(ctx, this.opts.hooks, handler);
          result = isThenable(r) ? await r : r;
        } catch (thrown) {
          failure = { ...describeThrown(thrown), thrown };
          if (!job.interrupted) await this.onFailure(thrown, ctx);
        }
      }
    }
    this.handlerEnded();
    if (job.abandoned) slot.release(); // a fast stop already gave the job back
    else if (job.interrupted && failure) await this.giveBackInterrupted(slot, pub, sendable(raw, text));
    else this.finish(slot, job, failure, result, sendable(raw, text));
  }

  /** A handler settled: a stopping worker with none running any more waits for Redis only (its deadline starts). */
  private handlerEnded(): void {
    this.running--;
    if (this.running === 0 && this.phase === 'stopping') this.finalWrites.arm();
  }

  private async onFailure(thrown: unknown, ctx: Context): Promise<void> {
    try {
      await runInJob(ctx, () => this.opts.hooks?.onFailure?.(thrown, ctx));
    } catch (err) {
      this.log.warn(`onFailure hook of ${ctx.className} threw: ${messageOf(err)}`);
    }
  }

  /**
   * TERM (or a lapsed lock) interrupted the job: not a failure of the job; it goes back to the
   * head of its queue, unless another worker has recovered it meanwhile.
   */
  private async giveBackInterrupted(slot: Slot, pub: InFlightJob, raw: string | Buffer): Promise<void> {
    try {
      if (await retry(() => slot.giveBack(raw), { signal: this.retrySignal, onError: this.reportError })) this.emit('requeued', pub);
      else this.reportLost(pub);
    } catch (err) {
      // The stop gave up on Redis: the job stays in the slot's inflight list, to be recovered.
      if (!this.finalWrites.gaveUp) throw err;
    } finally {
      slot.release();
    }
  }

  /** The job ran: tell `finished` listeners before the acknowledgement and before anything else of this worker runs (see the event). */
  private finish(slot: Slot, job: Running, failure: Failure | undefined, result: unknown, raw: string | Buffer): void {
    let record: string | Buffer | undefined;
    let retryAt: Date | undefined;
    if (failure) ({ record, retryAt } = this.failureOf(slot, job, failure, raw));
    slot.finish(job, { ack: { raw, failure: record }, job: job.pub, failure, result, ...(retryAt && { retryAt }) });
    if (this.listenerCount('finished') > 0) {
      try {
        this.emit('finished', job.pub, failure && { exception: failure.exception, error: failure.error, thrown: failure.thrown });
      } catch (err) {
        this.log.warn(`a 'finished' listener threw: ${messageOf(err)}`);
      }
    }
  }

  /**
   * A failed attempt's acknowledgement: its retry (`@<due ms>:<delayed payload>`, which the ack
   * script puts in the delayed queue, lua/include/ack.lua) when its class's `retry` options say
   * so, else its Resque failure record, which for a class with `retry` options sums up every
   * attempt's error in its backtrace.
   */
  private failureOf(slot: Slot, job: Running, failure: Failure, raw: string | Buffer): { record: string | Buffer; retryAt?: Date } {
    const now = new Date();
    const options = job.ctx && this.jobs.get(job.ctx.className)?.retry;
    let backtrace = failure.backtrace;
    if (options && job.ctx) {
      const state = retryStateOf(job.ctx.payload);
      if (shouldRetry(options, state.attempt, failure.exception, failure.thrown)) {
        const at = new Date(now.getTime() + retryDelayMs(options, state.attempt));
        const errors = [...state.errors, { at: formatFailedAt(now), exception: failure.exception, error: failure.error }];
        const item = JSON.stringify({ class: job.ctx.className, args: job.ctx.args, queue: job.pub.queue, baton_retry: { attempt: state.attempt + 1, errors } });
        return { record: `@${at.getTime()}:${item}`, retryAt: at };
      }
      const last = `attempt ${state.attempt} of ${state.attempt} failed at ${formatFailedAt(now)}: ${failure.exception}: ${failure.error}`;
      backtrace = [...attemptsSummary(state, state.attempt), last, ...backtrace];
    }
    return { record: encodeFailure({ failedAt: now, raw, exception: failure.exception, error: failure.error, backtrace, worker: slot.id, queue: job.pub.queue }) };
  }

  /** After the acknowledgement: count it and tell listeners (or report the job as lost). */
  private settled(f: Finished, acked: boolean): void {
    if (!acked) {
      this.reportLost(f.job);
      return;
    }
    this.processed++;
    if (f.failure && f.retryAt) {
      this.failed++;
      this.emit('retry', f.job, f.failure.thrown, f.retryAt);
    } else if (f.failure) {
      this.failed++;
      this.emit('failure', f.job, f.failure.thrown);
    } else {
      this.emit('success', f.job, f.result);
    }
  }

  private reportLost(job: InFlightJob): void {
    this.log.warn(`job ${job.payload?.class ?? '(bad payload)'} on ${job.queue} was recovered by another worker while ${job.workerId} was not renewing its lock; its outcome is dropped`);
    this.emit('lost', job);
  }

  private setPausedAll(paused: boolean): void {
    if (paused === this.pausedAll) return;
    this.pausedAll = paused;
    this.emit(paused ? 'paused' : 'resumed');
  }

  /** Every Redis error: counted against its condition; logged and told to `error` listeners once per condition. */
  private readonly reportError = (err: Error): void => {
    const first = this.trouble.report(classifyRedisError(err), messageOf(err));
    if (first && this.listenerCount('error') > 0) this.emit('error', err);
  };
}
