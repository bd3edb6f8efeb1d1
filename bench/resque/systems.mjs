// One adapter per queue system, the same shape for each, so the measurement code is shared:
//   producer(system, url, ns)  → { add(t), addMany(n), close() }
//   worker(system, url, ns, conc, { onStart(t), onDone() }) → { prepare(), start(), stop(), verify(total) }
// `onStart(t)` is called at the top of the no-op handler with what the producer put in the job
// (the enqueue timestamp in latency runs); `onDone()` when the system reports the job finished
// and acknowledged (our `success`, node-resque's `success`, BullMQ's `completed`).
// `baton-p1` is our Worker with `prefetch: 1` (one job per reserve, Ruby Resque's model).
// `baton-d` is our Worker and Queue with `durability: { replicas: opts.durability }` (WAIT after
// each enqueue, reserve and acknowledgement; bench.mjs --durability N starts the replicas).

export const QUEUE = 'bench';
export const CLASS = 'Noop';

/** node-resque polls an empty queue every `timeout` ms (its default is 5000: a mean ~2.5 s latency). */
export const NR_TIMEOUT_MS = 10;
/** MultiWorker adds (or removes) one worker per `checkTimeout` ms while the event loop lag stays under `maxEventLoopDelay`. */
export const NR_MULTI = { checkTimeout: 10, maxEventLoopDelay: 10 };

const BATCH = 1000;

function hostPort(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

const isBaton = (system) => system === 'baton' || system === 'baton-p1' || system === 'baton-d';
const durabilityOf = (system, opts) => (system === 'baton-d' ? { durability: { replicas: opts.durability, timeoutMs: 5000 } } : {});

export async function producer(system, url, ns, opts = {}) {
  if (isBaton(system)) {
    const { Queue } = await import('@baton/resque');
    const q = new Queue({ redis: url, namespace: ns, ...durabilityOf(system, opts) });
    return {
      add: (t) => q.enqueue(QUEUE, CLASS, t),
      addMany: (n) => batches(n, () => q.enqueue(QUEUE, CLASS, 0)),
      close: () => q.close(),
    };
  }
  if (system === 'nr-worker' || system === 'nr-multi') {
    const NR = await import('node-resque');
    const q = new NR.Queue({ connection: { ...hostPort(url), namespace: ns } });
    q.on('error', (e) => console.error(`node-resque queue: ${e?.message ?? e}`));
    await q.connect();
    return {
      add: (t) => q.enqueue(QUEUE, CLASS, [t]),
      addMany: (n) => batches(n, () => q.enqueue(QUEUE, CLASS, [0])),
      close: () => q.end(),
    };
  }
  if (system === 'bullmq') {
    const { Queue } = await import('bullmq');
    const q = new Queue(ns, { connection: hostPort(url) });
    const opts = { removeOnComplete: true, removeOnFail: true };
    return {
      add: (t) => q.add(CLASS, { t }, opts),
      addMany: async (n) => {
        for (let i = 0; i < n; i += BATCH) {
          await q.addBulk(Array.from({ length: Math.min(BATCH, n - i) }, () => ({ name: CLASS, data: { t: 0 }, opts })));
        }
      },
      close: () => q.close(),
    };
  }
  throw new Error(`unknown system ${system}`);
}

export async function worker(system, url, ns, conc, { onStart, onDone }, opts = {}) {
  if (isBaton(system)) {
    const { Worker, Queue } = await import('@baton/resque');
    const w = new Worker({
      redis: url,
      namespace: ns,
      ...durabilityOf(system, opts),
      queues: [QUEUE],
      concurrency: conc,
      ...(system === 'baton-p1' ? { prefetch: 1 } : {}),
      jobs: {
        [CLASS](t) {
          onStart(t);
        },
      },
    });
    w.on('success', onDone);
    w.on('failure', (_job, err) => console.error(`baton job failed: ${err?.message ?? err}`));
    return {
      prepare: async () => undefined,
      start: () => w.start(),
      stop: () => w.stop(),
      verify: async (total) => {
        const q = new Queue({ redis: url, namespace: ns });
        try {
          const [size, stats] = await Promise.all([q.size(QUEUE), q.stats()]);
          return size === 0 && stats.processed === total && stats.failed === 0 ? undefined : `queue ${size} left, stat:processed ${stats.processed}/${total}, failed ${stats.failed}`;
        } finally {
          await q.close();
        }
      },
    };
  }
  if (system === 'nr-worker' || system === 'nr-multi') {
    const NR = await import('node-resque');
    const connection = { ...hostPort(url), namespace: ns };
    const jobs = {
      [CLASS]: {
        perform: (t) => {
          onStart(t);
        },
      },
    };
    const w =
      system === 'nr-worker'
        ? new NR.Worker({ connection, queues: [QUEUE], timeout: NR_TIMEOUT_MS }, jobs)
        : new NR.MultiWorker({ connection, queues: [QUEUE], timeout: NR_TIMEOUT_MS, minTaskProcessors: 1, maxTaskProcessors: conc, ...NR_MULTI }, jobs);
    w.on('success', () => onDone());
    w.on('failure', (...a) => console.error(`node-resque job failed: ${a.find((x) => x instanceof Error)?.message}`));
    w.on('error', (e) => console.error(`node-resque worker: ${e?.message ?? e}`));
    return {
      prepare: async () => {
        if (system === 'nr-worker') await w.connect();
      },
      start: async () => {
        await w.start();
      },
      stop: () => w.end(),
      verify: async (total) => {
        const { Redis } = await import('ioredis');
        const r = new Redis(url);
        try {
          const [size, processed] = await Promise.all([r.llen(`${ns}:queue:${QUEUE}`), r.get(`${ns}:stat:processed`)]);
          return size === 0 && Number(processed) === total ? undefined : `queue ${size} left, stat:processed ${processed}/${total}`;
        } finally {
          r.disconnect();
        }
      },
    };
  }
  if (system === 'bullmq') {
    const { Worker, Queue } = await import('bullmq');
    const w = new Worker(
      ns,
      async (job) => {
        onStart(job.data.t);
      },
      { connection: hostPort(url), concurrency: conc, autorun: false },
    );
    w.on('completed', () => onDone());
    w.on('failed', (_j, err) => console.error(`bullmq job failed: ${err?.message ?? err}`));
    w.on('error', (e) => console.error(`bullmq worker: ${e?.message ?? e}`));
    return {
      prepare: () => w.waitUntilReady(),
      start: async () => {
        w.run().catch((e) => console.error(`bullmq run: ${e?.message ?? e}`));
      },
      stop: () => w.close(),
      verify: async (total) => {
        const q = new Queue(ns, { connection: hostPort(url) });
        try {
          const c = await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
          const left = c.waiting + c.active + c.delayed;
          return left === 0 && c.failed === 0 ? undefined : `${left} of ${total} jobs not done, ${c.failed} failed`;
        } finally {
          await q.close();
        }
      },
    };
  }
  throw new Error(`unknown system ${system}`);
}

async function batches(n, one) {
  for (let i = 0; i < n; i += BATCH) {
    const p = [];
    for (let k = 0; k < Math.min(BATCH, n - i); k++) p.push(one());
    await Promise.all(p);
  }
}
