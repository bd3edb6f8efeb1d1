import type { Ack, DataStore, Reserved, Settled } from './data-store.js';
import type { SettleArgs, SlotCalls } from './slot.js';
import { isThenable } from './_utils.js';

/** What the batcher needs from its worker. */
export interface ReserveContext {
  readonly store: Pick<DataStore, 'reserve' | 'reserveMany' | 'settle' | 'requeue'>;
  /** The queues to reserve from now, in priority order; none while paused or stopping (acknowledge only). */
  queues(): readonly string[] | Promise<readonly string[]>;
  /** The owner-lock TTL to set on a slot that gets a job, or undefined to leave the lock alone. */
  lockTtlArg(): number | undefined;
}

/** Prefetch grows while the jobs of a batch average less than this; at or above it, one job per reserve. */
const FAST_JOB_MS = 1;
/** Slots served by one reserve script call at most (bounds how long one call holds Redis). */
const MAX_BATCH = 64;
const NO_QUEUES: readonly string[] = Object.freeze([]);

type Batch = Array<{ id: string; ack: Ack | undefined; resolve: (r: Reserved) => void; reject: (err: unknown) => void }>;

/**
 * Why: the slots' Redis calls, made as few as possible. At concurrency N, reserve requests of slots
 * that became free in the same tick go out as one script call (one round trip and one script run
 * serve many jobs); at concurrency 1, a slot reserves a batch of up to `prefetch` jobs while jobs
 * are short, and one job at a time as soon as they are not.
 */
export class ReserveBatcher implements SlotCalls {
  /** Reserve requests collected in this tick (concurrency > 1). */
  #batch: Batch | undefined;
  /** Jobs the next reserve asks for: adapts between 1 and `prefetch` at concurrency 1, stays 1 above. */
  #size = 1;
  /** performance.now() when the last batch was reserved. */
  #batchAt = 0;

  constructor(
    private readonly ctx: ReserveContext,
    private readonly o: { slots: number; prefetch: number },
  ) {}

  /**
   * Jobs a slot that takes jobs asks for now. With one slot, the batch doubles (up to `prefetch`)
   * while the `finished` jobs of the last one averaged under FAST_JOB_MS each, else drops to one.
   */
  want(finished: number): number {
    if (finished > 0 && this.o.slots === 1) {
      const perJobMs = (performance.now() - this.#batchAt) / finished;
      this.#size = perJobMs < FAST_JOB_MS ? Math.min(this.o.prefetch, this.#size * 2) : 1;
    }
    return this.#size;
  }

  /** A slot took the jobs of a reserve: their time starts now. */
  reserved(): void {
    this.#batchAt = performance.now();
  }

  /** A batch's jobs were given back (one ran long): one job per reserve again. */
  shrink(): void {
    this.#size = 1;
  }

  reserve(id: string, ack: Ack | undefined, want: number): Promise<Reserved> {
    if (this.o.slots > 1) return this.#reserveBatched(id, ack);
    const queues = want > 0 ? this.ctx.queues() : NO_QUEUES;
    if (isThenable(queues)) return queues.then((q) => this.ctx.store.reserve(id, q, this.ctx.lockTtlArg(), ack));
    return this.ctx.store.reserve(id, queues, this.ctx.lockTtlArg(), ack);
  }

  settle(id: string, o: SettleArgs): Promise<Settled> {
    if (o.want <= 0) return this.ctx.store.settle(id, NO_QUEUES, undefined, o);
    const queues = this.ctx.queues();
    if (isThenable(queues)) return queues.then((q) => this.ctx.store.settle(id, q, this.ctx.lockTtlArg(), o));
    return this.ctx.store.settle(id, queues, this.ctx.lockTtlArg(), o);
  }

  requeue(id: string, raw: string | Buffer): Promise<boolean> {
    return this.ctx.store.requeue(id, raw);
  }

  // --- internal ---

  #reserveBatched(id: string, ack: Ack | undefined): Promise<Reserved> {
    return new Promise((resolve, reject) => {
      let batch = this.#batch;
      if (!batch || batch.length >= MAX_BATCH) {
        const fresh: Batch = (batch = this.#batch = []);
        process.nextTick(() => void this.#flush(fresh));
      }
      batch.push({ id, ack, resolve, reject });
    });
  }

  async #flush(batch: Batch): Promise<void> {
    if (this.#batch === batch) this.#batch = undefined;
    try {
      const queues = this.ctx.queues();
      const results = await this.ctx.store.reserveMany(batch, isThenable(queues) ? await queues : queues, this.ctx.lockTtlArg());
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}
