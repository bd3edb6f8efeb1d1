// Configs that must compile, with the types they must infer (checked by assignments that fail
// when the inferred type is looser or different).
import { currentJob, type JobContext, type Worker } from '@baton/resque';
import { defineConfig, type MasterHandle, type ResqueStarterConfig, type WorkerHandle } from '../../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_: T): void => undefined;

// Every field, with the values the README documents.
export const full = defineConfig({
  concurrency: 3,
  maxConcurrency: 16,
  queues: ['high', 'low'],
  redis: 'redis://127.0.0.1:6379',
  namespace: 'resque',
  dequeueInterval: 5,
  jobConcurrency: 1,
  prefetch: 16,
  jobs: {
    Archive: async (id: number, bucket: string) => ({ id, bucket }),
    Plain(name: string) {
      return name.length;
    },
  },
  hooks: {
    beforePerform(ctx) {
      assertType<Equal<typeof ctx, JobContext>>(true);
    },
    onFailure: (error, ctx) => void [error, ctx.className],
    workerStart: (worker) => void worker.id,
  },
  pidFile: 'tmp/m.pid',
  statusFile: 'tmp/s.json',
  logFile: 'tmp/m.log',
  fileMode: '0640',
  logLevel: 'debug',
  restartFile: 'tmp/restart.txt',
  user: 'nobody',
  group: 65534,
  maxMemory: 256,
  maxJobs: 1000,
  maxLifetime: 3600,
  jobTimeout: 30,
  stopTimeout: Infinity,
  termTimeout: 4,
  readyTimeout: 30,
  redisTimeout: 5,
  lockTimeout: 10,
  maxRecoveries: 3,
  reapJobProcesses: true,
  statusInterval: 1,
  crashLoop: { deaths: 4, window: 60, delay: 1, maxDelay: 60 },
  serverStarterStatusFile: '/tmp/start_server.status',
  beforeFork(master, nr) {
    assertType<Equal<typeof master, MasterHandle>>(true);
    assertType<Equal<typeof nr, number>>(true);
  },
  afterFork: async (worker, nr) => {
    assertType<Equal<typeof worker, WorkerHandle>>(true);
    assertType<Equal<typeof nr, number>>(true);
    worker.retireOldWorker();
  },
});

// Handlers keep the parameter types they are written with.
assertType<Equal<Parameters<typeof full.jobs.Archive>, [id: number, bucket: string]>>(true);
assertType<Equal<ReturnType<typeof full.jobs.Archive>, Promise<{ id: number; bucket: string }>>>(true);
assertType<Equal<Parameters<typeof full.jobs.Plain>, [name: string]>>(true);
// The whole thing is a ResqueStarterConfig.
export const asConfig: ResqueStarterConfig = full;

// Method handlers get the job's context as `this`; arrow handlers reach it through currentJob().
export const withContext = defineConfig({
  jobs: {
    async Fetch(url: string) {
      assertType<Equal<typeof this, JobContext>>(true);
      return fetch(url, { signal: this.signal });
    },
    Arrow: (n: number) => currentJob()?.signal.aborted ?? n,
  },
});
assertType<Equal<Parameters<typeof withContext.jobs.Fetch>, [url: string]>>(true);

// Only `jobs` is required; queues may be a comma-separated string; redis may be ioredis options.
export const minimal = defineConfig({ jobs: {} });
export const options = defineConfig({ jobs: { A: () => undefined }, queues: 'a,b', redis: { host: '127.0.0.1', port: 6390, db: 2 } });

// Handlers defined elsewhere and shared through a variable.
const jobs = { Echo: (s: string) => s };
export const shared = defineConfig({ jobs, concurrency: Number(process.env.CONCURRENCY ?? 2) });
assertType<Equal<Parameters<typeof shared.jobs.Echo>, [s: string]>>(true);

// A hook may use the Worker type of @baton/resque.
export const typedWorker = defineConfig({ jobs, hooks: { workerExit: (w: Worker) => void w.id } });
