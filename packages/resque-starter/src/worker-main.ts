import { createLogger, ownCpuMs, parseLogFormat, readRssAnonKb, resolveLevel, type LogContext, type Logger } from '@baton/process-kit';
import type { ResolvedConfig, WorkerHandle } from './config.js';
import { configForGroup, DEFAULT_GROUP } from './config-groups.js';
import { redisSecrets } from './config-logs.js';
import { ConfigError } from './errors.js';
import { WorkerEnv, WorkerExit, type JobInfo, type MasterToWorker, type RedisTrouble, type WorkerToMaster } from './ipc.js';
import { loadConfigFile } from './load-config.js';
import { loadResque, type ResqueJobRef, type ResqueWorker } from './resque.js';
import { renderWorkerTitle, SPARE_TITLE } from './status.js';
import { messages } from './messages.js';
import { reportJobOutcomes } from './worker-metrics.js';
import { JOB_LINES_HOLD_MS, logJobOutcomes } from './worker-job-log.js';
import { captureConsole, jobLookup, type JobConsoleFields } from './worker-console.js';

// Entry point of a worker process (spawned by the master with an IPC channel, detached, argv
// padded for a long title). Signal handlers come first; "ready" is reported only once the
// Resque worker is registered and afterFork is done, so the master never signals it earlier.

// A spare (issue 16) is started ahead of need during a rolling restart: it loads our code and the
// Resque library, and no app code, until the master hands it a slot (`become`, with the
// variables a worker is started with); then it is that worker, a start-up shorter by the loading.

// ms since the process started (performance's time origin), for the start-up timings.
const importedAt = performance.now();
/** When a spare was handed its slot (performance.now()). */
let becameAt: number | undefined;
const env = process.env;
/** Still a spare: no slot, no config, no app code loaded. */
let spare = env[WorkerEnv.spare] === '1';
const masterPid = Number(env[WorkerEnv.masterPid] ?? process.ppid);
let slot = 0;
let group = DEFAULT_GROUP;
/** `worker[3]`, or `worker[mail/1]` outside the default group (as the master's log lines name it). */
let label = '0';
let generation: number | undefined;
let retirePid: number | undefined;
let paused = false;
readSlot();

let worker: ResqueWorker | undefined;
let config: ResolvedConfig | undefined;
/** The fields of every JSON line of this worker; `worker` (its Resque id) once the Worker exists. */
const logContext: LogContext = { role: 'worker', generation, group: group === DEFAULT_GROUP ? undefined : group, slot, worker: undefined };
let logFormat = parseLogFormat(env[WorkerEnv.logFormat] || undefined);
let logger: Logger = startLogger();
/** The job a `console.*` call runs in, once the Worker exists (and the library can tell). */
let jobOfConsole: (() => JobConsoleFields | undefined) | undefined;
// Output of the config and the jobs through `console.*` goes to this worker's log stream, in its format.
captureConsole(console, () => logger, () => jobOfConsole?.());
let ready = false;
let stopping: 'graceful' | 'quick' | undefined;
let exitCode: number = WorkerExit.ok;
let old = false;
let recycling = false;
const timings = { imports: importedAt, config: 0, resque: 0, start: 0 };
let orphanHandled = false;
let finishing: Promise<void> | undefined;
let exited = false;
/** retireOldWorker() was called (or is no longer allowed): a second call retires nobody. */
let retired = false;
/** Its TTOU did reach the old master: only then does the master hear (and log) that this worker sent it. */
let sentTtou = false;
let started = 0;
/** While jobs keep coming, one state report per this many ms at most (reportSoon). */
const REPORT_EVERY_MS = 100;
/** Memory read for a report after jobs at most this often. */
const RSS_EVERY_MS = 1000;
/** The last state report: when, with what activity; when memory was last read; what is held back. */
const reports = {
  /** A report is queued for the end of this event-loop turn (reportSoon). */
  queued: false,
  at: -Infinity,
  activity: undefined as ReturnType<typeof activity> | undefined,
  /** The job the last `job` message named. */
  told: undefined as JobInfo | undefined,
  rssAt: -Infinity,
  afterJobs: false,
  timer: undefined as NodeJS.Timeout | undefined,
};
/** The finished jobs not yet told to the master (metrics on). */
let outcomes: { flush(): void } | undefined;

