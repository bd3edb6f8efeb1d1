// The messages exchanged between the master and its workers over the IPC channel, and the
// environment a worker is started with. Both sides import these types; nothing else.
import type { RedisTrouble as ResqueRedisTrouble } from '@baton/resque';

/** The job a worker is running, as shown in titles and the status file (args left out: they may hold secrets). */
export interface JobInfo {
  queue: string;
  class: string;
  /** Epoch ms. */
  startedAt: number;
  /** The job's identity in its slot's in-flight list (sha1 of the payload bytes), when known. */
  id?: string | undefined;
  /** The Resque worker id of the slot running it. */
  worker?: string | undefined;
}

/** A Redis condition starting (`down`) or ending (`up`), as the worker's Worker reports it (its `redis` event). */
export type RedisTrouble = Pick<ResqueRedisTrouble, 'state' | 'condition' | 'message'> & Partial<Pick<ResqueRedisTrouble, 'ms' | 'attempts'>>;

export type WorkerToMaster =
  /** The Resque worker object exists; its id lets the master recover its jobs if it dies. */
  | { t: 'hello'; id: string; ids?: string[] }
  /** retireOldWorker() in a worker group: its master asks the old master (over their link) to retire one worker of the group. */
  | { t: 'retire' }
  /** Registered, taking jobs, afterFork done: the master may signal it and count it. */
  | { t: 'ready'; retired?: boolean }
  /** A job is about to run: sent synchronously before its handler, so a job that blocks the loop is still seen. */
  | { t: 'job'; job: JobInfo }
  | { t: 'state'; activity: 'idle' | 'busy' | 'paused'; job: JobInfo | undefined; jobs?: JobInfo[]; processed: number; rssKb?: number }
  /** A limit (maxJobs, maxLifetime, maxMemory) was reached: it finishes and exits by itself. */
  | { t: 'recycling'; reason: string }
  /** It cannot start (config, Redis, afterFork threw): the reason, before it exits non-zero. */
  | { t: 'fatal'; message: string }
  /** A Redis condition started or ended (logged by the master once per condition, not per worker). */
  | { t: 'redis'; trouble: RedisTrouble }
  /** Metrics on: the jobs finished since the last message, added up per class and queue (sent at most every 100 ms, and before exit). */
  | { t: 'done'; jobs: JobCounts[] };

/**
 * Jobs of one class and queue for the master's metrics: run, failed, their run times sorted into
 * the histogram's buckets (master/metrics-store.ts DURATION_BUCKETS, +Inf last) and their sum in seconds.
 */
export type JobCounts = [cls: string, queue: string, processed: number, failed: number, buckets: number[], seconds: number];

export type MasterToWorker =
  | { t: 'pause' }
  | { t: 'resume' }
  /** USR1: abort the current jobs, keep working. */
  | { t: 'abort' }
  /** A newer master took over (titles say OLD), or gave the slot back. */
  | { t: 'old'; old: boolean }
  /** To a spare: become the worker these variables describe (WorkerEnv's slot, group, …); only now does it load the config. */
  | { t: 'become'; env: Record<string, string> };

/** Environment variables a worker is started with (also how /proc scans recognise workers). */
export const WorkerEnv = {
  config: 'RESQUE_STARTER_CONFIG',
  slot: 'RESQUE_STARTER_SLOT',
  /** The worker's group (`default` for a config without `groups`). */
  group: 'RESQUE_STARTER_GROUP',
  masterPid: 'RESQUE_STARTER_MASTER_PID',
  retirePid: 'RESQUE_STARTER_RETIRE_PID',
  paused: 'RESQUE_STARTER_PAUSED',
  generation: 'RESQUE_STARTER_GENERATION',
  /** The compiled-config cache entry the master imported (empty: workers load conf.ts with jiti). */
  compiled: 'RESQUE_STARTER_COMPILED_CONFIG',
  /** `text` or `json`: the master's format (its `--log-format` or the config's), which the workers' lines follow. */
  logFormat: 'RESQUE_STARTER_LOG_FORMAT',
  /**
   * `1`: a spare, started ahead of need during a rolling restart: our code loaded, no app code,
   * until the master hands it a slot (`become`). Not a worker until then (its title says so).
   */
  spare: 'RESQUE_STARTER_SPARE',
  /** `1` when the master serves metrics: the worker reports each finished job (`done`). */
  metrics: 'RESQUE_STARTER_METRICS',
} as const;

/** Exit codes of a worker process. */
export const WorkerExit = {
  ok: 0,
  /** Could not start: config, Redis, afterFork. */
  startFailed: 70,
  /** The master went away. */
  orphaned: 71,
} as const;

export function isWorkerMessage(m: unknown): m is WorkerToMaster {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}
