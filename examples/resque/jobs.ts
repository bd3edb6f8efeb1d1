import { Redis } from 'ioredis';

// Example job classes. Each handler gets the job's args spread, like Ruby's perform(*args),
// and its context (AbortSignal, queue, …) through `this`.

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const namespace = process.env.RESQUE_NAMESPACE ?? 'resque';
let client: Redis | undefined;
const redis = () => (client ??= new Redis(redisUrl));

/** Pretends to resize an image for `ms` milliseconds, then records that it is done. */
export async function resizeImage(this: { signal?: AbortSignal } | undefined, id: string, ms = 200): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    this?.signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    });
  });
  // The demo counts these: one entry per finished job, with the worker's pid and master.
  await redis().rpush(`${namespace}:demo:done`, `${id}:${process.pid}:${process.env.RESQUE_STARTER_MASTER_PID}:${Date.now()}`);
}

/**
 * Calls a flaky payment API: its first two attempts fail, the third succeeds. With `retry` in
 * conf.ts, each failure waits in the delayed queue (2 s, then 4 s) instead of going to `failed`.
 */
export async function sendReceipt(this: { attempt: number }, orderId: string): Promise<void> {
  if (this.attempt <= 2) throw new Error(`payment API timed out for order ${orderId} (attempt ${this.attempt})`);
  await redis().rpush(`${namespace}:demo:receipts`, `${orderId}:attempt ${this.attempt}:${Date.now()}`);
}

/** Run by the schedule in conf.ts: records that it ran (once per run, whichever master leads). */
export async function heartbeat(source: string): Promise<void> {
  await redis().rpush(`${namespace}:demo:heartbeats`, `${source}:${process.pid}:${Date.now()}`);
}

/** Fails on purpose: shows up in Resque's failed list. */
export function alwaysFails(reason: string): never {
  throw new Error(`failing on purpose: ${reason}`);
}