// --- signals first (node-mechanics §3): nothing may stop or kill us by default action ---
// A stop signal may come from the master or from an operator (`kill -QUIT <worker>`): either
// way the master hears it is a requested exit, not a death (a job calling process.exit is one).
process.on('SIGQUIT', () => stopOnSignal('QUIT', 'graceful'));
process.on('SIGTERM', () => stopOnSignal('TERM', 'quick'));
process.on('SIGINT', () => stopOnSignal('INT', 'quick'));
process.on('SIGUSR1', () => abort());
process.on('SIGUSR2', () => setPaused(true));
process.on('SIGCONT', () => {
  // CONT also arrives with every stop request (to wake a stopped process): only resume if paused.
  if (paused && !stopping) setPaused(false);
});
for (const sig of ['SIGTTIN', 'SIGTTOU', 'SIGTSTP', 'SIGHUP', 'SIGWINCH'] as const) process.on(sig, () => undefined);
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

// --- the master going away: IPC disconnect, and a ppid check as a second line ---
// The master may already be gone before this module runs (it can die during our ~100 ms of
// start-up, when the disconnect event has already been emitted): check both right away, and
// compare with the master's pid from the environment, not with the parent we found at start.
process.on('disconnect', () => orphaned('IPC channel closed'));
const checkParent = () => {
  if (!process.connected) orphaned('IPC channel closed');
  else if (process.ppid !== masterPid) orphaned(`parent is ${process.ppid}, not master ${masterPid}`);
};
const ppidTimer = setInterval(checkParent, 1000);
ppidTimer.unref();
checkParent();

process.on('message', (m: MasterToWorker) => {
  switch (m?.t) {
    case 'pause':
      setPaused(true);
      break;
    case 'resume':
      setPaused(false);
      break;
    case 'abort':
      abort();
      break;
    case 'old':
      old = m.old;
      title();
      break;
    case 'become':
      become(m.env);
      break;
  }
});

if (spare) {
  title();
  // Our library (and ioredis) now, while there is nothing else to do; a stand-in module named by
  // the environment is not ours, so it waits for the slot like the config.
  const loading = [
    env.RESQUE_STARTER_RESQUE_MODULE ? undefined : loadResque(),
    // What a compiled config imports of ours (the package index, the ioredis copy): loaded now, found loaded then.
    ...['./index.js', './ioredis-lib.js'].map((file) => import(new URL(file, import.meta.url).href)),
  ];
  // Then a full collection while there is still nothing to do: what loading left behind is not
  // collected on the slot's critical path (a spare became ready in 36–38 ms after its hand-over
  // instead of 57–67, with 5 MB less idle RSS, `bench/worker-start.mjs --spare`). `gc` is exposed
  // in a context of its own, not to the app's code.
  void Promise.allSettled(loading).then(collectGarbage);
} else void main();

/** A still-idle spare's full garbage collection (V8's `gc`, made reachable for this call only; the modules only a spare needs). */
async function collectGarbage(): Promise<void> {
  if (!spare) return;
  try {
    const [{ setFlagsFromString }, { runInNewContext }] = await Promise.all([import('node:v8'), import('node:vm')]);
    if (!spare) return;
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // not essential: the spare just stays as it is
  }
}

/** The slot this process works for, from the environment it was started with (or was handed). */
function readSlot(): void {
  slot = Number(env[WorkerEnv.slot] ?? 0);
  group = env[WorkerEnv.group] || DEFAULT_GROUP;
  label = group === DEFAULT_GROUP ? String(slot) : `${group}/${slot}`;
  generation = env[WorkerEnv.generation] ? Number(env[WorkerEnv.generation]) : undefined;
  retirePid = env[WorkerEnv.retirePid] ? Number(env[WorkerEnv.retirePid]) : undefined;
  paused = env[WorkerEnv.paused] === '1';
}

/** A spare is handed its slot: from here on it is that worker (title first: it is one before any app code loads). */
function become(vars: Record<string, string>): void {
  if (!spare || stopping) return;
  Object.assign(env, vars);
  delete env[WorkerEnv.spare];
  spare = false;
  readSlot();
  becameAt = performance.now();
  // A spare started before the master loaded its config learns the format only now.
  logFormat = parseLogFormat(env[WorkerEnv.logFormat] || undefined);
  Object.assign(logContext, { generation, group: group === DEFAULT_GROUP ? undefined : group, slot });
  logger = startLogger();
  title();
  void main();
}

/** The logger until the config is loaded (a spare's says `spare`). */
function startLogger(): Logger {
  const tag = spare ? 'spare' : `worker[${label}]`;
  return createLogger({ tag, level: resolveLevel(env.BATON_LOG_LEVEL), format: logFormat, context: logContext, secrets: redisSecrets([env.REDIS_URL ?? '']) });
}

