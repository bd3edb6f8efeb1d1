import { checkFileMode, closest, FILE_MODES } from '@baton/process-kit';
import type { WorkerHooks } from '@baton/resque';
import { describe, describeNumber, FieldReader, type ResolveContext } from './config-fields.js';
import { ARRAY_CONFIG_HINT, resolveAutoscale, resolveGroups, topLevelGroup, type AutoscaleConfig, type GroupConfig, type ResolvedAutoscale, type ResolvedGroup } from './config-groups.js';
import {
  clusterNamespaceProblem,
  DURABILITY_ON_CLUSTER,
  isClusterConfig,
  resolveDurability,
  resolveRedis,
  type DurabilityConfig,
  type RedisConfig,
  type ResolvedDurability,
} from './config-redis.js';
import { ConfigError } from './errors.js';
import { resolveJobLog, resolveLogFormat, type JobLogConfig, type LogFormat, type ResolvedJobLog } from './config-logs.js';

export type { JobLogConfig } from './config-logs.js';
import { resolveMetrics, type MetricsConfig, type ResolvedMetrics } from './config-metrics.js';

export type { MetricsConfig, ResolvedMetrics } from './config-metrics.js';
import { resolveJob, resolveSchedule, resolveScheduler, type ResolvedScheduleEntry, type ResolvedScheduler, type RetryConfig, type ScheduleConfig, type SchedulerConfig } from './config-schedule.js';

export type { RetryConfig, ScheduleConfig, SchedulerConfig } from './config-schedule.js';

import type { JobHandler, JobHandlers, JobWithOptions } from './config-jobs.js';

export type { JobHandler, JobHandlers, JobWithOptions } from './config-jobs.js';

/** Log levels accepted by `logLevel` (consola's names). */
export type LogLevelName = 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'verbose';

/** What `beforeFork` gets: the master, seen from the config file. */
export interface MasterHandle {
  /** The master's pid. */
  readonly pid: number;
  /** `SERVER_STARTER_GENERATION` when run under start-server, else undefined. */
  readonly generation: number | undefined;
  /** Live worker pids by group and slot. */
  readonly workers: ReadonlyArray<{ group: string; slot: number; pid: number | undefined; state: string }>;
  /** The master's logger (consola, stderr or `logFile`). */
  readonly logger: Pick<Console, 'info' | 'warn' | 'error' | 'debug'>;
}

/** What `afterFork` gets: the new worker process, once its Resque worker is registered. */
export interface WorkerHandle<W = unknown> {
  /** The `@baton/resque` Worker running in this process. */
  readonly worker: W;
  /** Stable slot number within its group, 0-based (the same as `workerNr`). */
  readonly slot: number;
  /** Its worker group (`default` for a config without `groups`). */
  readonly group: string;
  /** This worker's pid. */
  readonly pid: number;
  /** The master's pid. */
  readonly masterPid: number;
  /** `SERVER_STARTER_GENERATION` of the master, when under start-server. */
  readonly generation: number | undefined;
  /**
   * The old master this worker replaces during a rolling restart under start-server, or
   * undefined when there is nothing to replace.
   */
  readonly oldMasterPid: number | undefined;
  /**
   * Asks the old master (if any) to let one of its workers (of this worker's group) finish the
   * current job and exit: over the masters' hand-off link, or a TTOU when they are not linked.
   * This is what the default `afterFork` does; call it from your own `afterFork` to keep the
   * rolling restart going. Returns true when it was asked.
   */
  retireOldWorker(): boolean;
  readonly logger: Pick<Console, 'info' | 'warn' | 'error' | 'debug'>;
}

/** Crash-loop protection: how fast dead workers are replaced. */
export interface CrashLoopConfig {
  /** More than this many unexpected deaths within `window` starts the delay. @default 4 */
  deaths?: number;
  /** Seconds over which deaths are counted; 1 to 86400. @default 60 */
  window?: number;
  /** First delay in seconds; doubles on each further death while over the limit; 0.01 to 3600. @default 1 */
  delay?: number;
  /** Longest delay in seconds; 0.01 to 86400. @default 60 */
  maxDelay?: number;
}

/**
 * The `resque-starter` config file (`conf.ts`): `export default defineConfig({ ... })`.
 * Relative paths are resolved against the directory of the config file.
 */
