// Configs that must NOT compile: each `@ts-expect-error` must be used, or this file fails to
// compile (tsc reports an unused directive). Misspelled fields are excess-property errors at the
// field itself, with TypeScript's own "Did you mean to write …?".
import { defineConfig } from '../../src/index.js';

const jobs = { A: (id: number) => id };

// --- misspelled top-level fields (the four of issue 11) ---
// @ts-expect-error `concurency` → concurrency
defineConfig({ jobs, concurency: 2 });
// @ts-expect-error `queue` → queues
defineConfig({ jobs, queue: ['a'] });
// @ts-expect-error `pidfile` → pidFile
defineConfig({ jobs, pidfile: 'm.pid' });
// @ts-expect-error `crashloop` → crashLoop
defineConfig({ jobs, crashloop: { deaths: 1 } });
// @ts-expect-error `job` → jobs (and jobs is then missing)
defineConfig({ job: jobs });

// --- misspelled nested fields ---
// @ts-expect-error `crashLoop.dealy` → delay
defineConfig({ jobs, crashLoop: { dealy: 1 } });
// @ts-expect-error `hooks.beforPerform` → beforePerform
defineConfig({ jobs, hooks: { beforPerform: () => undefined } });
// @ts-expect-error `redis.hots` → host
defineConfig({ jobs, redis: { hots: '127.0.0.1' } });

// --- wrong value types ---
// @ts-expect-error concurrency must be a number
defineConfig({ jobs, concurrency: 'two' });
// @ts-expect-error queues must be strings
defineConfig({ jobs, queues: [1, 2] });
// @ts-expect-error redis must be a URL or ioredis options
defineConfig({ jobs, redis: 6379 });
// @ts-expect-error logLevel must be a consola level name or number
defineConfig({ jobs, logLevel: 'loud' });
// @ts-expect-error stopTimeout must be a number of seconds
defineConfig({ jobs, stopTimeout: '60s' });
// @ts-expect-error reapJobProcesses must be a boolean
defineConfig({ jobs, reapJobProcesses: 'yes' });
// @ts-expect-error crashLoop must be an object
defineConfig({ jobs, crashLoop: 4 });
// @ts-expect-error jobs is required
defineConfig({ concurrency: 1 });

// --- handlers and hooks of the wrong shape ---
// @ts-expect-error a handler must be a function
defineConfig({ jobs: { A: 42 } });
// @ts-expect-error jobs must be an object of handlers, not a list
defineConfig({ jobs: [(id: number) => id] });
// @ts-expect-error a hook must be a function
defineConfig({ jobs, hooks: { beforePerform: true } });
defineConfig({
  jobs,
  // @ts-expect-error beforeFork gets the master, not a worker
  beforeFork: (master: { retireOldWorker(): boolean }) => void master,
});
defineConfig({
  jobs,
  afterFork(worker) {
    // @ts-expect-error the WorkerHandle has no `kill`
    worker.kill();
  },
});
defineConfig({
  jobs: {
    Method() {
      // @ts-expect-error a handler's `this` is the JobContext, which has no `retry`
      this.retry();
    },
  },
});

// Handler types are kept: calling one with the wrong arguments is an error.
const c = defineConfig({ jobs: { Archive: async (id: number) => id } });
// @ts-expect-error Archive takes a number
void c.jobs.Archive.call({} as never, 'x');