async function main(): Promise<void> {
  try {
    const path = env[WorkerEnv.config];
    if (!path) throw new Error(`${WorkerEnv.config} is not set: workers are started by the resque-starter master`);
    // The Resque library (ioredis) loads while jiti compiles the config: ~30 ms less to ready.
    const resqueModule = loadResque();
    resqueModule.catch(() => undefined);
    const tConfig = performance.now();
    const loaded = await loadConfigFile(path, env, { compiled: env[WorkerEnv.compiled] || undefined });
    // The worker runs its group's part of the config; a group a reload removed meanwhile is gone.
    const mine = configForGroup(loaded.config, group);
    if (!mine) throw new Error(`the config no longer has the group \`${group}\` this worker was started for`);
    config = mine;
    timings.config = performance.now() - tConfig;
    // Job lines go out together, held across prefetched batches of quick jobs (logJobOutcomes says when they may wait).
    logger = createLogger({ tag: `worker[${label}]`, level: config.logLevel, format: logFormat ?? config.logFormat, context: logContext, secrets: redisSecrets([config.redis]), coalesce: { holdMs: JOB_LINES_HOLD_MS } });
    if (loaded.notCompiled) logger.debug(messages.configNotCompiled(loaded.notCompiled));
    title();
    if (stopping) return exit();
    const tResque = performance.now();
    const { Worker, currentJob } = await resqueModule;
    timings.resque = performance.now() - tResque;
    const w = new Worker({
      redis: config.redis,
      namespace: config.namespace,
      queues: config.queues,
      jobs: config.jobs as Record<string, (...args: unknown[]) => unknown>,
      concurrency: config.jobConcurrency,
      prefetch: config.prefetch,
      lockTtlMs: config.lockTimeoutMs,
      // The master holds the leases of its live workers (a job blocking the loop keeps its own).
      leasesHeldByMaster: true,
      maxRecoveries: config.maxRecoveries,
      // A stop waits this long for Redis to take its last writes; the master recovers the rest.
      stopRedisTimeoutMs: config.redisTimeoutMs,
      // A reserve or acknowledgement made cannot be taken back: short of replicas, carry on and say so once.
      ...(config.durability ? { durability: { ...config.durability, onShortfall: 'warn' as const } } : {}),
      ...(config.dequeueInterval !== undefined ? { interval: config.dequeueInterval } : {}),
      ...(config.hooks ? { hooks: config.hooks as Record<string, unknown> } : {}),
      logger,
    });
    worker = w;
    logContext.worker = w.id;
    if (currentJob) jobOfConsole = jobLookup(w, currentJob);
    send({ t: 'hello', id: w.id, ids: [...(w.ids ?? [w.id])] });
    if (env[WorkerEnv.metrics] === '1') outcomes = reportJobOutcomes(w, send);
    // One per failed attempt (every reconnection during a failover): debug. The library logs each
    // condition once to this logger, and the master once for all its workers (the `redis` event).
    w.on('error', (err) => logger.debug(messages.resqueWorkerError((err as Error)?.message ?? String(err))));
    // A line per finished job (`jobLog`); a failed attempt that will be retried is no error yet: info.
    logJobOutcomes(w, logger, config.jobLog, { jobTimeout: config.jobTimeoutMs !== undefined });
    // A Redis condition starting or ending (the library logs it once here): the master logs it
    // once for all its workers, with its duration.
    w.on('redis', (trouble: RedisTrouble) => send({ t: 'redis', trouble: { state: trouble.state, condition: trouble.condition, message: trouble.message, ms: trouble.ms } }));
    w.on('job', (job: unknown) => {
      // Told to the master now, before the handler runs: a handler that blocks the event loop
      // would hold back anything queued for later, and jobTimeout is enforced from outside.
      const info = jobInfo(job as ResqueJobRef);
      if (info && mustTellJob(info)) tellJob(info);
      // Counted as jobs start, so a prefetched batch cannot carry the worker past maxJobs: the
      // job that reaches it finishes, the rest of its batch goes back to the queue.
      started++;
      if (config?.maxJobs !== undefined && started >= config.maxJobs) recycle(`maxJobs ${config.maxJobs} reached`);
      reportSoon(false);
    });
    for (const ev of ['idle', 'paused', 'resumed'] as const) w.on(ev, () => reportSoon(false));
    for (const ev of ['success', 'failure'] as const) w.on(ev, () => reportSoon(true));
    // Emitted when a handler has settled, before the worker acknowledges it and reserves the
    // next job: a recycle decided here starts no further job.
    if (config.maxMemoryKb !== undefined) w.on('finished', () => checkMemory(readRssAnonKb('self')));
    const tStart = performance.now();
    await w.start();
    timings.start = performance.now() - tStart;
    if (stopping) return await finish();
    if (paused) await w.pause();
    const handle: WorkerHandle<ResqueWorker> = {
      worker: w,
      slot,
      group,
      pid: process.pid,
      masterPid,
      generation,
      oldMasterPid: retirePid,
      retireOldWorker: retireOnce,
      logger,
    };
    const tAfter = performance.now();
    await config.afterFork(handle, slot);
    if (stopping) return await finish();
    ready = true;
    // A custom afterFork that did not retire an old worker (or whose TTOU failed): the master
    // sends that TTOU itself, and a late retireOldWorker() must not retire a second one.
    retired = true;
    send({ t: 'ready', retired: sentTtou });
    logger.debug(
      messages.workerStartTimings({
        sinceExec: performance.now(),
        cpu: ownCpuMs(),
        ...timings,
        afterFork: performance.now() - tAfter,
        sinceSlot: becameAt === undefined ? undefined : performance.now() - becameAt,
      }),
    );
    report();
    if (config.maxLifetimeMs !== undefined) {
      const ms = config.maxLifetimeMs * (1 + Math.random() * 0.1);
      setTimeout(() => recycle(`maxLifetime ${Math.round(config!.maxLifetimeMs! / 1000)}s reached`), ms).unref();
    }
  } catch (err) {
    const message = err instanceof ConfigError ? err.shortMessage : ((err as Error)?.stack ?? String(err));
    logger.error(messages.workerCannotStart(message));
    send({ t: 'fatal', message: err instanceof ConfigError ? err.shortMessage : ((err as Error)?.message ?? String(err)) });
    exitCode = WorkerExit.startFailed;
    if (worker) await worker.stop({ graceful: false, graceMs: 0 }).catch(() => undefined);
    exit();
  }
}