export interface ResqueStarterConfig<J extends JobHandlers = JobHandlers> {
  /** Number of worker processes, 0..`maxConcurrency`. Changed at run time by TTIN/TTOU and `resque-starter scale N`. @default 1 */
  concurrency?: number;
  /**
   * The most worker processes this master will run, whatever `concurrency`, TTIN or
   * `resque-starter scale N` ask for (a typo such as `scale 200` is refused). An integer from 1 to 4096.
   * @default 128
   */
  maxConcurrency?: number;
  /** Queues in priority order, as Resque: names, `*` and globs, `!name` to exclude. A string is split on commas. @default ['*'] */
  queues?: string | readonly string[];
  /**
   * Where Redis is: a redis:// or rediss:// URL, ioredis options, a Sentinel set
   * (`{ sentinels: [{ host, port }, …], name: 'mymaster' }`) or a Redis Cluster
   * (`{ cluster: [{ host, port }, …], options }`, with a hash-tagged `namespace` such as
   * `'{resque}'`). Not a client object: each worker process opens its own connections.
   * @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
   */
  redis?: RedisConfig;
  /** Resque key namespace. With Redis Cluster it must carry a hash tag (`'{resque}'`), so all its keys share one slot. @default 'resque' */
  namespace?: string;
  /**
   * Wait for replication: enqueue, reserve and acknowledgement each wait (Redis `WAIT`) until
   * `replicas` replicas have the write, at most `timeout` seconds, so a failover right after
   * does not lose it. Costs a round trip to the replicas per write. @default undefined (no waiting)
   */
  durability?: DurabilityConfig;
  /**
   * Seconds between polls of empty queues (Resque's `INTERVAL`). When unset, idle workers are
   * woken as soon as a job is enqueued (the `@baton/resque` default). 0.01 to 3600.
   * @default undefined
   */
  dequeueInterval?: number;
  /** Jobs one worker process runs at the same time (`@baton/resque` per-process concurrency). @default 1 */
  jobConcurrency?: number;
  /**
   * At `jobConcurrency` 1, the most jobs a worker reserves in one call while its jobs are short
   * (under 1 ms on average); they still run one at a time, and any not started within 20 ms go
   * back to the head of their queue. 1 = one job per reserve, as Ruby Resque. @default 16
   */
  prefetch?: number;
  /** Job classes: Resque class name → handler, called with the args spread. Required. */
  jobs: J;
  /** `@baton/resque` worker hooks (before/after/around perform, on failure, worker start/exit), passed through as is. @default undefined */
  hooks?: Readonly<WorkerHooks>;
  /** The master's pid file. A live master owning it makes a second one refuse to start. @default undefined (none) */
  pidFile?: string;
  /** JSON status file (master pid, generation, workers with pid, slot, state, current job, memory), rewritten on change. @default undefined (none) */
  statusFile?: string;
  /** Append the master's and workers' logs to this file instead of stderr; `resque-starter reopen-logs` reopens it. @default undefined (stderr) */
  logFile?: string;
  /**
   * Mode of the status file and the log file the master creates (not the pid file, which stays
   * 0644 as daemons' pid files are): a number (`0o640`) or an octal string (`'0640'`, `'640'`,
   * `'0o640'`). The owner must keep read and write; others may not write (group write is
   * allowed). The status file lists queues, job classes and worker ids, so it is not
   * world-readable by default.
   * @default 0o640
   */
  fileMode?: number | string;
  /** Log level. @default process.env.BATON_LOG_LEVEL ?? 'info' */
  logLevel?: LogLevelName | number;
  /**
   * Log lines as `text` (`2026-… [info] [worker[0]] …`) or `json` (one object a line: time,
   * level, pid, role, generation, group, slot, worker, msg and the line's fields; see the README).
   * The `--log-format` flag wins over it. Takes effect when the master starts.
   * @default process.env.BATON_LOG_FORMAT ?? 'text'
   */
  logFormat?: LogFormat;
  /**
   * A line per finished job (class, queue, duration, outcome, attempt, job id) at info: `true`,
   * `false` (only failed jobs: they are always logged, at warn), or `{ sample: 0.1 }` (that share
   * of successful jobs, at random, and every failed one).
   * @default true
   */
  jobLog?: JobLogConfig;
  /** Touching this file starts the same rolling replacement of the workers as HUP. @default undefined (none) */
  restartFile?: string;
  /** When the master runs as root: user (name or uid) the workers run as. @default undefined (same as the master) */
  user?: string | number;
  /** When the master runs as root: group (name or gid) the workers run as. @default the user's primary group */
  group?: string | number;
  /** Recycle a worker after its current job once its private memory (RssAnon) exceeds this many MB. @default undefined (no limit) */
  maxMemory?: number;
  /** Recycle a worker after this many jobs. @default undefined (no limit) */
  maxJobs?: number;
  /** Recycle a worker after this many seconds (plus up to 10 % random jitter, so workers do not all go at once); 0.1 s to 14 days (1209600). @default undefined (no limit) */
  maxLifetime?: number;
  /**
   * Seconds a single job may run. Then its AbortSignal fires (the job fails); if it is still
   * running `termTimeout` seconds later, the master kills the worker and the job is recovered.
   * 0.01 to 86400 (one day).
   * @default undefined (no limit)
   */
  jobTimeout?: number;
  /** Seconds a worker told to finish its job (QUIT, TTOU, recycle) may take before it is stopped quickly (TERM); 0.1 to 86400, or `Infinity` (never). @default 60 */
  stopTimeout?: number;
  /** Seconds a worker stopped quickly (TERM) has to put its jobs back before the master kills it; 0.1 to 3600. @default 4 (Resque's RESQUE_TERM_TIMEOUT) */
  termTimeout?: number;
  /** Seconds a new worker has to load, connect and report ready; 0.1 to 3600. @default 30 */
  readyTimeout?: number;
  /**
   * Seconds the master waits for Redis at start-up before it gives up, and a stopping worker for
   * Redis to take its last writes once its jobs are done (what it could not write stays in Redis
   * and is recovered: the job runs again); 0.1 to 600. @default 5
   */
  redisTimeout?: number;
  /**
   * Seconds of a worker's owner lock (its lease on the jobs it holds). While the master is alive
   * it holds the leases of its live workers, so no other worker takes their jobs: not from a
   * worker whose job blocks its event loop, and not from a worker cut off from Redis while its
   * master is not. `jobTimeout` is therefore the bound for a stuck job; without it such a job
   * keeps its slot until it ends. The lock lapses, and any live worker puts the jobs back at the
   * head of their queues, only when nobody renews it for this long: a worker frozen or cut off
   * from Redis whose master is gone or cut off too. A worker that dies under a live master has
   * its jobs put back by the master at once. 1 to 3600.
   * @default 10
   */
  lockTimeout?: number;
  /** A job that has killed this many workers goes to `failed` instead of back to its queue. @default 3 */
  maxRecoveries?: number;
  /**
   * When a worker exits, the processes its jobs started and left in its process group (each
   * worker leads one) get TERM, then KILL after `termTimeout`, so no job child outlives its
   * worker. Children started with `detached: true` lead groups of their own and are not
   * touched. false: leave them running. @default true
   */
  reapJobProcesses?: boolean;
  /** Seconds between refreshes of the status file's memory figures (and the memory limit check while a job runs); 0.05 to 3600. @default 1 */
  statusInterval?: number;
  /** Crash-loop protection. @default { deaths: 4, window: 60, delay: 1, maxDelay: 60 } */
  crashLoop?: CrashLoopConfig;
  /**
   * Recurring jobs by name: each run (tick) is enqueued exactly once across every master on
   * the same Redis, by the one that leads the scheduler. Missed runs of the last
   * `scheduler.catchUp` seconds (60) are each enqueued once; of older ones only the latest. `every` is in seconds (or `'5m'`), `cron` is read in `tz` (default UTC).
   * @default undefined (none)
   */
  schedule?: Readonly<Record<string, ScheduleConfig>>;
  /** The scheduler (delayed jobs, retries, `schedule`): on in every master, one leader among them. @default { enabled: true, lockTtl: 10, catchUp: 60 } */
  scheduler?: SchedulerConfig;
  /**
   * Worker groups by name, each a pool with its own queues, counts, limits and Redis; the
   * top-level fields are the defaults every group inherits. Without `groups`, the config is one
   * group named `default`. A reload (HUP, `reload`, restart file) replaces only the groups
   * whose settings changed, unless `version` changed.
   * @default undefined (one group, `default`)
   */
  groups?: Readonly<Record<string, GroupConfig>>;
  /** Scale the workers to the work waiting, between `min` and `max` (every group's default; see the README). @default undefined (a fixed count) */
  autoscale?: AutoscaleConfig;
  /**
   * Serve Prometheus metrics (`GET /metrics`) from the master: `{ port, host }` (host
   * `127.0.0.1` by default; another than loopback needs `allowRemote: true`) or `{ path }` (a
   * unix socket). Read at start: a reload does not move it; a rolling restart under start-server
   * hands it to the new master with the counters (see the README). @default undefined (off)
   */
  metrics?: MetricsConfig;
  /**
   * Your code's version (a release tag, a commit). A reload whose `version` differs replaces
   * every worker of every group; with the same `version`, only groups whose settings changed
   * are replaced, and unchanged groups keep their workers. Without `version`, the job modules'
   * code is compared instead (a hash of the local files the config imports).
   * @default undefined
   */
  version?: string | number;
  /**
   * For Perl's `start_server`, which does not export its status file path: where that status
   * file is. Our start-server exports `SERVER_STARTER_STATUS_FILE`, which wins when set.
   * @default undefined
   */
  serverStarterStatusFile?: string;
  /** In the master, before each worker is started. May be async; a throw counts as a failed start. @default undefined */
  beforeFork?: (master: MasterHandle, workerNr: number, group: string) => void | Promise<void>;
  /**
   * In the new worker once it is registered, before it reports ready. The default retires one
   * worker of the old master during a rolling restart: `(w) => { w.retireOldWorker() }`.
   * @default defaultAfterFork
   */
  afterFork?: (worker: WorkerHandle, workerNr: number) => void | Promise<void>;
}

