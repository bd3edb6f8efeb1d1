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

/** One client per Redis (and namespace) the worker groups use. */
export interface QueueClients {
  /** The client of `group`'s Redis (groups on the same Redis and namespace share it). */
  forGroup(group: string): QueueClient;
  /** Every client made so far, with the key of its Redis. */
  all(): Array<{ key: string; client: QueueClient }>;
  close(): Promise<void>;
}

/**
 * Why: groups may use several Redis servers or databases; a dead worker's jobs go back to its
 * own group's Redis, and the leases of each group's workers are held there. `keyOf` names the
 * Redis of a group (groups with the same key share a client); `make` connects to it.
 */
export function createQueueClients(keyOf: (group: string) => string, make: (group: string) => Promise<ResqueQueue>): QueueClients {
  const clients = new Map<string, QueueClient>();
  return {
    forGroup(group) {
      const key = keyOf(group);
      let client = clients.get(key);
      if (!client) clients.set(key, (client = createQueueClient(() => make(group))));
      return client;
    },
    all: () => [...clients].map(([key, client]) => ({ key, client })),
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close()));
    },
  };
}
