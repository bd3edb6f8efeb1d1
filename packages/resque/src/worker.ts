import { AsyncLocalStorage } from 'node:async_hooks';
import { isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { hostname as osHostname } from 'node:os';
import type { Redis } from 'ioredis';
import { createRedis, type RedisInput } from './connection.js';
import { DataStore, EMPTY, type Ack, type Payload, type Reserved, type Settled } from './data-store.js';
import { decodeJob, describeThrown, encodeFailure, jobIdOf, type JobPayload } from './payload.js';
import { isDynamic, resolveQueues } from './queues.js';
import { defineScripts } from './scripts.js';
import { formatWorkerId } from './worker-id.js';

/** What a handler sees as `this`, and what `currentJob()` returns inside it. */
export interface JobContext {
  /** Aborted on a fast stop (TERM) or `abortCurrentJobs()` (USR1); pass it to fetch, timers, child processes. */
  readonly signal: AbortSignal;
  readonly queue: string;
  readonly payload: JobPayload;
  readonly className: string;
  readonly args: unknown[];
  readonly workerId: string;
  readonly log: WorkerLogger;
}

/** A job handler: called with the payload's args spread, like Ruby's `perform(*args)`. */
export type JobHandler = (this: JobContext, ...args: any[]) => unknown;

export interface WorkerLogger {
  debug(...a: unknown[]): void;
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
}

export interface WorkerHooks {
  /** Before each job; throwing fails the job without running it. */
  beforePerform?(ctx: JobContext): unknown;
  /** Wraps each job; must call `perform()` and return (or await) its result. */
  aroundPerform?(ctx: JobContext, perform: () => Promise<unknown>): unknown;
  /** After each successful job. */
  afterPerform?(ctx: JobContext, result: unknown): unknown;
  /** After each failed job (once), with what was thrown. */
  onFailure?(error: unknown, ctx: JobContext): unknown;
  /** Once the worker is registered and about to take jobs. */
  workerStart?(worker: Worker): unknown;
  /** After the worker has unregistered. */
  workerExit?(worker: Worker): unknown;
}

export interface WorkerOptions {
  /** Redis URL, ioredis options or client (duplicated). Default `REDIS_URL` or `redis://127.0.0.1:6379`. */
  redis?: RedisInput;
  /** Key namespace; default `resque`. */
  namespace?: string;
  /** Resque priority list: names, globs (`*`, `high_*`) and `!exclusions`. Default `['*']`. */
  queues?: string[];
  /** Resque class name → handler. */
  jobs: Record<string, JobHandler>;
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
   * A supervisor keeps this worker's owner locks while it sees the process alive
   * (`Queue.holdLocks` at least every `lockTtlMs / 3`, as resque-starter's master does). The
   * worker then trusts it from the start: after its event loop was blocked past the lock
   * lifetime, it asks Redis whether a slot was recovered before it aborts that slot's job,
   * instead of aborting every job at once. Either way the worker also learns it from the locks
   * themselves (a held lock reads `held <id>` at its next renewal), and stops trusting it once
   * no renewal has found a held lock for `lockTtlMs` (the supervisor is gone). Default false.
   */
  leasesHeldByMaster?: boolean;
}

export interface InFlightJob {
  queue: string;
  /** The decoded payload; undefined when it does not decode (the job fails without running). */
  payload: JobPayload | undefined;
  /** The payload as text (UTF-8; bytes that are not valid UTF-8 read as U+FFFD). */
  raw: string;
  /** The payload's bytes exactly as reserved (what is acknowledged, given back and recorded). */
  bytes: Buffer;
  /**
   * A stable, small identity of the job another process can use: the sha1 hex of `bytes` (Lua's
   * `redis.sha1hex` of the payload). `Queue.failInflight(workerId, jobId, …)` takes it.
   */
  jobId: string;
  startedAt: Date;
  /** The worker slot that holds the job (its id in `resque:workers`). */
  workerId: string;
}

/** How a job failed, as its failure record names it (with what was thrown). */
export interface JobFailure {
  exception: string;
  error: string;
  thrown: unknown;
}

/** One running job: its public view (built once, emitted as is), its context, and how it is being stopped. */
interface Running {
  pub: InFlightJob;
  /** Undefined for a payload that does not decode (no handler runs). */
  ctx: Context | undefined;
  interrupted: boolean;
  abandoned: boolean;
  /** The handler is done; the job waits for its acknowledgement (it stays `slot.job` until then). */
  finished: boolean;
}

interface Slot {
  index: number;
  id: string;
  job: Running | undefined;
  loop: Promise<void> | undefined;
  /** What the slot's inflight list holds, in run order: finished jobs, the running one, jobs reserved but not started. */
  held: Held[];
  /** Finished jobs awaiting their acknowledgement (sent with the slot's next call): held[0 .. done.length-1]. */
  done: Finished[];
  /** held[next] is the next job to start. */
  next: number;
  /** Gives the jobs of a batch that did not start in time back to their queue. */
  holdTimer: NodeJS.Timeout | undefined;
  /** That give-back while in flight: nothing else of the slot runs or calls Redis before it lands. */
  giving: Promise<void> | undefined;
}

interface Held {
  queue: string;
  raw: Payload;
}

interface Failure {
  exception: string;
  error: string;
  backtrace: string[];
  thrown: unknown;
}

type Batch = Array<{ id: string; ack: Ack | undefined; resolve: (r: Reserved) => void; reject: (err: unknown) => void }>;

/** A job that ran and waits for its acknowledgement (sent with the slot's next reserve). */
interface Finished {
  ack: Ack;
  job: InFlightJob;
  failure: Failure | undefined;
  result: unknown;
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
  /** Connection or Redis trouble; never fatal: the worker retries. Only emitted if listened to. */
  error: [Error];
  stopped: [];
}

const als = new AsyncLocalStorage<JobContext>();

/** Why: arrow-function handlers have no `this`; they reach their context through this accessor. */
export function currentJob(): JobContext | undefined {
  return als.getStore();
}

const MIN_POLL_MS = 10;
/** Prefetch grows while the jobs of a batch average less than this; at or above it, one job per reserve. */
const FAST_JOB_MS = 1;
/** Jobs of a batch not started this long after the batch was reserved go back to the head of their queue. */
const PREFETCH_HOLD_MS = 20;
/** The largest `prefetch`: one script call moves at most this many jobs (Lua's unpack has a limit near 8000 values). */
export const MAX_PREFETCH = 1000;
/** Slots served by one reserve script call at most (bounds how long one call holds Redis). */
const MAX_BATCH = 64;
const MAX_POLL_MS = 1000;
const noop = () => undefined;
const silent: WorkerLogger = { debug: noop, info: noop, warn: noop, error: noop };

/**
 * Why: a Resque worker that never loses a job: atomic reserve into a per-slot inflight list,
 * atomic acknowledge that checks ownership, owner locks that let any live worker recover a
 * dead one, and Resque's registration, heartbeat, stats and failure records byte for byte.
 */
export class Worker extends EventEmitter<WorkerEvents> {
  readonly id: string;
  readonly queues: readonly string[];
  readonly store: DataStore;
  processed = 0;
  failed = 0;
  private readonly redis: Redis;
  private sub: Redis | undefined;
  private readonly opts: Required<Pick<WorkerOptions, 'concurrency' | 'prefetch' | 'lockTtlMs' | 'maxRecoveries' | 'heartbeatMs'>> & WorkerOptions;
  private readonly log: WorkerLogger;
  private readonly slots: Slot[];
  private phase: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private pausedLocal = false;
  private pausedAll = false;
  private wasBusy = false;
  private wakers = new Set<() => void>();
  /** A wake-up came while no slot was waiting (it was mid-poll): the next wait returns at once. */
  private wakePending = false;
  private timers: NodeJS.Timeout[] = [];
  private lastHeartbeat = 0;
  /** performance.now() when the last successful lock renewal was sent: the locks hold until this + lockTtlMs. */
  private renewedAt = 0;
  private stopping: Promise<void> | undefined;
  /**
   * performance.now() of the last renewal that found our locks held from outside (a master,
   * `Queue.holdLocks`), or of the start when `leasesHeldByMaster` says so; -Infinity: never.
   */
  private heldSeenAt = -Infinity;
  /** What `leasesHeld` said at the last renewal (only to log its changes). */
  private wasHeld = false;
  /** When a fast stop's grace runs out (performance.now()); Infinity until one is asked for. */
  private graceDeadline = Infinity;
  private graceTimer: NodeJS.Timeout | undefined;
  /** The stop no longer waits on a grace (its jobs ended or were given back, or it never ran any). */
  private graceSettled = false;
  private readonly graceOver = withResolvers();
  private readonly dynamic: boolean;
  /** Reserve requests collected in this tick (concurrency > 1). */
  private batch: Batch | undefined;
  /** Jobs the next reserve asks for: adapts between 1 and `prefetch` at concurrency 1, stays 1 above. */
  private batchSize = 1;

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
    this.queues = options.queues?.length ? [...options.queues] : ['*'];
    this.dynamic = isDynamic(this.queues);
    this.log = options.logger ?? silent;
    const host = options.hostname ?? osHostname();
    const pid = options.pid ?? process.pid;
    this.slots = Array.from({ length: this.opts.concurrency }, (_, i) => ({
      index: i,
      id: formatWorkerId(host, pid, this.queues, i),
      job: undefined,
      loop: undefined,
      held: [],
      done: [],
      next: 0,
      holdTimer: undefined,
      giving: undefined,
    }));
    this.id = this.slots[0]!.id;
    this.redis = createRedis(options.redis, `baton-resque:worker:${this.id}`);
    this.redis.on('error', (err) => this.reportError(err));
    defineScripts(this.redis);
    this.store = new DataStore(this.redis, options.namespace);
  }

  get state(): WorkerState {
    if (this.phase === 'new' || this.phase === 'starting') return 'starting';
    if (this.phase === 'stopping' || this.phase === 'stopped') return this.phase;
    if (this.slots.some((s) => s.job)) return 'busy';
    return this.pausedLocal || this.pausedAll ? 'paused' : 'idle';
  }

  /** Jobs in flight now. */
  get current(): InFlightJob[] {
    return this.slots.flatMap((s) => (s.job ? [{ ...s.job.pub }] : []));
  }

  /** Worker ids of every slot (one per unit of concurrency). */
  get ids(): string[] {
    return this.slots.map((s) => s.id);
  }

  /** Connects, registers every slot, recovers dead workers, then starts taking jobs. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error('worker already started');
    this.phase = 'starting';
    try {
      this.renewedAt = performance.now();
      for (const slot of this.slots) await this.store.registerWorker(slot.id, this.opts.lockTtlMs);
      this.lastHeartbeat = Date.now();
      if (this.opts.interval === undefined) await this.subscribe();
      await this.runJanitor();
    } catch (err) {
      // stop() during start closed the connection under it: that is the stop, not a failure to start.
      if (this.phase === 'starting') throw err;
    }
    if (this.phase !== 'starting') {
      this.sub?.disconnect(); // subscribed after the stop had disconnected it
      return;
    }
    this.phase = 'running';
    // Trusted until the master's first hold shows in our locks (it holds once it sees us ready).
    if (this.opts.leasesHeldByMaster) this.heldSeenAt = this.renewedAt;
    this.wasHeld = this.leasesHeld;
    this.every(Math.max(50, Math.floor(this.opts.lockTtlMs / 3)), () => this.renewLocks());
    this.every(Math.max(100, Math.floor(this.opts.lockTtlMs / 2)), () => this.runJanitor());
    await this.opts.hooks?.workerStart?.(this);
    for (const slot of this.slots) slot.loop = this.runSlot(slot);
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
    this.wake();
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
    if (!graceful) this.shortenGrace(graceMs);
    this.stopping ??= this.shutdown();
    if (!graceful) this.interruptAll();
    return this.stopping;
  }

  // --- internal ---

  /** A fast stop's grace ends at the earliest deadline asked for; a graceful stop has none. */
  private shortenGrace(graceMs: number): void {
    const deadline = performance.now() + Math.max(0, graceMs);
    // (No timer once the grace no longer matters: none may outlive the stop.)
    if (deadline >= this.graceDeadline || this.graceSettled) return;
    this.graceDeadline = deadline;
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(this.graceOver.resolve, Math.max(0, graceMs));
  }

  private async shutdown(): Promise<void> {
    const wasRunning = this.phase === 'running';
    if (!wasRunning) this.graceSettled = true;
    this.phase = 'stopping';
    this.wake();
    const errors: unknown[] = [];
    if (wasRunning) {
      const loops = Promise.all(this.slots.map((s) => s.loop));
      // Until every loop ends (graceful), or the grace of a fast stop, asked now or later, runs out.
      await Promise.race([loops, this.graceOver.promise]);
      this.graceSettled = true;
      clearTimeout(this.graceTimer);
      // Handlers that ignored the abort: give their jobs back now; their late outcome is dropped.
      // A slot whose job has finished is waiting on Redis (its acknowledgement is in flight, or
      // being retried): it ends by itself once Redis answers, and must, before unregistering.
      const waiting: Array<Promise<void> | undefined> = [];
      for (const slot of this.slots) {
        const job = slot.job;
        if (!job || job.finished) {
          waiting.push(slot.loop);
          continue;
        }
        job.abandoned = true;
        try {
          if (await this.giveBackFrom(slot, job.pub.bytes)) this.emit('requeued', job.pub);
        } catch (err) {
          errors.push(err);
        }
      }
      await Promise.all(waiting);
    }
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    clearTimeout(this.graceTimer);
    for (const slot of this.slots) clearTimeout(slot.holdTimer);
    for (const slot of this.slots) {
      try {
        await this.store.unregisterWorker(slot.id);
      } catch (err) {
        errors.push(err);
      }
    }
    try {
      await this.opts.hooks?.workerExit?.(this);
    } catch (err) {
      errors.push(err);
    }
    this.sub?.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
    this.phase = 'stopped';
    this.log.info(`worker ${this.id} stopped`);
    this.emit('stopped');
    if (errors.length) throw new AggregateError(errors, `worker ${this.id} stopped with ${errors.length} error(s)`);
  }

  /**
   * The slots' jobs may be running elsewhere: their slot was recovered (registration gone), or,
   * with Redis unreachable, no renewal was confirmed for longer than the lock lifetime. Stop ours
   * the way a fast stop does: if the slot still holds the job it goes back to the head of its
   * queue, else nothing is written.
   */
  private interruptLapsed(ms: number, ids?: readonly string[]): void {
    for (const s of this.slots) {
      if (!s.job || s.job.interrupted || (ids && !ids.includes(s.id))) continue;
      this.log.warn(
        `worker ${s.id} renewed no lock for ${(ms / 1000).toFixed(1)}s (lock lifetime ${this.opts.lockTtlMs / 1000}s; frozen or cut off from Redis): ` +
          `aborting its job ${s.job.pub.payload?.class ?? '(bad payload)'}, which another worker may have taken over`,
      );
      s.job.interrupted = true;
      s.job.ctx?.abort(new AbortJobError('the owner lock lapsed: another worker may run this job now'));
    }
  }

  private interruptAll(): void {
    for (const s of this.slots) {
      if (!s.job) continue;
      s.job.interrupted = true;
      s.job.ctx?.abort(new AbortJobError('worker is shutting down (TERM)'));
    }
  }

  /** The queues to reserve from now, in priority order; none while paused or stopping (acknowledge only). */
  private reserveQueues(): readonly string[] | Promise<readonly string[]> {
    if (this.phase !== 'running' || this.pausedLocal) return [];
    return this.dynamic ? this.store.queueNames().then((known) => resolveQueues(this.queues, known)) : this.queues;
  }

  /**
   * The owner-lock TTL to set on a reserved slot, or undefined when the last renewal is recent
   * enough that the lock outlives the job's start anyway (the renewal timer keeps it): one
   * Redis write less per job.
   */
  private lockTtlArg(): number | undefined {
    return performance.now() - this.renewedAt < this.opts.lockTtlMs / 2 ? undefined : this.opts.lockTtlMs;
  }

  /**
   * Reserve requests of slots that became free in the same tick go out as one script call:
   * at concurrency N, one round trip and one script run serve many jobs.
   */
  private reserveBatched(slot: Slot, ack: Ack | undefined): Promise<Reserved> {
    return new Promise((resolve, reject) => {
      let batch = this.batch;
      if (!batch || batch.length >= MAX_BATCH) {
        const fresh: Batch = (batch = this.batch = []);
        process.nextTick(() => void this.flushBatch(fresh));
      }
      batch.push({ id: slot.id, ack, resolve, reject });
    });
  }

  private async flushBatch(batch: Batch): Promise<void> {
    if (this.batch === batch) this.batch = undefined;
    try {
      const queues = this.reserveQueues();
      const results = await this.store.reserveMany(batch, isThenable(queues) ? await queues : queues, this.lockTtlArg());
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }

  private async runSlot(slot: Slot): Promise<void> {
    let pollMs = MIN_POLL_MS;
    let batchAt = 0;
    for (;;) {
      if (slot.giving) await slot.giving;
      const taking = this.phase === 'running' && !this.pausedLocal;
      // Reserved with the others of its batch: it starts without a round trip, unless the owner
      // locks may have lapsed (a freeze): then another worker may have it, and the next call checks.
      if (taking && slot.next < slot.held.length && performance.now() - this.renewedAt < this.opts.lockTtlMs) {
        const h = slot.held[slot.next++]!;
        const f = await this.perform(slot, h.queue, h.raw);
        if (f) slot.done.push(f);
        continue;
      }
      if (!taking && slot.held.length === 0) {
        if (this.phase !== 'running') break;
        await this.waitForWake(MAX_POLL_MS);
        continue;
      }
      clearTimeout(slot.holdTimer);
      if (taking && slot.done.length > 0 && this.slots.length === 1) {
        const perJobMs = (performance.now() - batchAt) / slot.done.length;
        this.batchSize = perJobMs < FAST_JOB_MS ? Math.min(this.opts.prefetch, this.batchSize * 2) : 1;
      }
      let res: Settled;
      try {
        // One call per batch: the finished jobs' acknowledgements ride on the next reserve, and
        // jobs reserved but not started (paused or stopping meanwhile) go back with it.
        res = await this.call(slot, taking ? this.batchSize : 0);
      } catch (err) {
        this.reportError(err as Error);
        // Stopped (a fast stop ran out of time while Redis was away): what the slot holds stays in
        // its inflight list, for the master or the owner lock's expiry to recover.
        if (this.phase === 'stopped') break;
        // An acknowledgement must land: retry it soon (commands also wait for a reconnection in ioredis).
        if (slot.held.length > 0) await new Promise((r) => setTimeout(r, 100));
        else await this.waitForWake(500);
        continue;
      }
      this.settleDone(slot, res.acked);
      const result = res.next;
      if (result.kind === 'job') {
        // Not started here when pause() or stop() came meanwhile: the next call gives them back.
        slot.held = res.jobs.map((raw) => ({ queue: result.queue, raw }));
        batchAt = performance.now();
        if (slot.held.length > 1) slot.holdTimer = setTimeout(() => this.giveBackUnstarted(slot), PREFETCH_HOLD_MS);
        pollMs = MIN_POLL_MS;
        this.setPausedAll(false);
        continue;
      }
      if (this.phase !== 'running') continue;
      if (result.kind === 'busy') {
        // A previous process with our pid left a job here: recover it, then register again.
        await this.store.recover(slot.id, true, this.opts.maxRecoveries).catch((err) => this.reportError(err));
        await this.store.registerWorker(slot.id, this.opts.lockTtlMs).catch((err) => this.reportError(err));
        continue;
      }
      this.setPausedAll(result.kind === 'paused');
      if (this.wasBusy && this.slots.every((s) => !s.job)) {
        this.wasBusy = false;
        this.emit('idle');
      }
      if (this.opts.interval !== undefined) await this.waitForWake(this.opts.interval * 1000);
      else {
        await this.waitForWake(pollMs);
        pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
      }
    }
  }

  /**
   * The slot's one Redis call between jobs: acknowledge what finished, give back what was
   * reserved but not started, reserve up to `want` jobs. A slot that holds at most one job uses
   * the one-job script (batched across slots at concurrency > 1), else lua/settle-3.lua.
   */
  private async call(slot: Slot, want: number): Promise<Settled> {
    const held = slot.held.length;
    const acks = slot.done;
    if (held === acks.length && held <= 1 && want <= 1) {
      const ack = acks[0]?.ack;
      let r: Reserved;
      if (this.slots.length > 1) r = await this.reserveBatched(slot, ack);
      else {
        const queues = want > 0 ? this.reserveQueues() : [];
        r = await this.store.reserve(slot.id, isThenable(queues) ? await queues : queues, this.lockTtlArg(), ack);
      }
      return { acked: r.acked, next: r.next, jobs: r.next.kind === 'job' ? [r.next.raw] : [] };
    }
    if (held === 1 && acks.length === 0 && want === 0) {
      // Reserved just as pause() or stop() came: straight back to the head of its queue.
      await this.store.requeue(slot.id, slot.held[0]!.raw);
      return { acked: true, next: EMPTY, jobs: [] };
    }
    const queues = want > 0 ? this.reserveQueues() : [];
    return await this.store.settle(slot.id, isThenable(queues) ? await queues : queues, this.lockTtlArg(), {
      held,
      acks: acks.map((f) => f.ack),
      keep: 0,
      want,
    });
  }

  /** After a call: the finished jobs are acknowledged (or were lost), and the slot holds nothing. */
  private settleDone(slot: Slot, acked: boolean): void {
    const done = slot.done;
    slot.held = [];
    slot.done = [];
    slot.next = 0;
    for (const f of done) this.settle(slot, f, acked);
  }

  /**
   * The running job (the last started) and every job not started go back to the head of their
   * queues; finished ones are acknowledged in the same call. False when the slot's jobs had been
   * recovered by another worker meanwhile (nothing written).
   */
  private giveBackFrom(slot: Slot, raw: string | Buffer): Promise<boolean> {
    const result = (slot.giving ?? Promise.resolve()).then(async () => {
      clearTimeout(slot.holdTimer);
      if (slot.held.length <= 1) {
        const ok = await this.store.requeue(slot.id, raw);
        slot.held = [];
        slot.next = 0;
        return ok;
      }
      const r = await this.store.settle(slot.id, [], undefined, { held: slot.held.length, acks: slot.done.map((f) => f.ack), keep: 0, want: 0 });
      this.settleDone(slot, r.acked);
      return r.acked;
    });
    // The slot's loop waits for it (it may come back from an abandoned handler meanwhile).
    this.setGiving(slot, result);
    return result;
  }

  /** Makes `p` the slot's give-back in flight until it settles (the loop waits for it before running or calling Redis). */
  private setGiving(slot: Slot, p: Promise<unknown>): void {
    const giving: Promise<void> = p.then(noop, noop).finally(() => {
      if (slot.giving === giving) slot.giving = undefined;
    });
    slot.giving = giving;
  }

  /**
   * A job of a batch ran long: the jobs not started yet go back to the head of their queue, so
   * other workers take them, and this slot reserves one job at a time again.
   */
  private giveBackUnstarted(slot: Slot): void {
    const held = slot.held.length;
    const keep = slot.next;
    if (keep >= held || slot.giving) return;
    this.batchSize = 1;
    this.setGiving(
      slot,
      this.store
        .settle(slot.id, [], undefined, { held, acks: [], keep, want: 0 })
        // Given back, or recovered by another worker (then they are not ours to run either).
        .then(() => void (slot.held = slot.held.slice(0, keep)))
        .catch((err) => this.reportError(err as Error)),
    );
  }

  /** Runs one job; returns what must be acknowledged, or undefined when the job went back to its queue. */
  private async perform(slot: Slot, queue: string, raw: Payload): Promise<Finished | undefined> {
    const text = typeof raw === 'string' ? raw : raw.toString();
    const decoded = decodeJob(text);
    const payload = decoded.ok ? decoded.payload : undefined;
    const pub: InFlightJob = new ReservedJob(queue, payload, text, raw, slot.id);
    const ctx = payload ? new Context(queue, payload, slot.id, this.log) : undefined;
    const job: Running = (slot.job = { pub, ctx, interrupted: false, abandoned: false, finished: false });
    this.wasBusy = true;
    this.emit('job', pub);
    let failure: Failure | undefined;
    let result: unknown;
    if (!decoded.ok) {
      failure = { exception: decoded.exception, error: decoded.error, backtrace: [], thrown: new Error(decoded.error) };
    } else if (ctx) {
      const handler = Object.hasOwn(this.opts.jobs, ctx.className) ? this.opts.jobs[ctx.className] : undefined;
      if (typeof handler !== 'function') {
        failure = { exception: 'NameError', error: `uninitialized constant ${ctx.className}`, backtrace: [], thrown: new Error(`no job named ${ctx.className}`) };
      } else {
        try {
          // A handler that returns a plain value is not awaited (one microtask less per job).
          const r = als.run(ctx, runHandler, this.opts.hooks, handler, ctx);
          result = isThenable(r) ? await r : r;
        } catch (thrown) {
          failure = { ...describeThrown(thrown), thrown };
          if (!job.interrupted) {
            try {
              await als.run(ctx, () => this.opts.hooks?.onFailure?.(thrown, ctx));
            } catch (err) {
              this.log.warn(`onFailure hook of ${ctx.className} threw: ${(err as Error)?.message ?? String(err)}`);
            }
          }
        }
      }
    }
    if (job.abandoned) {
      slot.job = undefined; // fast stop already gave the job back
      return undefined;
    }
    if (job.interrupted && failure) {
      // TERM (or a lapsed lock) interrupted it: not a failure of the job; it goes back to the
      // head of its queue, unless another worker has recovered it meanwhile.
      try {
        if (await this.retry(() => this.giveBackFrom(slot, sendable(raw, text)))) this.emit('requeued', pub);
        else this.reportLost(slot, pub);
      } finally {
        slot.job = undefined;
      }
      return undefined;
    }
    job.finished = true;
    // Before the acknowledgement and before anything else of this worker runs (see the event).
    if (this.listenerCount('finished') > 0) {
      try {
        this.emit('finished', pub, failure && { exception: failure.exception, error: failure.error, thrown: failure.thrown });
      } catch (err) {
        this.log.warn(`a 'finished' listener threw: ${(err as Error)?.message ?? String(err)}`);
      }
    }
    const payloadArg = sendable(raw, text);
    const record = failure
      ? encodeFailure({ failedAt: new Date(), raw: payloadArg, exception: failure.exception, error: failure.error, backtrace: failure.backtrace, worker: slot.id, queue })
      : undefined;
    return { ack: { raw: payloadArg, failure: record }, job: pub, failure, result };
  }

  /** After the acknowledgement: count it and tell listeners (or report the job as lost). */
  private settle(slot: Slot, f: Finished, acked: boolean): void {
    slot.job = undefined;
    if (!acked) {
      this.reportLost(slot, f.job);
      return;
    }
    this.processed++;
    if (f.failure) {
      this.failed++;
      this.emit('failure', f.job, f.failure.thrown);
    } else {
      this.emit('success', f.job, f.result);
    }
  }

  private reportLost(slot: Slot, job: InFlightJob): void {
    this.log.warn(`job ${job.payload?.class ?? '(bad payload)'} on ${job.queue} was recovered by another worker while ${slot.id} was not renewing its lock; its outcome is dropped`);
    this.emit('lost', job);
  }

  /** Acks and requeues must land: while Redis is away, retry until it is back (commands also wait in ioredis). */
  private async retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        this.reportError(err as Error);
        if (attempt > 600) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /**
   * Someone (a master, `Queue.holdLocks`) keeps our owner locks too, as of the last confirmed
   * renewal: a renewal found them held (or `leasesHeldByMaster` vouched since the start) within
   * one lock lifetime before it. A holder renews every lockTtlMs / 3, so a live one never drops
   * out of this window, and a gone one does within a lock lifetime.
   */
  private get leasesHeld(): boolean {
    return this.renewedAt - this.heldSeenAt < this.opts.lockTtlMs;
  }

  private async renewLocks(): Promise<void> {
    if (this.phase !== 'running') return;
    const sentAt = performance.now();
    const since = sentAt - this.renewedAt;
    // No renewal for longer than the lock lifetime (a freeze: SIGSTOP, swap, a blocked event loop,
    // a long Redis outage). Unless a master keeps our leases, another worker may have recovered our
    // jobs: stop them now, before any await, while this timer is due before the jobs' own timers,
    // so they cannot record their results first.
    if (since >= this.opts.lockTtlMs && !this.leasesHeld) this.interruptLapsed(since);
    const heartbeat = Date.now() - this.lastHeartbeat >= this.opts.heartbeatMs;
    let renewed;
    try {
      renewed = await this.store.renew(this.ids, this.opts.lockTtlMs, heartbeat);
    } catch (err) {
      // Unconfirmed for longer than the lock lifetime: the jobs may be running elsewhere.
      if (performance.now() - this.renewedAt >= this.opts.lockTtlMs) this.interruptLapsed(performance.now() - this.renewedAt);
      throw err;
    }
    this.renewedAt = sentAt;
    if (heartbeat) this.lastHeartbeat = Date.now();
    if (renewed.heldByOther) this.heldSeenAt = sentAt;
    const held = this.leasesHeld;
    if (held && !this.wasHeld) this.log.debug(`the owner locks of ${this.id} are held from outside too (Queue.holdLocks): a lapse is judged by Redis`);
    if (!held && this.wasHeld) {
      this.log.debug(`the owner locks of ${this.id} are no longer held from outside (none found held for ${this.opts.lockTtlMs / 1000}s): a lapse is judged by our own clock`);
    }
    this.wasHeld = held;
    // With our leases kept from outside, a lapse on our clock proves nothing. A job is lost only
    // where its slot was recovered, which removes the slot's registration in the same script as its
    // jobs; a lock that had lapsed is set again by this renewal, so nobody can recover the slot now.
    if (renewed.unregistered.length > 0) this.interruptLapsed(since, renewed.unregistered);
    const lost = [...new Set([...renewed.lapsed, ...renewed.unregistered])];
    for (const id of lost) {
      this.log.warn(`worker ${id} had lost its owner lock or registration (process frozen, pruned, or Redis restarted); registering again`);
      await this.store.registerWorker(id, this.opts.lockTtlMs);
    }
  }

  private async runJanitor(): Promise<void> {
    if (this.phase === 'stopping' || this.phase === 'stopped') return;
    const dead = await this.store.deadBatonWorkers(new Set(this.ids));
    for (const id of dead) {
      const r = await this.store.recover(id, false, this.opts.maxRecoveries);
      if (!r) continue;
      this.log.info(`recovered dead worker ${id}: ${r.requeued} job(s) back at the head of their queue, ${r.failed} failed`);
      this.emit('recovered', id, r);
    }
  }

  private async subscribe(): Promise<void> {
    this.sub = this.redis.duplicate({ connectionName: `baton-resque:wake:${this.id}` });
    this.sub.on('error', (err) => this.reportError(err));
    this.sub.on('message', () => this.wake());
    await this.sub.subscribe(this.store.keys.wakeChannel);
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const tick = () => {
      fn()
        .catch((err) => this.reportError(err as Error))
        .finally(() => {
          if (this.phase === 'running') this.timers.push(setTimeout(tick, ms));
        });
    };
    this.timers.push(setTimeout(tick, ms));
  }

  private waitForWake(ms: number): Promise<void> {
    if (this.wakePending) {
      // The job that woke us may have been pushed after our last reserve looked: look again now
      // rather than after the poll interval (which, backed off, can be hundreds of ms).
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private wake(): void {
    if (this.wakers.size === 0) this.wakePending = true;
    for (const w of [...this.wakers]) w();
  }

  private setPausedAll(paused: boolean): void {
    if (paused === this.pausedAll) return;
    this.pausedAll = paused;
    this.emit(paused ? 'paused' : 'resumed');
  }

  private reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.log.debug(`redis: ${err?.message ?? String(err)}`);
  }
}

/** The error an aborted job's signal carries. */
export class AbortJobError extends Error {
  override name = 'Resque::DirtyExit';
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

// --- internal ---

/**
 * A job's context. Its AbortController is made only when the handler asks for `signal`: most
 * jobs never do, and one costs more than the rest of a job's bookkeeping (hot path).
 */
class Context implements JobContext {
  readonly className: string;
  readonly args: unknown[];
  #ac: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  constructor(
    readonly queue: string,
    readonly payload: JobPayload,
    readonly workerId: string,
    readonly log: WorkerLogger,
  ) {
    this.className = payload.class;
    this.args = payload.args;
  }

  get signal(): AbortSignal {
    if (!this.#ac) {
      this.#ac = new AbortController();
      if (this.#aborted) this.#ac.abort(this.#reason);
    }
    return this.#ac.signal;
  }

  /** Aborts the signal now, or, if nobody has asked for it yet, hands it out already aborted. */
  abort(reason: unknown): void {
    if (this.#ac) this.#ac.abort(reason);
    else if (!this.#aborted) {
      this.#aborted = true;
      this.#reason = reason;
    }
  }
}

/** Hooks, then the handler; without hooks, the handler's own return value (no extra promise). */
function runHandler(hooks: WorkerHooks | undefined, handler: JobHandler, ctx: JobContext): unknown {
  if (!hooks?.beforePerform && !hooks?.aroundPerform && !hooks?.afterPerform) return handler.apply(ctx, ctx.args);
  return runHooked(hooks, handler, ctx);
}

async function runHooked(hooks: WorkerHooks, handler: JobHandler, ctx: JobContext): Promise<unknown> {
  await hooks.beforePerform?.(ctx);
  const perform = async () => await handler.apply(ctx, ctx.args);
  const result = hooks.aroundPerform ? await hooks.aroundPerform(ctx, perform) : await perform();
  await hooks.afterPerform?.(ctx, result);
  return result;
}

/**
 * A payload as sent back to Redis: its text when that is exactly its bytes (valid UTF-8, the
 * usual case: ioredis writes an all-string command without a Buffer per argument, hot path),
 * else the bytes themselves.
 */
/**
 * The public view of a running job. A class, not a literal with getters (one shape for every
 * job, no closures per job on the hot path); `bytes` and `jobId` are made when first read.
 */
class ReservedJob implements InFlightJob {
  readonly startedAt = new Date();
  #bytes: Buffer | undefined;
  #jobId: string | undefined;
  readonly #reserved: Payload;
  constructor(
    readonly queue: string,
    readonly payload: JobPayload | undefined,
    readonly raw: string,
    reserved: Payload,
    readonly workerId: string,
  ) {
    this.#reserved = reserved;
  }
  get bytes(): Buffer {
    return (this.#bytes ??= typeof this.#reserved === 'string' ? Buffer.from(this.#reserved) : this.#reserved);
  }
  /** Hashed when first read (a listener forwarding it to a master): ~1 µs a job saved otherwise. */
  get jobId(): string {
    return (this.#jobId ??= jobIdOf(this.#reserved));
  }
}

function sendable(raw: Payload, text: string): string | Buffer {
  return typeof raw === 'string' || isUtf8(raw) ? text : raw;
}

function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}