/**
 * Why: typing for config files, like citty's `defineCommand`; returns its argument unchanged.
 * Only `jobs` is generic (each handler keeps the types it is written with); every other field
 * is checked against ResqueStarterConfig itself, so a misspelled field, top-level or nested
 * (`concurency`, `crashLoop.dealy`), is an excess-property error at that field with
 * TypeScript's own "Did you mean to write 'concurrency'?".
 */
export function defineConfig<const J extends JobHandlers>(config: ResqueStarterConfig<J>): ResqueStarterConfig<J> {
  return config;
}

/** The default `afterFork`: hand one slot over from the old master (TTOU), if there is one. */
export function defaultAfterFork(worker: WorkerHandle): void {
  worker.retireOldWorker();
}

/** A validated config with defaults applied, durations in milliseconds and absolute paths. */
export interface ResolvedConfig {
  path: string;
  /**
   * The compiled-config cache entry this config was imported from (the master compiles
   * conf.ts and its local imports once; workers import that file natively). Undefined when
   * it was loaded through jiti.
   */
  compiled?: string | undefined;
  concurrency: number;
  /** Ceiling for `concurrency`, TTIN and `scale` (1..4096). */
  maxConcurrency: number;
  queues: string[];
  redis: RedisConfig;
  namespace: string;
  /** `durability` with its timeout in ms; undefined when writes do not wait for replicas. */
  durability: ResolvedDurability | undefined;
  dequeueInterval: number | undefined;
  jobConcurrency: number;
  prefetch: number;
  jobs: JobHandlers;
  hooks: Readonly<WorkerHooks> | undefined;
  pidFile: string | undefined;
  statusFile: string | undefined;
  logFile: string | undefined;
  /** Mode (e.g. 0o640) for the status and log files the master creates. */
  fileMode: number;
  logLevel: LogLevelName | number;
  logFormat: LogFormat;
  /** The share of successful jobs that get a line (1 = all, 0 = none); failed ones always do. */
  jobLog: ResolvedJobLog;
  restartFile: string | undefined;
  user: string | number | undefined;
  group: string | number | undefined;
  maxMemoryKb: number | undefined;
  maxJobs: number | undefined;
  maxLifetimeMs: number | undefined;
  jobTimeoutMs: number | undefined;
  stopTimeoutMs: number;
  termTimeoutMs: number;
  readyTimeoutMs: number;
  redisTimeoutMs: number;
  lockTimeoutMs: number;
  maxRecoveries: number;
  reapJobProcesses: boolean;
  statusIntervalMs: number;
  crashLoop: { deaths: number; windowMs: number; delayMs: number; maxDelayMs: number };
  /** Recurring jobs, in config order, as `@baton/resque`'s Scheduler takes them (`every` in ms). */
  schedule: ResolvedScheduleEntry[];
  scheduler: ResolvedScheduler;
  serverStarterStatusFile: string | undefined;
  beforeFork: ResqueStarterConfig['beforeFork'];
  afterFork: NonNullable<ResqueStarterConfig['afterFork']>;
  autoscale: ResolvedAutoscale | undefined;
  /** Where the master serves `/metrics`; undefined when off. */
  metrics: ResolvedMetrics | undefined;
  /** The worker groups in config order (one, `default`, without `groups`); the top-level fields above are their defaults. */
  groups: ResolvedGroup[];
  /** The config's `version`, as a string (undefined when not set). */
  version: string | undefined;
  /** A hash of the local modules the config file imports (`loadConfigFile` sets it; '' when none, or not loaded from a file). */
  codeHash: string;
}

