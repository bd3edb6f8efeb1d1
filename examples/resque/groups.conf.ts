import { defineConfig } from '@baton/resque-starter';
import { alwaysFails, heartbeat, resizeImage, sendReceipt } from './jobs.ts';

// Worker groups: one master runs three pools, each with its own queues, counts and limits
// (`resque-starter -c groups.conf.ts`; `resque-starter status --text -c groups.conf.ts` shows a
// line per group, `resque-starter scale mail 4 -c groups.conf.ts` scales one). Top-level fields
// are every group's defaults. A second Redis for a group: `redis: 'redis://127.0.0.1:6380'`.
export default defineConfig({
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  namespace: process.env.RESQUE_NAMESPACE ?? 'resque',
  pidFile: 'tmp/resque-starter.pid',
  statusFile: 'tmp/resque-starter.json',
  restartFile: 'tmp/restart.txt',
  stopTimeout: 30,
  jobs: {
    ResizeImage: resizeImage,
    AlwaysFails: alwaysFails,
    SendReceipt: { perform: sendReceipt, retry: { limit: 3, backoff: { exponential: 2, max: 60 }, jitter: 0.1 } },
    Heartbeat: heartbeat,
  },
  groups: {
    // Latency-sensitive work: a fixed pool of small workers.
    images: { queues: ['images'], concurrency: 3, maxMemory: 256 },
    // Mostly waiting on other services: few processes, several jobs at a time each.
    mail: { queues: ['mail'], concurrency: 2, jobConcurrency: 4, jobs: ['SendReceipt', 'ResizeImage'] },
    // Batch work: one big worker, one job at a time. Add `autoscale: { min: 1, max: 3 }` to have
    // its count follow the jobs waiting in `reports` (the README's Groups section).
    reports: { queues: ['reports'], concurrency: 1, maxMemory: 2048, jobTimeout: 3600 },
  },
});
