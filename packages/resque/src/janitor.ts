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

  async sweep(): Promise<void> {
    if (this.ctx.isStopping()) return;
    const dead = await this.ctx.store.deadBatonWorkers(new Set(this.ctx.ids));
    for (const id of dead) {
      const r = await this.ctx.store.recover(id, false, this.o.maxRecoveries);
      if (!r) continue;
      this.ctx.log.info(`recovered dead worker ${id}: ${r.requeued} job(s) back at the head of their queue, ${r.failed} failed`);
      this.ctx.recovered(id, r);
    }
  }
}