/** Every field of ResqueStarterConfig (a field added to the type and not here fails to compile). */
const FIELDS = {
  concurrency: true, maxConcurrency: true, queues: true, redis: true, namespace: true, durability: true, dequeueInterval: true, jobConcurrency: true, prefetch: true, jobs: true,
  hooks: true, pidFile: true, statusFile: true, logFile: true, fileMode: true, logLevel: true, logFormat: true, jobLog: true, restartFile: true, user: true, group: true, maxMemory: true,
  maxJobs: true, maxLifetime: true, jobTimeout: true, stopTimeout: true, termTimeout: true, readyTimeout: true, redisTimeout: true, lockTimeout: true,
  maxRecoveries: true, reapJobProcesses: true, statusInterval: true, crashLoop: true, serverStarterStatusFile: true, beforeFork: true, afterFork: true,
  groups: true, version: true, autoscale: true, schedule: true, scheduler: true, metrics: true,
} as const satisfies Record<keyof ResqueStarterConfig, true>;

/** The hooks `@baton/resque` calls (checked against its WorkerHooks type). */
const HOOKS = {
  beforePerform: true, aroundPerform: true, afterPerform: true, onFailure: true, workerStart: true, workerExit: true,
} as const satisfies Record<keyof WorkerHooks, true>;

