import type { RedisOptions } from 'ioredis';

// The slice of `@baton/resque` this package uses (issue 3's contract). Loaded lazily so the
// master can validate a config (`check`) without connecting anywhere.

export interface ResqueJobRef {
  queue: string;
  payload: { class: string; args: unknown[] };
  startedAt: number | Date;
  /** sha1 hex of the payload bytes: the job's identity in its slot's in-flight list. */
  jobId?: string;
  /** The Resque id of the slot running it. */
  workerId?: string;
}

export interface ResqueWorker {
  readonly id: string;
  /** One id per unit of concurrency (slot k > 0 registers as host:pid+k:queues). */
  readonly ids?: readonly string[];
  readonly state: 'starting' | 'idle' | 'busy' | 'paused' | 'stopping' | 'stopped';
  readonly current: readonly ResqueJobRef[];
  readonly processed: number;
  start(): Promise<void>;
  pause(): void | Promise<void>;
  resume(): void | Promise<void>;
  abortCurrentJobs(): void;
  stop(options: { graceful: boolean; graceMs?: number }): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface ResqueQueue {
  recoverWorker(workerId: string): Promise<number>;
  /** Records the in-flight job `jobId` (sha1 of its payload) of slot `workerId` as failed and drops it from the slot. */
  failInflight(workerId: string, jobId: string, failure: { exception: string; error: string }): Promise<boolean>;
  /** Extends the owner locks that still exist; returns the ids whose lock was gone. */
  holdLocks(workerIds: readonly string[], ttlMs: number): Promise<string[]>;
  close(): Promise<void> | void;
}

export interface ResqueModule {
  Queue: new (options: { redis: string | RedisOptions; namespace?: string; maxRecoveries?: number }) => ResqueQueue;
  Worker: new (options: {
    redis: string | RedisOptions;
    namespace?: string;
    queues: string[];
    jobs: Record<string, (...args: any[]) => unknown>;
    concurrency?: number;
    prefetch?: number;
    lockTtlMs?: number;
    leasesHeldByMaster?: boolean;
    maxRecoveries?: number;
    interval?: number;
    pid?: number;
    logger?: unknown;
    hooks?: Record<string, unknown>;
  }) => ResqueWorker;
}

let loaded: Promise<ResqueModule> | undefined;

/** Why: one place that knows where the Resque library comes from. */
export function loadResque(): Promise<ResqueModule> {
  // RESQUE_STARTER_RESQUE_MODULE: another module with the same API (tests, experiments).
  const name = process.env.RESQUE_STARTER_RESQUE_MODULE || '@baton/resque';
  loaded ??= import(name) as Promise<ResqueModule>;
  return loaded;
}
