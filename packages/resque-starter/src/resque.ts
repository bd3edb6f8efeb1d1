import type { InFlightJob, JobContext, Queue, RedisInput, Worker } from '@baton/resque';
import type { WatchedClient } from './master/redis-link.js';

// The slice of `@baton/resque` this package uses, taken from the library's own types (so it
// cannot drift from them). The module is loaded lazily so the master can validate a config
// (`check`) without loading the library or connecting anywhere.

/** A job as the worker process reports it to its master. */
export type ResqueJobRef = Pick<InFlightJob, 'queue' | 'payload' | 'startedAt' | 'jobId' | 'workerId'>;

/** What `currentJob()` gives: the running job's context (through AsyncLocalStorage). */
export type JobContextLike = Pick<JobContext, 'payload' | 'className' | 'queue' | 'attempt' | 'workerId'>;

/** What the worker process drives. */
export type ResqueWorker = Pick<
  Worker,
  'id' | 'ids' | 'state' | 'current' | 'processed' | 'start' | 'pause' | 'resume' | 'abortCurrentJobs' | 'stop' | 'on'
>;

/** What the master uses: job recovery, jobTimeout failures, lease holding. */
export type ResqueQueue = Pick<Queue, 'recoverWorker' | 'failInflight' | 'holdLocks' | 'close' | 'queues' | 'size' | 'peek'>;

/** What `resque-starter failed`/`queues` use: Resque's queues and failed list, as resque-web reads them. */
export type ResqueAdmin = Pick<
  Queue,
  'queues' | 'size' | 'peek' | 'failedCount' | 'failed' | 'requeueFailed' | 'requeueFailedMany' | 'removeFailed' | 'removeFailedMany' | 'clearFailed' | 'delayedCounts' | 'close'
>;

/** What the `web` dashboard reads besides: Resque's stats, the registered workers and the delayed jobs, a page at a time. */
export type ResqueWebReader = ResqueAdmin & Pick<Queue, 'stats' | 'workerIds' | 'workerCount' | 'workerDetails' | 'delayed' | 'delayedCount'>;

/** The module's two constructors and its connection factory, as `import('@baton/resque')` gives them. */
export interface ResqueModule {
  Queue: new (...args: ConstructorParameters<typeof Queue>) => ResqueQueue & ResqueWebReader;
  Worker: new (...args: ConstructorParameters<typeof Worker>) => ResqueWorker;
  /** Opens a connection as the library's own (reconnects, on READONLY too); absent in stand-ins. */
  createRedis?: (input: RedisInput | undefined, name: string) => WatchedClient;
  /** The job running in the caller's async context (a job's console output is tagged with it); absent in stand-ins. */
  currentJob?: () => JobContextLike | undefined;
}

let loaded: Promise<ResqueModule> | undefined;

/** Why: one place that knows where the Resque library comes from. */
export function loadResque(): Promise<ResqueModule> {
  // RESQUE_STARTER_RESQUE_MODULE: another module with the same API (tests, experiments).
  const name = process.env.RESQUE_STARTER_RESQUE_MODULE;
  // A literal import: the build bundles the library into a chunk shared by master and workers.
  loaded ??= (name ? import(name) : import('@baton/resque')) as Promise<ResqueModule>;
  return loaded;
}

// Compile-time conformance: the real module is a ResqueModule (a change to @baton/resque that
// breaks what this package calls fails the build here, not at run time in a worker).
type RealModule = typeof import('@baton/resque');
const conforms = (m: RealModule): ResqueModule => m;
void conforms;