const CRASH_LOOP_FIELDS = { deaths: true, window: true, delay: true, maxDelay: true } as const satisfies Record<keyof CrashLoopConfig, true>;

/**
 * Names other tools use for a field (Ruby Resque's env vars, delayed_job's options, habit),
 * for "did you mean" where the spelling is too far off for the edit distance.
 */
const FIELD_ALIASES: Readonly<Record<string, keyof ResqueStarterConfig>> = {
  workers: 'concurrency',
  count: 'concurrency',
  numWorkers: 'concurrency',
  interval: 'dequeueInterval',
  pollInterval: 'dequeueInterval',
  timeout: 'jobTimeout',
  redisUrl: 'redis',
  url: 'redis',
  sentinels: 'redis',
  cluster: 'redis',
  replicas: 'durability',
  wait: 'durability',
  pid: 'pidFile',
  log: 'logFile',
  format: 'logFormat',
  queue: 'queues',
  handlers: 'jobs',
};

/** Known field names, for error messages. */
export const KNOWN_FIELDS: ReadonlySet<string> = new Set(Object.keys(FIELDS));

export { DURATION_RANGES, type ResolveContext } from './config-fields.js';
export {
  describeRedis,
  redactUrl,
  namespaceHashTag,
  isClusterConfig,
  isSentinelConfig,
  type RedisConfig,
  type RedisClusterConfig,
  type RedisClusterNode,
  type DurabilityConfig,
  type ResolvedDurability,
} from './config-redis.js';

/** Default and bounds of `maxConcurrency`. */
export const MAX_CONCURRENCY = { default: 128, min: 1, max: 4096 } as const;

/** Default `fileMode` of the status and log files (process-kit's, shared with start-server). */
export const DEFAULT_FILE_MODE = FILE_MODES.status;

