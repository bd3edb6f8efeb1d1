import { defineConfig } from '@baton/resque-starter';
import { alwaysFails, heartbeat, resizeImage, sendReceipt } from './jobs.ts';

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
    // Retried: a failed attempt waits in the delayed queue, 2 s then 4 s (seconds, like every
    // duration here), then goes to `failed` with every attempt's error after the 4th attempt.
    SendReceipt: { perform: sendReceipt, retry: { limit: 3, backoff: { exponential: 2, max: 60 }, jitter: 0.1 } },
    Heartbeat: heartbeat,
  },
  // Recurring jobs: each run is enqueued once, by whichever master leads the scheduler.
  schedule: {
    heartbeat: { every: 10, class: 'Heartbeat', args: ['every 10 s'], queue: 'default' },
    nightly: { cron: '0 3 * * *', tz: 'Europe/Paris', class: 'Heartbeat', args: ['03:00 Paris'], queue: 'default' },
  },
  // The default afterFork already does this; shown here because it is the rolling hand-off:
  // once this new worker is ready, the old master retires one of its workers.
  afterFork(worker) {
    worker.retireOldWorker();
  },
});
