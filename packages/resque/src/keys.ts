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
  // --- resque-scheduler's delayed-queue layout (SCHEDULER.md) ---
  /** Zset of the seconds that hold delayed jobs (member = score = unix seconds). */
  delayedSchedule: string;
  /** List of the delayed jobs due in second `secs` (`{"class","args","queue"}`). */
  delayed(secs: number | string): string;
  /** Set of the `delayed:<secs>` lists that hold `item` (a delayed job's exact bytes). */
  timestamps(item: string): string;
  /** resque-scheduler's master lock, `<ns>:<ns>:resque_scheduler_master_lock` as Ruby really writes it (its value: the leader's fencing token). */
  schedulerLock: string;
  // --- baton additions to it ---
  /** Zset item → due epoch ms of the jobs of second `secs` due after its start (millisecond precision). */
  delayedAt(secs: number | string): string;
  /** Pub/sub channel: an earlier delayed job was scheduled (message: its due ms), or the leader left ('released'). */
  schedulerChannel: string;
  /** Hash schedule name → the last tick (epoch ms) enqueued. */
  scheduleLast: string;
  /** The idempotency key of one tick of a recurring job. */
  scheduleTick(name: string, tickMs: number): string;
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
    delayedSchedule: `${p}delayed_queue_schedule`,
    delayed: (secs) => `${p}delayed:${secs}`,
    timestamps: (item) => `${p}timestamps:${item}`,
    // resque-scheduler builds `<ns>:resque_scheduler_master_lock` and sends it through
    // Redis::Namespace, which prefixes it again (checked with redis-namespace 1.9).
    schedulerLock: `${p}${namespace}:resque_scheduler_master_lock`,
    delayedAt: (secs) => `${p}baton:delayed_at:${secs}`,
    schedulerChannel: `${p}baton:scheduler`,
    scheduleLast: `${p}baton:schedule:last`,
    scheduleTick: (name, tickMs) => `${p}baton:schedule:tick:${name}:${tickMs}`,
  };
}
