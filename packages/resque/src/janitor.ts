import type { DataStore } from './data-store.js';
import type { WorkerLogger } from './job.js';
import { repeat } from './_utils.js';

/** What the janitor needs from its worker. */
export interface JanitorContext {
  /** This worker's slot ids: never recovered by itself. */
  readonly ids: readonly string[];
  readonly log: WorkerLogger;
  readonly store: Pick<DataStore, 'deadBatonWorkers' | 'recover'>;
  /** A stopping worker recovers nobody. */
  isStopping(): boolean;
  /**
   * Milliseconds since this worker's connection last had trouble (a reconnection, an outage, a
   * refusal to write); 0 while it has. Others' locks are judged only after a lock lifetime of quiet.
   */
  quietFor(): number;
  /** Dead worker `id`'s jobs went back to their queues (or to `failed`). */
  recovered(id: string, r: { requeued: number; failed: number }): void;
}

/**
 * Why: any live worker recovers a dead one (its owner lock gone): its in-flight jobs go back to
 * the head of their queues, or to `failed` once one has killed `maxRecoveries` workers.
 */
export class Janitor {
  constructor(
    private readonly ctx: JanitorContext,
    private readonly o: { lockTtlMs: number; maxRecoveries: number },
  ) {}

  /** Sweeps every lockTtlMs / 2 until the worker stops (or `signal` aborts). */
  run(signal: AbortSignal, onError: (err: Error) => void): void {
    void repeat(Math.max(100, Math.floor(this.o.lockTtlMs / 2)), () => this.sweep(), { signal, more: () => !this.ctx.isStopping(), onError });
  }

  /**
   * Recovers the slots whose owner lock is gone. Not within a lock lifetime after this worker's
   * own connection trouble: a failover or outage kept every worker from renewing, and their
   * renewals need that long to land again; a lock missing then proves no death (recovering it
   * would run a live worker's job twice).
   */
  async sweep(): Promise<void> {
    if (this.ctx.isStopping() || this.ctx.quietFor() < this.o.lockTtlMs) return;
    const dead = await this.ctx.store.deadBatonWorkers(new Set(this.ctx.ids));
    for (const id of dead) {
      const r = await this.ctx.store.recover(id, false, this.o.maxRecoveries);
      if (!r) continue;
      this.ctx.log.info(`recovered dead worker ${id}: ${r.requeued} job(s) back at the head of their queue, ${r.failed} failed`);
      this.ctx.recovered(id, r);
    }
  }
}
