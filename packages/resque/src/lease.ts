import type { DataStore } from './data-store.js';
import type { WorkerLogger } from './job.js';
import { repeat } from './_utils.js';

/** What the lease needs from its worker. */
export interface LeaseContext {
  /** The worker's id (its first slot's), for the log. */
  readonly id: string;
  /** The ids of every slot: one owner lock each. */
  readonly ids: readonly string[];
  readonly log: WorkerLogger;
  readonly store: Pick<DataStore, 'renew' | 'registerWorkers'>;
  /** Renewals run while the worker takes jobs or finishes them in a stop (not while it starts, nor once its slots are released). */
  isRunning(): boolean;
  /**
   * The jobs of these slots (of every slot when `ids` is undefined) may be running elsewhere, no
   * renewal having been confirmed for `ms`: stop them before they record an outcome.
   */
  interruptLapsed(ms: number, ids?: readonly string[]): void;
}

export interface LeaseOptions {
  lockTtlMs: number;
  heartbeatMs: number;
  /** `WorkerOptions.leasesHeldByMaster`: trust from the start that a supervisor keeps the locks. */
  heldByMaster: boolean;
}

/**
 * Why: the worker's owner locks (BullMQ's LockManager): renewed every lockTtlMs / 3 with the
 * Resque heartbeat, and a lapse detected (a freeze, a long Redis outage) before a job that may
 * now run elsewhere records its outcome, unless a supervisor keeps the locks from outside.
 */
export class Lease {
  /** performance.now() when the last successful renewal was sent: the locks hold until this + lockTtlMs. */
  #renewedAt = 0;
  #lastHeartbeat = 0;
  /**
   * performance.now() of the last renewal that found our locks held from outside (a master,
   * `Queue.holdLocks`), or of the start when `heldByMaster` says so; -Infinity: never.
   */
  #heldSeenAt = -Infinity;
  /** What `#held` said at the last renewal (only to log its changes). */
  #wasHeld = false;
  /** The renewal in flight (the periodic one or `refresh()`): one at a time. */
  #renewing: Promise<void> | undefined;
  /** Slots a renewal found recovered by another worker, until their loop has seen it (`takeLost`). */
  readonly #lost = new Set<string>();

  constructor(
    private readonly ctx: LeaseContext,
    private readonly o: LeaseOptions,
  ) {}

  /** The slots were registered, their locks set by a call sent at `sentAt` (performance.now()). */
  registered(sentAt: number): void {
    this.#renewedAt = sentAt;
    this.#lastHeartbeat = Date.now();
  }

  /** The worker takes jobs from now: renew every lockTtlMs / 3 until it stops (or `signal` aborts). */
  run(signal: AbortSignal, onError: (err: Error) => void): void {
    // Trusted until the master's first hold shows in our locks (it holds once it sees us ready).
    if (this.o.heldByMaster) this.#heldSeenAt = this.#renewedAt;
    this.#wasHeld = this.#held;
    void repeat(Math.max(50, Math.floor(this.o.lockTtlMs / 3)), () => this.renew(), { signal, more: () => this.ctx.isRunning(), onError });
  }

  /** The locks were renewed within their lifetime: a reserved job may start without asking Redis. */
  get fresh(): boolean {
    return performance.now() - this.#renewedAt < this.o.lockTtlMs;
  }

  /**
   * The owner-lock TTL to set on a reserved slot, or undefined when the last renewal is recent
   * enough that the lock outlives the job's start anyway (the renewal keeps it): one Redis write
   * less per job.
   */
  lockTtlArg(): number | undefined {
    return performance.now() - this.#renewedAt < this.o.lockTtlMs / 2 ? undefined : this.o.lockTtlMs;
  }

  /** Renews now (or joins the renewal in flight): a slot about to start a job after a stall. */
  refresh(): Promise<void> {
    return this.renew();
  }

  /** True once after a renewal found slot `id` recovered by another worker: the jobs it holds are not its own. */
  takeLost(id: string): boolean {
    return this.#lost.delete(id);
  }

  renew(): Promise<void> {
    this.#renewing ??= this.#renew().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  async #renew(): Promise<void> {
    if (!this.ctx.isRunning()) return;
    const { lockTtlMs } = this.o;
    const sentAt = performance.now();
    const since = sentAt - this.#renewedAt;
    // No renewal for longer than the lock lifetime (a freeze: SIGSTOP, swap, a blocked event loop,
    // a long Redis outage). Unless a master keeps our leases, another worker may have recovered our
    // jobs: stop them now, before any await, while this timer is due before the jobs' own timers,
    // so they cannot record their results first.
    if (since >= lockTtlMs && !this.#held) this.ctx.interruptLapsed(since);
    const heartbeat = Date.now() - this.#lastHeartbeat >= this.o.heartbeatMs;
    let renewed;
    try {
      renewed = await this.ctx.store.renew(this.ctx.ids, lockTtlMs, heartbeat);
    } catch (err) {
      // Unconfirmed for longer than the lock lifetime: the jobs may be running elsewhere.
      if (performance.now() - this.#renewedAt >= lockTtlMs) this.ctx.interruptLapsed(performance.now() - this.#renewedAt);
      throw err;
    }
    // Released meanwhile (the stop unregistered the slots): what this renewal found is stale, and
    // registering them again would bring a stopped worker back.
    if (!this.ctx.isRunning()) return;
    this.#renewedAt = sentAt;
    if (heartbeat) this.#lastHeartbeat = Date.now();
    if (renewed.heldByOther) this.#heldSeenAt = sentAt;
    this.#logHeldChange();
    // With our leases kept from outside, a lapse on our clock proves nothing. A job is lost only
    // where its slot was recovered, which removes the slot's registration in the same script as its
    // jobs; a lock that had lapsed is set again by this renewal, so nobody can recover the slot now.
    for (const id of renewed.unregistered) this.#lost.add(id);
    if (renewed.unregistered.length > 0) this.ctx.interruptLapsed(since, renewed.unregistered);
    const lost = [...new Set([...renewed.lapsed, ...renewed.unregistered])];
    for (const id of lost) this.ctx.log.warn(`worker ${id} had lost its owner lock or registration (process frozen, pruned, or Redis restarted); registering again`);
    if (lost.length > 0) await this.ctx.store.registerWorkers(lost, lockTtlMs);
  }

  // --- internal ---

  /**
   * Someone (a master, `Queue.holdLocks`) keeps our owner locks too, as of the last confirmed
   * renewal: a renewal found them held (or `heldByMaster` vouched since the start) within one
   * lock lifetime before it. A holder renews every lockTtlMs / 3, so a live one never drops out
   * of this window, and a gone one does within a lock lifetime.
   */
  get #held(): boolean {
    return this.#renewedAt - this.#heldSeenAt < this.o.lockTtlMs;
  }

  #logHeldChange(): void {
    const held = this.#held;
    if (held && !this.#wasHeld) this.ctx.log.debug(`the owner locks of ${this.ctx.id} are held from outside too (Queue.holdLocks): a lapse is judged by Redis`);
    if (!held && this.#wasHeld) {
      this.ctx.log.debug(`the owner locks of ${this.ctx.id} are no longer held from outside (none found held for ${this.o.lockTtlMs / 1000}s): a lapse is judged by our own clock`);
    }
    this.#wasHeld = held;
  }
}