function retireOnce(): boolean {
  if (retired || !retirePid) return false;
  retired = true;
  // The master asks the old master over their hand-off link (or sends a TTOU when not linked):
  // a TTOU of ours can be discarded by the kernel when a SIGCONT reaches the old master before it
  // (start-server's --signal-on-hup=CONT comes at that very moment), and stall the rollout; and in
  // a worker group the retirement must name the group, which a bare TTOU cannot.
  if (process.connected) {
    send({ t: 'retire' });
    sentTtou = true;
    return true;
  }
  try {
    process.kill(retirePid, 'SIGTTOU');
    sentTtou = true;
    return true;
  } catch {
    return false;
  }
}

function currentJob(): JobInfo | undefined {
  return jobInfo(worker?.current[0]);
}

function jobInfo(c: ResqueJobRef | undefined): JobInfo | undefined {
  if (!c) return undefined;
  const startedAt = c.startedAt instanceof Date ? c.startedAt.getTime() : Number(c.startedAt);
  return { queue: c.queue, class: String(c.payload?.class ?? '?'), startedAt, id: c.jobId, worker: c.workerId };
}

function activity(): 'idle' | 'busy' | 'paused' {
  if (!worker) return 'idle';
  if ((worker.current?.length ?? 0) > 0 || worker.state === 'busy') return 'busy';
  if (worker.state === 'paused' || paused) return 'paused';
  return 'idle';
}

function report(rssKb?: number): void {
  title();
  if (!ready || !worker) return;
  const jobs = worker.current.flatMap((c) => jobInfo(c) ?? []);
  reports.at = performance.now();
  reports.activity = activity();
  send({ t: 'state', activity: reports.activity, job: jobs[0], jobs, processed: worker.processed, ...(rssKb !== undefined ? { rssKb } : {}) });
}

/**
 * Title, state to the master and the memory reading once per event-loop turn, not once per
 * event; and while jobs keep coming, at most once per REPORT_EVERY_MS, memory at most once per
 * RSS_EVERY_MS. Each is a syscall or an IPC message: sent per job, they took a quarter of a no-op
 * job's time. A change of activity (idle, busy, paused) goes at once; a state held back goes with
 * a timer, so the master's view is never more than REPORT_EVERY_MS old (mustTellJob: which job
 * starts are told at once); the master also samples every worker's memory itself.
 */
function reportSoon(afterJobs: boolean): void {
  reports.afterJobs ||= afterJobs;
  if (reports.queued) return;
  reports.queued = true;
  setImmediate(() => {
    reports.queued = false;
    reportThrottled();
  });
}

/** Now when the activity changed or the last report is REPORT_EVERY_MS old, else once by a timer. */
function reportThrottled(): void {
  const now = performance.now();
  if (activity() !== reports.activity || now - reports.at >= REPORT_EVERY_MS) return reportNow(now);
  reports.timer ??= setTimeout(() => reportNow(performance.now()), REPORT_EVERY_MS - (now - reports.at));
}

