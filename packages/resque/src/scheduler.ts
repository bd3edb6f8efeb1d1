import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { assertClusterNamespace, createRedis, isClusterInput, validateRedisInput, type RedisInput } from './connect-options.js';
import { DelayedStore } from './delayed-store.js';
import { encodeJob } from './payload.js';
import { resolveSchedule, type ResolvedEntry, type ScheduleInput } from './schedule.js';
import { defineScripts } from './scripts.js';
import type { WorkerLogger } from './job.js';
import { Backoff, classifyRedisError, Trouble } from './trouble.js';
import { messageOf } from './_utils.js';

export interface SchedulerOptions {
  /** As Queue's: a URL, ioredis options or a client (duplicated). */
  redis?: RedisInput;
  namespace?: string;
  /** The leader lock's TTL (default 10 s): renewed every third of it; a leader killed -9 is replaced within it. */
  lockTtlMs?: number;
  /** Recurring jobs (name → entry). */
  schedule?: ScheduleInput;
  logger?: WorkerLogger;
  /** Names this scheduler in the lock's value (default `<hostname>:<pid>`). */
  name?: string;
  /** The most jobs one mover call moves (default 1000). */
  batch?: number;
  /**
   * Missed runs of a recurring job younger than this are each enqueued once when a leader finds
   * them (after a hand-over, a leader killed -9, a stall); of older ones only the latest runs.
   * Default 60 s; 0: only the latest missed run. At most 100 runs per job are caught up at once.
   */
  catchUpMs?: number;
}

/** The most missed runs of one recurring job enqueued in one catch-up. */
const CATCH_UP_MAX = 100;

export interface SchedulerEvents {
  /** This scheduler took the lock: it moves delayed jobs and enqueues recurring ones now. */
  leader: [];
  /** It lost the lock (expired while it was blocked, or Redis was reset); it follows again. */
  follower: [];
  /** Delayed jobs it moved to their queues in one call. */
  moved: [count: number];
  /** A recurring job's tick it enqueued. */
  tick: [name: string, tickMs: number];
  /**
   * A Redis call failed; it retries, backing off (50 ms doubling to 1 s, jittered). Emitted once
   * per condition (its first error: unreachable, writes refused, …); the log says once when a
   * condition starts (warn) and once when it ends (info), never once per attempt.
   */
  error: [err: Error];
}

