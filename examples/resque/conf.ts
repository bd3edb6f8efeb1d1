import { defineConfig } from '@baton/resque-starter';
import { alwaysFails, resizeImage } from './jobs.ts';

// `resque-starter -c conf.ts` loads this file at run time (jiti: no build step). Every field is
// documented on its type; hover it in your editor. Relative paths are relative to this file.
export default defineConfig({
  concurrency: Number(process.env.CONCURRENCY ?? 3),
  queues: ['images', 'default'],
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  namespace: process.env.RESQUE_NAMESPACE ?? 'resque',
  pidFile: 'tmp/resque-starter.pid',
  statusFile: 'tmp/resque-starter.json',
  restartFile: 'tmp/restart.txt',
  stopTimeout: 30,
  maxMemory: 256,
  jobs: {
    ResizeImage: resizeImage,
    AlwaysFails: alwaysFails,
  },
  // The default afterFork already does this; shown here because it is the rolling hand-off:
  // once this new worker is ready, the old master retires one of its workers.
  afterFork(worker) {
    worker.retireOldWorker();
  },
});