const LOG_LEVELS = new Set(['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'verbose']);

/**
 * Why: normalise and validate in one pure step (STYLE lesson 17), so a broken config is one
 * clear `file:line` error before any worker starts, and `check` gives the same answer.
 */
export function resolveConfig(raw: unknown, ctx: ResolveContext): ResolvedConfig {
  if (Array.isArray(raw)) throw new ConfigError(ARRAY_CONFIG_HINT, ctx.path, `${ctx.path}:1`);
  if (raw === null || typeof raw !== 'object') {
    throw new ConfigError(
      `Expected the config file to \`export default defineConfig({ ... })\`, got ${describe(raw)}`,
      ctx.path,
      `${ctx.path}:1`,
    );
  }
  // Every reader records its mistakes and reads on with the default: one run reports them all.
  const f = new FieldReader(raw as Record<string, unknown>, ctx);
  for (const key of Object.keys(f.obj)) {
    if (!KNOWN_FIELDS.has(key)) f.report(key, `Unknown config field \`${key}\`${suggestField(key)}`);
  }
  const jobs = f.field(() => resolveJobs(f), {});
  const queues = f.field(() => resolveQueues(f), ['*']);
  const redis = f.field(() => resolveRedis(f, ctx.env ?? {}), 'redis://127.0.0.1:6379');
  const namespace = f.optString('namespace') ?? 'resque';
  const durability = f.field(() => resolveDurability(f), undefined);
  const logLevel = f.field(() => resolveLogLevel(f, ctx.env ?? {}), 'info');
  const crashLoop = resolveCrashLoop(f);
  const hooks = f.field(() => resolveHooks(f), undefined);
  const prefetch = resolvePrefetch(f, 16);
  const { concurrency, maxConcurrency } = resolveConcurrency(f, MAX_CONCURRENCY.default, 1);
  const config: ResolvedConfig = {
    path: ctx.path,
    concurrency,
    maxConcurrency,
    queues,
    redis,
    namespace,
    durability,
    dequeueInterval: f.optSeconds('dequeueInterval'),
    jobConcurrency: f.int('jobConcurrency', 1, 1),
    prefetch,
    jobs,
    hooks,
    ...resolveFiles(f),
    logLevel,
    logFormat: f.field(() => resolveLogFormat(f, ctx.env ?? {}), 'text'),
    jobLog: f.field(() => resolveJobLog(f), { sample: 1 }),
    user: f.idOf('user'),
    group: f.idOf('group'),
    ...resolveLimits(f),
    readyTimeoutMs: f.ms('readyTimeout', 30),
    redisTimeoutMs: f.ms('redisTimeout', 5),
    lockTimeoutMs: f.ms('lockTimeout', 10),
    maxRecoveries: f.int('maxRecoveries', 1, 3),
    reapJobProcesses: f.flag('reapJobProcesses', true),
    statusIntervalMs: f.ms('statusInterval', 1),
    crashLoop,
    schedule: resolveSchedule(f, ctx.parseSchedule),
    scheduler: resolveScheduler(f),
    beforeFork: f.fn<ResqueStarterConfig['beforeFork']>('beforeFork'),
    afterFork: f.fn<NonNullable<ResqueStarterConfig['afterFork']>>('afterFork') ?? defaultAfterFork,
    autoscale: resolveAutoscale(f, maxConcurrency),
    metrics: resolveMetrics(f),
    groups: [],
    version: resolveVersion(f),
    codeHash: '',
  };
  config.groups = resolveGroups(f, topLevelGroup(config), {
    queues: resolveQueues,
    redis: (g) => resolveRedis(g, ctx.env ?? {}),
    concurrency: resolveConcurrency,
    prefetch: resolvePrefetch,
  });
  checkClusterNamespaces(f, config.groups, config.scheduler.enabled ? { redis: config.redis, namespace: config.namespace } : undefined);
  if (durability && config.groups.some((g) => isClusterConfig(g.redis))) f.report('durability', DURABILITY_ON_CLUSTER);
  f.throwIfInvalid();
  return config;
}

/**
 * A group on Redis Cluster needs a hash-tagged namespace; the error points at the group's
 * `namespace` (or `redis`) when it sets one, else at the top-level field it inherits.
 */
function checkClusterNamespaces(f: FieldReader, groups: readonly ResolvedGroup[], scheduler: { redis: RedisConfig; namespace: string } | undefined): void {
  const raw = (f.obj.groups ?? undefined) as Record<string, Record<string, unknown>> | undefined;
  // With groups, the top level's Redis and namespace serve no group, but the scheduler runs on them.
  const top = raw && scheduler ? clusterNamespaceProblem(scheduler.redis, scheduler.namespace) : undefined;
  if (top) f.report(f.obj.namespace === undefined ? 'redis' : 'namespace', `the top level (where the scheduler runs): ${top}`);
  for (const g of groups) {
    const problem = clusterNamespaceProblem(g.redis, g.namespace);
    if (!problem) continue;
    const own = raw?.[g.name];
    const field = (obj: Record<string, unknown>) => (obj.namespace === undefined ? 'redis' : 'namespace');
    if (own && (own.namespace !== undefined || own.redis !== undefined)) {
      f.nested('groups', raw!).nested(g.name, own).report(field(own), `group \`${g.name}\`: ${problem}`);
    } else {
      const message = groups.length > 1 || raw ? `group \`${g.name}\`: ${problem}` : problem;
      if (!f.issues.some((i) => i.message.endsWith(problem))) f.report(field(f.obj), message);
    }
  }
}

/** `jobs`: Resque class name → handler, required. */
function resolveJobs(f: FieldReader): JobHandlers {
  const jobs = f.obj.jobs;
  if (jobs === undefined) f.fail('jobs', 'Missing `jobs`: map each Resque class name to its handler, e.g. `jobs: { Archive: async (id) => { ... } }`');
  if (jobs === null || typeof jobs !== 'object' || Array.isArray(jobs)) f.fail('jobs', `Expected \`jobs\` to be an object of handlers, got ${describe(jobs)}`);
  const handlers = f.nested('jobs', jobs as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(handlers.obj)) out[name] = resolveJob(handlers, name, handler, '');
  return out as JobHandlers;
}

/** `hooks`: `@baton/resque`'s worker hooks, each a function; a misspelled hook would never run. */
function resolveHooks(f: FieldReader): Readonly<WorkerHooks> | undefined {
  const hooks = f.obj.hooks;
  if (hooks === undefined) return undefined;
  if (hooks === null || typeof hooks !== 'object' || Array.isArray(hooks)) f.fail('hooks', `Expected \`hooks\` to be an object, got ${describe(hooks)}`);
  const h = f.nested('hooks', hooks as Record<string, unknown>);
  for (const [name, hook] of Object.entries(h.obj)) {
    if (!Object.hasOwn(HOOKS, name)) h.report(name, `Unknown hook \`hooks.${name}\`${suggestIn(name, Object.keys(HOOKS), 'hooks.')}`);
    else if (typeof hook !== 'function') h.report(name, `Expected \`hooks.${name}\` to be a function, got ${describe(hook)}`);
  }
  return hooks as Readonly<WorkerHooks>;
}

/** `queues`: a list (or a comma-separated string) of names or patterns; `*` by default. */
function resolveQueues(f: FieldReader): string[] {
  const q = f.obj.queues;
  let queues: string[];
  if (q === undefined) queues = ['*'];
  else if (typeof q === 'string') queues = q.split(',').map((s) => s.trim()).filter(Boolean);
  else if (Array.isArray(q) && q.every((x) => typeof x === 'string')) queues = (q as string[]).map((s) => s.trim()).filter(Boolean);
  else queues = f.fail('queues', `Expected \`queues\` to be a list of queue names, got ${describe(q)}`);
  if (queues.length === 0) f.fail('queues', 'Expected `queues` to name at least one queue (or `*`)');
  for (const name of queues) {
    if (/[\s:]/.test(name)) f.fail('queues', `Expected queue names without spaces or colons, got \`${name}\``);
  }
  return queues;
}

function resolveLogLevel(f: FieldReader, env: Readonly<Record<string, string | undefined>>): LogLevelName | number {
  const l = f.obj.logLevel;
  if (l === undefined) return (env.BATON_LOG_LEVEL as LogLevelName | undefined) || 'info';
  if (!((typeof l === 'string' && LOG_LEVELS.has(l)) || (typeof l === 'number' && Number.isInteger(l)))) {
    f.fail('logLevel', `Expected \`logLevel\` to be one of ${[...LOG_LEVELS].join(', ')}, got ${describe(l)}`);
  }
  return l as LogLevelName | number;
}

function resolveCrashLoop(f: FieldReader): ResolvedConfig['crashLoop'] {
  let cl = f.obj.crashLoop;
  if (cl !== undefined && (cl === null || typeof cl !== 'object' || Array.isArray(cl))) {
    f.report('crashLoop', `Expected \`crashLoop\` to be an object, got ${describe(cl)}`);
    cl = undefined;
  }
  const c = f.nested('crashLoop', (cl ?? {}) as Record<string, unknown>);
  for (const key of Object.keys(c.obj)) {
    if (!Object.hasOwn(CRASH_LOOP_FIELDS, key)) c.report(key, `Unknown field \`crashLoop.${key}\`${suggestIn(key, Object.keys(CRASH_LOOP_FIELDS), 'crashLoop.')}`);
  }
  const deaths = c.field(() => {
    const d = c.obj.deaths;
    if (d !== undefined && (typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
      c.fail('deaths', `Expected \`crashLoop.deaths\` to be an integer ≥ 0, got ${describe(d)}`);
    }
    return d as number | undefined;
  }, undefined);
  return {
    deaths: deaths ?? 4,
    windowMs: c.ms('window', 60, 'crashLoop.window'),
    delayMs: c.ms('delay', 1, 'crashLoop.delay'),
    maxDelayMs: c.ms('maxDelay', 60, 'crashLoop.maxDelay'),
  };
}

/** `version`: a string or a number, compared as a string on reload. */
function resolveVersion(f: FieldReader): string | undefined {
  const v = f.obj.version;
  if (v === undefined) return undefined;
  if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v))) return String(v);
  f.report('version', `Expected \`version\` to be a non-empty string or a number, got ${describe(v)}`);
  return undefined;
}

