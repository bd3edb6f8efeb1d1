import type { ResqueQueue } from '../resque.js';

/** The master's one Redis client for job recovery and lease holding. */
export interface QueueClient {
  /** The client, made on first use. */
  get(): Promise<ResqueQueue>;
  /** Closes it if it was made. */
  close(): Promise<void>;
}

/**
 * Why: recovery and lease holding share one connection, made only when first needed; the
 * promise is kept, so two first uses at once (a recovery and a lease renewal) do not open two.
 */
export function createQueueClient(make: () => Promise<ResqueQueue>): QueueClient {
  let made: Promise<ResqueQueue> | undefined;
  return {
    get: () => (made ??= make()),
    async close() {
      try {
        await (await made?.catch(() => undefined))?.close();
      } catch {
        // closing anyway
      }
    },
  };
}