/**
 * A job is told to the master at its start (the `job` message) when jobTimeout needs it, when
 * the master does not think this worker busy, when the last word it had is REPORT_EVERY_MS old,
 * or when the class or queue differs from the job it was last told of. A job not told is in the
 * next state report (at most REPORT_EVERY_MS later); one that blocks the loop before that shows
 * as the job before it, of the same class and queue, started at most REPORT_EVERY_MS earlier.
 */
function mustTellJob(info: JobInfo): boolean {
  if (config?.jobTimeoutMs !== undefined || reports.activity !== 'busy') return true;
  return performance.now() - reports.at >= REPORT_EVERY_MS || info.class !== reports.told?.class || info.queue !== reports.told.queue;
}

/** The `job` message; the master now thinks this worker busy with it. */
function tellJob(info: JobInfo): void {
  send({ t: 'job', job: info });
  reports.at = performance.now();
  reports.activity = 'busy';
  reports.told = info;
}

/** The state report, with memory when jobs finished and the last reading is RSS_EVERY_MS old. */
function reportNow(now: number): void {
  if (reports.timer) clearTimeout(reports.timer);
  reports.timer = undefined;
  const rss = reports.afterJobs && now - reports.rssAt >= RSS_EVERY_MS;
  reports.afterJobs = false;
  if (rss) reports.rssAt = now;
  report(rss ? readRssAnonKb('self') : undefined);
}

function checkMemory(rss: number | undefined): void {
  if (!config || !worker || stopping) return;
  if (config.maxMemoryKb !== undefined && rss !== undefined && rss > config.maxMemoryKb) {
    recycle(`memory ${Math.round(rss / 1024)} MB > maxMemory ${Math.round(config.maxMemoryKb / 1024)} MB`);
  }
}

function stopOnSignal(name: string, mode: 'graceful' | 'quick'): void {
  if (!stopping) send({ t: 'recycling', reason: `${name} sent to the worker` });
  void stop(mode);
}

function recycle(reason: string): void {
  if (recycling || stopping) return;
  recycling = true;
  logger.info(messages.workerRecycling(reason));
  send({ t: 'recycling', reason });
  void stop('graceful');
}

function setPaused(on: boolean): void {
  paused = on;
  if (!worker || !ready) return;
  void Promise.resolve(on ? worker.pause() : worker.resume()).then(() => report());
}

function abort(): void {
  if (worker && ready) {
    logger.info(messages.workerAborting());
    worker.abortCurrentJobs();
  }
}

async function stop(mode: 'graceful' | 'quick'): Promise<void> {
  if (stopping === 'quick' || stopping === mode) return;
  stopping = mode;
  // A spare has nothing to finish.
  if (spare) return exit();
  title();
  if (!worker) {
    if (!config) return; // main() notices `stopping` after loading
    return exit();
  }
  await finish();
}

function finish(): Promise<void> {
  // A quick stop after a graceful one calls worker.stop again: the library upgrades it.
  const w = worker!;
  const mode = stopping ?? 'graceful';
  const p = (async () => {
    try {
      if (mode === 'graceful') await w.stop({ graceful: true });
      else await w.stop({ graceful: false, graceMs: config?.termTimeoutMs ?? 4000 });
    } catch (err) {
      logger.warn(messages.workerStopFailed((err as Error)?.message ?? String(err)));
    }
  })();
  finishing = finishing ? Promise.race([finishing, p]) : p;
  return finishing.then(() => exit());
}

function orphaned(why: string): void {
  if (orphanHandled) return;
  orphanHandled = true;
  // A spare's master went away (it exited, or gave up a takeover): nothing to finish, nothing to say.
  if (spare) return exit();
  logger.warn(messages.workerOrphaned(masterPid, why));
  exitCode = WorkerExit.orphaned;
  void stop('graceful');
  const deadline = config?.stopTimeoutMs ?? 60_000;
  if (deadline > 0) setTimeout(() => void stop('quick'), deadline).unref();
}

function title(): void {
  if (spare) {
    process.title = SPARE_TITLE;
    return;
  }
  process.title = renderWorkerTitle({
    slot: label,
    queues: config?.queues ?? [],
    activity: stopping ? 'stopping' : !ready ? 'starting' : activity(),
    old,
    job: currentJob(),
  });
}

function send(m: WorkerToMaster): void {
  if (process.connected) process.send?.(m, undefined, {}, () => undefined);
}

function exit(): void {
  if (exited) return;
  exited = true;
  outcomes?.flush();
  // Let the IPC queue flush, then go; no handle may keep us alive.
  setImmediate(() => process.exit(exitCode));
}