function resolvePrefetch(f: FieldReader, dflt: number): number {
  return f.field(() => {
    const p = f.int('prefetch', 1, dflt);
    if (p > 1000) f.fail('prefetch', `Expected \`prefetch\` to be an integer from 1 to 1000, got ${describe(p)}`);
    return p;
  }, dflt);
}

function resolveConcurrency(f: FieldReader, maxDefault: number, dflt: number): { concurrency: number; maxConcurrency: number } {
  let maxConcurrency = f.int('maxConcurrency', MAX_CONCURRENCY.min, maxDefault);
  if (maxConcurrency > MAX_CONCURRENCY.max) {
    f.report('maxConcurrency', `Expected \`maxConcurrency\` to be an integer from ${MAX_CONCURRENCY.min} to ${MAX_CONCURRENCY.max}, got ${describeNumber(maxConcurrency)}`);
    maxConcurrency = MAX_CONCURRENCY.max;
  }
  const concurrency = f.int('concurrency', 0, Math.min(dflt, maxConcurrency));
  if (concurrency > maxConcurrency) {
    f.report(
      'concurrency',
      `Expected \`concurrency\` to be at most \`maxConcurrency\` (${maxConcurrency}), got ${describeNumber(concurrency)}; raise \`maxConcurrency\` (up to ${MAX_CONCURRENCY.max}) if you mean it`,
    );
  }
  return { concurrency, maxConcurrency };
}

