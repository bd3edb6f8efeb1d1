/** Every Redis key name baton's Resque layer uses, under one namespace (default `resque`). */
export interface Keys {
  readonly prefix: string;
  /** Set of queue names (Resque). */
  queues: string;
  queue(name: string): string;
  /** Set of registered worker ids (Resque). */
  workers: string;
  /** JSON `{"queue","run_at","payload"}` while a worker works (Resque). */
  worker(id: string): string;
  workerStarted(id: string): string;
  /** Hash id → ISO 8601 time from Redis TIME (Resque ≥ 2.0). */
  heartbeat: string;
  statProcessed: string;
  statFailed: string;
  statProcessedOf(id: string): string;
  statFailedOf(id: string): string;
  /** List of failure records (Resque). */
  failed: string;
  /** `"true"` pauses every worker (Resque ≥ 2.3). */
  pauseAll: string;
  // --- baton additions (new keys only; Resque's keys keep their shapes) ---
  /** List holding the job a worker slot has reserved and not yet acknowledged. */
  inflight(id: string): string;
  /** Owner lock of a worker slot (`SET PX`, renewed while the process lives). */
  ownerLock(id: string): string;
  /** Set of baton worker ids, so a janitor can find dead ones without scanning. */
  batonWorkers: string;
  /** Recovery counter of one job (by payload digest). */
  recoveries(digest: string): string;
  /** Pub/sub channel our producers publish on after an enqueue (wakes idle workers). */
  wakeChannel: string;
}

/** Why: one place owns the key layout (BullMQ's QueueKeys, Resque's DataStore). */
export function createKeys(namespace = 'resque'): Keys {
  const p = `${namespace}:`;
  return {
    prefix: p,
    queues: `${p}queues`,
    queue: (name) => `${p}queue:${name}`,
    workers: `${p}workers`,
    worker: (id) => `${p}worker:${id}`,
    workerStarted: (id) => `${p}worker:${id}:started`,
    heartbeat: `${p}workers:heartbeat`,
    statProcessed: `${p}stat:processed`,
    statFailed: `${p}stat:failed`,
    statProcessedOf: (id) => `${p}stat:processed:${id}`,
    statFailedOf: (id) => `${p}stat:failed:${id}`,
    failed: `${p}failed`,
    pauseAll: `${p}pause-all-workers`,
    inflight: (id) => `${p}baton:inflight:${id}`,
    ownerLock: (id) => `${p}baton:lock:${id}`,
    batonWorkers: `${p}baton:workers`,
    recoveries: (digest) => `${p}baton:recoveries:${digest}`,
    wakeChannel: `${p}baton:enqueued`,
  };
}
