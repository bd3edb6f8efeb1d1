import type { Logger, ProcessHost } from '@baton/process-kit';
import type { QueueClient } from './queue-client.js';
import { messages } from '../messages.js';

export interface LeaseHolderOptions {
  /** The Resque ids of the ready workers that are alive now, with the client of their Redis (one batch per Redis). */
  batches(): Array<{ queue: QueueClient; ids: string[] }>;
  lockTimeoutMs: number;
  logger: Logger;
  /** Each renewal's outcome (undefined: it was written) on the Redis of `queue`, for the master's Redis health. */
  onWrite?: ((err: Error | undefined, queue: QueueClient) => void) | undefined;
}

/**
 * Why: a job that blocks its worker's event loop stops the worker's lock renewal. While the
 * worker process is alive and ready, the master holds its leases, so no other worker takes its
 * job (jobTimeout, enforced by the master, is what ends such a job). Every lockTimeout/3, one
 * renewal at a time: while Redis is away they must not pile up. Returns stop.
 */
export function holdLeases(host: Pick<ProcessHost, 'every'>, o: LeaseHolderOptions): () => void {
  let holding = false;
  const renew = async () => {
    const batches = o.batches().filter((b) => b.ids.length > 0);
    if (batches.length === 0 || holding) return;
    holding = true;
    try {
      // Each Redis on its own: one that is away does not hold back the leases on the others.
      await Promise.all(
        batches.map(async (b) => {
          try {
            await (await b.queue.get()).holdLocks(b.ids, o.lockTimeoutMs);
            o.onWrite?.(undefined, b.queue);
          } catch (err) {
            o.logger.debug(messages.holdingLeasesFailed((err as Error).message));
            o.onWrite?.(err as Error, b.queue);
          }
        }),
      );
    } finally {
      holding = false;
    }
  };
  return host.every(Math.max(100, Math.floor(o.lockTimeoutMs / 3)), () => void renew());
}