/** The master's files: paths relative to the config file, and the mode they are created with. */
function resolveFiles(f: FieldReader): Pick<ResolvedConfig, 'pidFile' | 'statusFile' | 'logFile' | 'fileMode' | 'restartFile' | 'serverStarterStatusFile'> {
  let fileMode = f.obj.fileMode === undefined ? DEFAULT_FILE_MODE : parseFileMode(f.obj.fileMode);
  if (fileMode === undefined) {
    f.report('fileMode', `Expected \`fileMode\` to be a file mode such as 0o640 or '0640' (owner read and write, not writable by others), got ${describe(f.obj.fileMode)}`);
    fileMode = DEFAULT_FILE_MODE;
  }
  return {
    pidFile: f.optPath('pidFile'),
    statusFile: f.optPath('statusFile'),
    logFile: f.optPath('logFile'),
    fileMode,
    restartFile: f.optPath('restartFile'),
    serverStarterStatusFile: f.optPath('serverStarterStatusFile'),
  };
}

/** When a worker or a job is stopped: memory, job count, lifetime, job and stop timeouts. */
function resolveLimits(f: FieldReader): Pick<ResolvedConfig, 'maxMemoryKb' | 'maxJobs' | 'maxLifetimeMs' | 'jobTimeoutMs' | 'stopTimeoutMs' | 'termTimeoutMs'> {
  const maxMemory = f.optPositive('maxMemory');
  return {
    maxMemoryKb: maxMemory === undefined ? undefined : Math.round(maxMemory * 1024),
    maxJobs: f.obj.maxJobs === undefined ? undefined : f.int('maxJobs', 1, 0),
    maxLifetimeMs: f.ms('maxLifetime', undefined),
    jobTimeoutMs: f.ms('jobTimeout', undefined),
    // Infinity: wait for ever (0 in the resolved config).
    stopTimeoutMs: f.obj.stopTimeout === Infinity ? 0 : f.ms('stopTimeout', 60),
    termTimeoutMs: f.ms('termTimeout', 4),
  };
}

/**
 * Why: `fileMode` is written as a number or an octal string. `0o640`, `'0640'`, `'640'` or
 * `'0o640'` → 0o640; undefined when not a mode we accept: above 0o777, without owner read and
 * write, or writable by others.
 */
export function parseFileMode(value: unknown): number | undefined {
  let mode: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) mode = value;
  else if (typeof value === 'string' && /^(?:0o?)?[0-7]{3}$/i.test(value.trim())) mode = parseInt(value.trim().replace(/^0o/i, ''), 8);
  // The rule is start-server's `--file-mode` one: owner reads and writes, others do not write.
  return mode !== undefined && checkFileMode(mode) === undefined ? mode : undefined;
}

// --- internal ---

/** `; did you mean `pidFile`?` for a near miss, else the list of known fields. */
function suggestField(key: string): string {
  const near = closest(key, KNOWN_FIELDS, FIELD_ALIASES);
  return near ? `; did you mean \`${near}\`?` : `; known fields: ${[...KNOWN_FIELDS].join(', ')}`;
}

/** The same for a nested object (`crashLoop.`, `hooks.`): its few fields are listed when none is near. */
function suggestIn(key: string, known: readonly string[], prefix: string): string {
  const near = closest(key, known);
  return near ? `; did you mean \`${prefix}${near}\`?` : `; known: ${known.map((k) => `\`${prefix}${k}\``).join(', ')}`;
}
