import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker, type DurabilityOptions, type RedisInput, type RedisTrouble, type WorkerLogger } from '../../packages/resque/src/index.js';

/** Log lines of in-process workers, by level. */
export class LogLines {
  readonly lines: string[] = [];
  readonly logger: WorkerLogger = {
    debug: () => undefined,
    info: (m: string) => void this.lines.push(`info ${m}`),
    warn: (m: string) => void this.lines.push(`warn ${m}`),
    error: (m: string) => void this.lines.push(`error ${m}`),
  };
  count(re?: RegExp): number {
    return re ? this.lines.filter((l) => re.test(l)).length : this.lines.length;
  }
}

export interface FlowOptions {
  redis: RedisInput;
  namespace: string;
  workers?: number;
  concurrency?: number;
  jobMs?: number;
  /** Enqueues per second. */
  rate?: number;
  lockTtlMs?: number;
  durability?: DurabilityOptions;
  queueDurability?: DurabilityOptions;
}

/**
 * Why: failover tests prove "0 lost, 0 duplicates" by counting outside Redis: each job id's
 * enqueue acknowledgement, and each completed run appended to a file (one line per run).
 * In-process workers and one producer enqueueing at a steady rate until `stopProducing()`.
 */
export class JobFlow {
  readonly log = new LogLines();
  readonly queue: Queue;
  readonly workers: Worker[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'baton-flow-'));
  readonly runsFile = join(this.dir, 'runs');
  /** Ids whose enqueue resolved. */
  readonly acked = new Set<number>();
  /** Ids whose enqueue rejected (not acknowledged: may or may not run). */
  readonly rejected = new Map<number, string>();
  /** Date.now() of each completed run (acknowledged by Redis), in order. */
  readonly successes: number[] = [];
  readonly redisEvents: RedisTrouble[] = [];
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  #pending = new Set<Promise<void>>();

  constructor(private readonly o: FlowOptions) {
    this.queue = new Queue({ redis: o.redis, namespace: o.namespace, ...(o.queueDurability ? { durability: o.queueDurability } : {}) });
    for (let i = 0; i < (o.workers ?? 2); i++) {
      const w = new Worker({
        redis: o.redis,
        namespace: o.namespace,
        queues: ['flow'],
        concurrency: o.concurrency ?? 3,
        logger: this.log.logger,
        hostname: `flow${i}`,
        ...(o.lockTtlMs ? { lockTtlMs: o.lockTtlMs } : {}),
        ...(o.durability ? { durability: o.durability } : {}),
        jobs: {
          // jobMs 0: a synchronous job (short jobs are reserved in batches, prefetch).
          Rec:
            o.jobMs === 0
              ? (id: number) => appendFileSync(this.runsFile, `${id}\n`)
              : async (id: number) => {
                  await new Promise((r) => setTimeout(r, o.jobMs ?? 20));
                  appendFileSync(this.runsFile, `${id}\n`);
                },
        },
      });
      w.on('success', () => void this.successes.push(Date.now()));
      w.on('redis', (t) => void this.redisEvents.push(t));
      w.on('error', () => undefined);
      this.workers.push(w);
    }
  }

  async start(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.start()));
  }

  /** Enqueues `rate` jobs per second, each with the next id, without waiting for the previous one. */
  startProducing(): void {
    const every = 1000 / (this.o.rate ?? 100);
    this.#timer = setInterval(() => this.enqueueOne(), every);
  }

  enqueueOne(): Promise<void> {
    const id = this.#next++;
    const p = this.queue.enqueue('flow', 'Rec', id).then(
      () => void this.acked.add(id),
      (err: Error) => void this.rejected.set(id, err.message),
    );
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
    return p;
  }

  /** Stops enqueueing and waits until every enqueue sent has resolved or rejected. */
  async stopProducing(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#pending]);
  }

  /** Completed runs per job id (from the file). */
  runs(): Map<number, number> {
    const m = new Map<number, number>();
    let text = '';
    try {
      text = readFileSync(this.runsFile, 'utf8');
    } catch {
      return m;
    }
    for (const l of text.split('\n')) if (l) m.set(Number(l), (m.get(Number(l)) ?? 0) + 1);
    return m;
  }

  /** Acknowledged enqueues that never ran, and ids that ran more than once. */
  tally(): { lost: number[]; duplicates: number[]; ran: number } {
    const runs = this.runs();
    return {
      lost: [...this.acked].filter((id) => !runs.has(id)),
      duplicates: [...runs].filter(([, n]) => n > 1).map(([id]) => id),
      ran: runs.size,
    };
  }

  /** The first completed run at or after `t` (Date.now()), or undefined. */
  firstSuccessAfter(t: number): number | undefined {
    return this.successes.find((s) => s >= t);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    // Bounded: a worker whose Redis is gone for good retries its acknowledgements for a minute.
    const stops = Promise.all(this.workers.map((w) => w.stop({ graceful: false, graceMs: 200 }).catch(() => undefined)));
    await Promise.race([stops, new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.queue.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