/** `p`'s value, or undefined once `ms` have passed first. */
function bounded<T>(p: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const silent: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Why: resque-scheduler's job, in-process: exactly one leader per Redis (its master lock, with a
 * fencing token every move and tick checks), moving due delayed jobs in one script per batch and
 * enqueueing each recurring tick once. It sleeps until the next due time, the lock's renewal, or
 * a wake-up (an earlier job scheduled, the leader leaving): no polling while idle.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  readonly token: string;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #store: DelayedStore;
  readonly #ttl: number;
  readonly #batch: number;
  readonly #catchUp: number;
  readonly #log: WorkerLogger;
  #entries: ResolvedEntry[];
  /** Tick last seen enqueued (or found done) per entry name, so a wake-up does not re-ask Redis. */
  readonly #done = new Map<string, number>();
  #leader = false;
  #running = false;
  #loop: Promise<void> | undefined;
  #renewedAt = 0;
  /** Local epoch ms the loop sleeps until (Infinity: not sleeping). */
  #wakeAt = Infinity;
  #wake: (() => void) | undefined;
  /** Redis TIME minus local time, from the last mover call. */
  #offset = 0;
  /** Redis trouble, said once per condition; and the retries' backoff. */
  readonly #trouble: Trouble;
  readonly #backoff = new Backoff();

  constructor(o: SchedulerOptions = {}) {
    super();
    const ttl = o.lockTtlMs ?? 10_000;
    if (!Number.isInteger(ttl) || ttl < 300 || ttl > 2 ** 31 - 1) throw new RangeError(`Expected \`lockTtlMs\` to be an integer between 300 and ${2 ** 31 - 1}, got \`${String(o.lockTtlMs)}\``);
    this.#ttl = ttl;
    this.#batch = o.batch ?? 1000;
    const catchUp = o.catchUpMs ?? 60_000;
    if (!Number.isInteger(catchUp) || catchUp < 0 || catchUp > 2 ** 31 - 1) throw new RangeError(`Expected \`catchUpMs\` to be an integer between 0 and ${2 ** 31 - 1}, got \`${String(o.catchUpMs)}\``);
    this.#catchUp = catchUp;
    this.#log = o.logger ?? silent;
    this.#trouble = new Trouble({ id: 'scheduler', label: 'scheduler', log: this.#log, emit: () => undefined });
    this.#entries = resolveSchedule(o.schedule);
    validateRedisInput(o.redis);
    if (isClusterInput(o.redis)) assertClusterNamespace(o.namespace ?? 'resque');
    this.token = `${o.name ?? `${hostname()}:${process.pid}`}:${randomBytes(6).toString('hex')}`;
    this.#redis = createRedis(o.redis, 'baton-resque:scheduler');
    this.#sub = createRedis(o.redis, 'baton-resque:scheduler-sub');
    for (const r of [this.#redis, this.#sub]) r.on('error', () => undefined);
    defineScripts(this.#redis);
    this.#store = new DelayedStore(this.#redis, o.namespace);
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Replaces the recurring schedule (a config reload); throws ScheduleError and keeps the old one on bad input. */
  setSchedule(schedule: ScheduleInput | undefined): void {
    this.#entries = resolveSchedule(schedule);
    this.#done.clear();
    this.#wake?.();
  }

  /** Subscribes, then runs: leads or follows until stop(). */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#sub.on('message', (_channel: string, message: string) => this.#onMessage(message));
    await this.#sub.subscribe(this.#store.keys.schedulerChannel);
    this.#loop = this.#run();
  }

  /**
   * Stops moving, releases the lock if it holds it (a follower elsewhere takes over at once),
   * closes its connections. Bounded: with Redis unreachable it gives up waiting after a few
   * seconds (the lock then lapses within its TTL) instead of holding its process's exit.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#wake?.();
    await bounded(this.#loop, 3000);
    if (this.#leader) {
      this.#leader = false;
      const released = await bounded(this.#store.lock('release', this.token, this.#ttl).catch(() => 0), 2000);
      if (released === 1) this.#log.info(`scheduler: released the scheduler lock (${this.token})`);
    }
    await Promise.all([this.#sub, this.#redis].map(async (r) => {
      if ((await bounded(r.quit().catch(() => undefined), 1000)) === undefined) r.disconnect();
    }));
  }

  #onMessage(message: string): void {
    if (message === 'released') {
      if (!this.#leader) this.#wake?.();
      return;
    }
    const due = Number(message) - this.#offset;
    if (this.#leader && due < this.#wakeAt) this.#wake?.();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let sleep: number;
      try {
        sleep = this.#leader ? await this.#lead() : await this.#follow();
        if (this.#backoff.attempts > 0) {
          this.#backoff.reset();
          this.#trouble.ok();
        }
      } catch (err) {
        if (!this.#running) break; // stop() closed the connection under the call
        // Once per condition (a refusal to write lasts seconds and fails every call), backed off.
        if (this.#trouble.report(classifyRedisError(err), messageOf(err)) && this.listenerCount('error') > 0) this.emit('error', err as Error);
        sleep = Math.min(this.#backoff.next(), this.#ttl / 3);
      }
      if (this.#running) await this.#sleep(sleep);
    }
  }

  /**
   * Tries to take the lock. Leading now: 0 (lead at once). Else how long to wait before trying
   * again: a third of the TTL, or until the holder's lock expires if sooner (a leader killed -9
   * is replaced within the TTL), or until it releases the lock (a wake-up).
   */
  async #follow(): Promise<number> {
    const res = await this.#store.lock('acquire', this.token, this.#ttl);
    if (res !== 1) return Math.min(this.#ttl / 3, -1 - res + 5);
    this.#leader = true;
    this.#renewedAt = Date.now();
    this.#log.info(`scheduler: took the scheduler lock (${this.token}); moving delayed jobs and enqueueing recurring ones`);
    this.emit('leader');
    return 0;
  }

  #lose(why: string): void {
    this.#leader = false;
    this.#done.clear();
    this.#log.warn(`scheduler: lost the scheduler lock (${why}); following`);
    this.emit('follower');
  }

  /** One leader step: renew when due, move what is due, enqueue due ticks; returns how long to sleep. */
  async #lead(): Promise<number> {
    if (Date.now() - this.#renewedAt >= this.#ttl / 3 - 20) {
      const at = Date.now();
      if ((await this.#store.lock('renew', this.token, this.#ttl)) !== 1) {
        this.#lose('it expired or was taken');
        return 0;
      }
      this.#renewedAt = at;
    }
    let r;
    do {
      r = await this.#store.moveDue(this.token, this.#batch);
      if (r.moved < 0) {
        this.#lose('another scheduler holds it');
        return 0;
      }
      if (r.moved > 0) this.emit('moved', r.moved);
    } while (r.more && this.#running);
    this.#offset = r.now - Date.now();
    const nextTick = await this.#ticks(r.now);
    if (!this.#leader) return 0;
    const dueIn = Math.min(r.next ?? Infinity, nextTick) - r.now;
    const renewIn = this.#renewedAt + this.#ttl / 3 - Date.now();
    return Math.max(0, Math.min(dueIn, renewIn));
  }

  /**
   * Enqueues each entry's due ticks: the latest, and after a gap (this leader just took over, or
   * was stalled) the missed ones of the catch-up window, oldest first; the script skips what was
   * enqueued already. Returns the soonest next tick (Redis clock).
   */
  async #ticks(now: number): Promise<number> {
    let soonest = Infinity;
    for (const e of this.#entries) {
      const latest = e.prev(now);
      const next = e.next(now);
      soonest = Math.min(soonest, next);
      const done = this.#done.get(e.name) ?? -Infinity;
      if (latest <= done) continue;
      const ticks = [latest];
      for (let t = e.prev(latest - 1); ticks.length < CATCH_UP_MAX && t > done && t > now - this.#catchUp; t = e.prev(t - 1)) ticks.unshift(t);
      const period = next - latest;
      const keyTtl = Math.min(Math.max(2 * period, this.#catchUp + period, 60_000), 7 * 86_400_000);
      const res = await this.#store.tick(this.token, e.name, ticks, keyTtl, e.queue, encodeJob(e.class, e.args));
      if (res === -1) {
        this.#lose('another scheduler holds it');
        return Infinity;
      }
      this.#done.set(e.name, latest);
      for (const t of res) this.emit('tick', e.name, t);
    }
    return soonest;
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#wakeAt = Infinity;
        resolve();
      };
      const timer = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
      this.#wakeAt = Date.now() + ms;
      this.#wake = done;
    });
  }
}
