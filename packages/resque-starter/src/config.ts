import { checkFileMode, FILE_MODES } from '@baton/process-kit';
import { isAbsolute, resolve as resolvePath, dirname } from 'node:path';
import type { RedisOptions } from 'ioredis';
import { ConfigError } from './errors.js';

/** A job handler: called with the payload's args spread, like Ruby's `perform(*args)`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JobHandler = (...args: any[]) => unknown;

/** Log levels accepted by `logLevel` (consola's names). */
export type LogLevelName = 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'verbose';

/** What `beforeFork` gets: the master, seen from the config file. */
export interface MasterHandle {
  /** The master's pid. */
  readonly pid: number;
  /** `SERVER_STARTER_GENERATION` when run under start-server, else undefined. */
  readonly generation: number | undefined;
  /** Live worker pids by slot. */
  readonly workers: ReadonlyArray<{ slot: number; pid: number | undefined; state: string }>;
  /** The master's logger (consola, stderr or `logFile`). */
  readonly logger: Pick<Console, 'info' | 'warn' | 'error' | 'debug'>;
}

/** What `afterFork` gets: the new worker process, once its Resque worker is registered. */
export interface WorkerHandle<W = unknown> {
  /** The `@baton/resque` Worker running in this process. */
  readonly worker: W;
  /** Stable slot number, 0-based (the same as `workerNr`). */
  readonly slot: number;
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
   * Sends TTOU to the old master (if any): it lets its highest slot finish the current job
   * and exit. This is what the default `afterFork` does; call it from your own `afterFork` to
   * keep the rolling restart going. Returns true when a signal was sent.
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
export interface ResqueStarterConfig {
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
  /** Redis URL or ioredis options. @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' */
  redis?: string | RedisOptions;
  /** Resque key namespace. @default 'resque' */
  namespace?: string;
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
  jobs: Readonly<Record<string, JobHandler>>;
  /** `@baton/resque` worker hooks (before/after/around perform, on failure, …), passed through as is. @default undefined */
  hooks?: Readonly<Record<string, unknown>>;
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
  /** Seconds the master waits for Redis at start-up before it gives up; 0.1 to 600. @default 5 */
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
   * For Perl's `start_server`, which does not export its status file path: where that status
   * file is. Our start-server exports `SERVER_STARTER_STATUS_FILE`, which wins when set.
   * @default undefined
   */
  serverStarterStatusFile?: string;
  /** In the master, before each worker is started. May be async; a throw counts as a failed start. @default undefined */
  beforeFork?: (master: MasterHandle, workerNr: number) => void | Promise<void>;
  /**
   * In the new worker once it is registered, before it reports ready. The default retires one
   * worker of the old master during a rolling restart: `(w) => { w.retireOldWorker() }`.
   * @default defaultAfterFork
   */
  afterFork?: (worker: WorkerHandle, workerNr: number) => void | Promise<void>;
}

/** Why: typing for config files, like citty's `defineCommand`; returns its argument unchanged. */
export function defineConfig<const T extends ResqueStarterConfig>(config: T): T {
  return config;
}

/** The default `afterFork`: hand one slot over from the old master (TTOU), if there is one. */
export function defaultAfterFork(worker: WorkerHandle): void {
  worker.retireOldWorker();
}

/** A validated config with defaults applied, durations in milliseconds and absolute paths. */
export interface ResolvedConfig {
  path: string;
  concurrency: number;
  /** Ceiling for `concurrency`, TTIN and `scale` (1..4096). */
  maxConcurrency: number;
  queues: string[];
  redis: string | RedisOptions;
  namespace: string;
  dequeueInterval: number | undefined;
  jobConcurrency: number;
  prefetch: number;
  jobs: Readonly<Record<string, JobHandler>>;
  hooks: Readonly<Record<string, unknown>> | undefined;
  pidFile: string | undefined;
  statusFile: string | undefined;
  logFile: string | undefined;
  /** Mode (e.g. 0o640) for the status and log files the master creates. */
  fileMode: number;
  logLevel: LogLevelName | number;
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
  serverStarterStatusFile: string | undefined;
  beforeFork: ResqueStarterConfig['beforeFork'];
  afterFork: NonNullable<ResqueStarterConfig['afterFork']>;
}

const KNOWN_FIELDS = new Set<string>([
  'concurrency', 'maxConcurrency', 'queues', 'redis', 'namespace', 'dequeueInterval', 'jobConcurrency', 'prefetch', 'jobs', 'hooks',
  'pidFile', 'statusFile', 'logFile', 'fileMode', 'logLevel', 'restartFile', 'user', 'group', 'maxMemory', 'maxJobs',
  'maxLifetime', 'jobTimeout', 'stopTimeout', 'termTimeout', 'readyTimeout', 'redisTimeout', 'lockTimeout', 'maxRecoveries', 'reapJobProcesses', 'statusInterval',
  'crashLoop', 'serverStarterStatusFile', 'beforeFork', 'afterFork',
]);
/**
 * Allowed range, in seconds, of every duration field: Node's timers overflow above 2³¹−1 ms
 * (~24.8 days) and fire at once, and tiny values (a 1 ms lock) make no sense.
 */
export const DURATION_RANGES = {
  dequeueInterval: [0.01, 3600],
  maxLifetime: [0.1, 1_209_600],
  jobTimeout: [0.01, 86_400],
  stopTimeout: [0.1, 86_400],
  termTimeout: [0.1, 3600],
  readyTimeout: [0.1, 3600],
  redisTimeout: [0.1, 600],
  lockTimeout: [1, 3600],
  statusInterval: [0.05, 3600],
  'crashLoop.window': [1, 86_400],
  'crashLoop.delay': [0.01, 3600],
  'crashLoop.maxDelay': [0.01, 86_400],
} as const satisfies Record<string, readonly [number, number]>;

/** Default and bounds of `maxConcurrency`. */
export const MAX_CONCURRENCY = { default: 128, min: 1, max: 4096 } as const;

/** Default `fileMode` of the status and log files (process-kit's, shared with start-server). */
export const DEFAULT_FILE_MODE = FILE_MODES.status;

const LOG_LEVELS = new Set(['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'verbose']);

export interface ResolveContext {
  /** Absolute path of the config file (for relative paths and error locations). */
  path: string;
  /** Environment (REDIS_URL, BATON_LOG_LEVEL); only `cli.ts` passes process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The config file's text, to point validation errors at the right line. */
  source?: string;
}

/**
 * Why: normalise and validate in one pure step (STYLE lesson 17), so a broken config is one
 * clear `file:line` error before any worker starts, and `check` gives the same answer.
 */
export function resolveConfig(raw: unknown, ctx: ResolveContext): ResolvedConfig {
  const env = ctx.env ?? {};
  const fail = (field: string, message: string): never => {
    throw new ConfigError(message, ctx.path, locate(ctx, field));
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(
      `Expected the config file to \`export default defineConfig({ ... })\`, got ${describe(raw)}`,
      ctx.path,
      `${ctx.path}:1`,
    );
  }
  const c = raw as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!KNOWN_FIELDS.has(key)) fail(key, `Unknown config field \`${key}\`${suggest(key)}`);
  }

  const flag = (field: string, dflt: boolean): boolean => {
    const v = c[field];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') fail(field, `Expected \`${field}\` to be true or false, got ${describe(v)}`);
    return v as boolean;
  };
  const int = (field: string, min: number, dflt: number): number => {
    const v = c[field];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      fail(field, `Expected \`${field}\` to be an integer ≥ ${min}, got ${describe(v)}`);
    }
    return v as number;
  };
  const optPositive = (field: string, obj: Record<string, unknown> = c, label = field): number | undefined => {
    const v = obj[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      fail(label, `Expected \`${label}\` to be a positive number, got ${describe(v)}`);
    }
    return v as number;
  };
  /** A duration in seconds within DURATION_RANGES (undefined when not set). */
  const optSeconds = (field: string, obj: Record<string, unknown> = c, label: keyof typeof DURATION_RANGES = field as keyof typeof DURATION_RANGES) => {
    const v = obj[field];
    if (v === undefined) return undefined;
    const [min, max] = DURATION_RANGES[label];
    if (typeof v !== 'number' || !(v >= min && v <= max)) {
      fail(label, `Expected \`${label}\` to be between ${min} and ${max} seconds, got ${describeNumber(v)}`);
    }
    return v as number;
  };
  const optString = (field: string): string | undefined => {
    const v = c[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') fail(field, `Expected \`${field}\` to be a non-empty string, got ${describe(v)}`);
    return v as string;
  };
  const optPath = (field: string): string | undefined => {
    const v = optString(field);
    return v === undefined ? undefined : isAbsolute(v) ? v : resolvePath(dirname(ctx.path), v);
  };
  const seconds = (field: string, dflt: number | undefined, obj: Record<string, unknown> = c, label: keyof typeof DURATION_RANGES = field as keyof typeof DURATION_RANGES) => {
    const v = optSeconds(field, obj, label);
    const s = v ?? dflt;
    return s === undefined ? undefined : Math.round(s * 1000);
  };
  const fn = <F>(field: string): F | undefined => {
    const v = c[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'function') fail(field, `Expected \`${field}\` to be a function, got ${describe(v)}`);
    return v as F;
  };
  const idOf = (field: string): string | number | undefined => {
    const v = c[field];
    if (v === undefined) return undefined;
    if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) return v;
    return fail(field, `Expected \`${field}\` to be a name or a numeric id, got ${describe(v)}`);
  };

  // jobs
  const jobs = c.jobs;
  if (jobs === undefined) fail('jobs', 'Missing `jobs`: map each Resque class name to its handler, e.g. `jobs: { Archive: async (id) => { ... } }`');
  if (jobs === null || typeof jobs !== 'object' || Array.isArray(jobs)) fail('jobs', `Expected \`jobs\` to be an object of handlers, got ${describe(jobs)}`);
  for (const [name, handler] of Object.entries(jobs as Record<string, unknown>)) {
    if (typeof handler !== 'function') fail(name, `Expected the handler of job \`${name}\` to be a function, got ${describe(handler)}`);
  }

  // queues
  let queues: string[];
  const q = c.queues;
  if (q === undefined) queues = ['*'];
  else if (typeof q === 'string') queues = q.split(',').map((s) => s.trim()).filter(Boolean);
  else if (Array.isArray(q) && q.every((x) => typeof x === 'string')) queues = (q as string[]).map((s) => s.trim()).filter(Boolean);
  else queues = fail('queues', `Expected \`queues\` to be a list of queue names, got ${describe(q)}`);
  if (queues.length === 0) fail('queues', 'Expected `queues` to name at least one queue (or `*`)');
  for (const name of queues) {
    if (/[\s:]/.test(name)) fail('queues', `Expected queue names without spaces or colons, got \`${name}\``);
  }

  // redis
  const redisRaw = c.redis;
  let redis: string | RedisOptions;
  if (redisRaw === undefined) redis = env.REDIS_URL || 'redis://127.0.0.1:6379';
  else if (typeof redisRaw === 'string') {
    if (!/^rediss?:\/\//.test(redisRaw) && !redisRaw.startsWith('/')) {
      fail('redis', `Expected \`redis\` to be a redis:// or rediss:// URL (or ioredis options), got \`${redactUrl(redisRaw)}\``);
    }
    if (!redisRaw.startsWith('/') && !URL.canParse(redisRaw)) {
      fail(
        'redis',
        `Expected \`redis\` to be a valid URL, got \`${redactUrl(redisRaw)}\`; percent-encode special characters in the user name and password (\`/\` as %2F, \`#\` as %23, \`?\` as %3F, \`@\` as %40, e.g. with encodeURIComponent)`,
      );
    }
    redis = redisRaw;
  } else if (redisRaw !== null && typeof redisRaw === 'object' && !Array.isArray(redisRaw)) redis = redisRaw as RedisOptions;
  else redis = fail('redis', `Expected \`redis\` to be a URL or ioredis options, got ${describe(redisRaw)}`);

  const namespace = optString('namespace') ?? 'resque';

  let logLevel: LogLevelName | number = (env.BATON_LOG_LEVEL as LogLevelName | undefined) || 'info';
  if (c.logLevel !== undefined) {
    const l = c.logLevel;
    if (!((typeof l === 'string' && LOG_LEVELS.has(l)) || (typeof l === 'number' && Number.isInteger(l)))) {
      fail('logLevel', `Expected \`logLevel\` to be one of ${[...LOG_LEVELS].join(', ')}, got ${describe(l)}`);
    }
    logLevel = l as LogLevelName | number;
  }

  const cl = c.crashLoop;
  if (cl !== undefined && (cl === null || typeof cl !== 'object' || Array.isArray(cl))) {
    fail('crashLoop', `Expected \`crashLoop\` to be an object, got ${describe(cl)}`);
  }
  const clo = (cl ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(clo)) {
    if (!['deaths', 'window', 'delay', 'maxDelay'].includes(key)) fail(key, `Unknown field \`crashLoop.${key}\``);
  }
  let deaths = 4;
  if (clo.deaths !== undefined) {
    if (typeof clo.deaths !== 'number' || !Number.isInteger(clo.deaths) || clo.deaths < 0) {
      fail('deaths', `Expected \`crashLoop.deaths\` to be an integer ≥ 0, got ${describe(clo.deaths)}`);
    }
    deaths = clo.deaths as number;
  }
  const crashLoop = {
    deaths,
    windowMs: seconds('window', 60, clo, 'crashLoop.window')!,
    delayMs: seconds('delay', 1, clo, 'crashLoop.delay')!,
    maxDelayMs: seconds('maxDelay', 60, clo, 'crashLoop.maxDelay')!,
  };

  const hooks = c.hooks;
  if (hooks !== undefined && (hooks === null || typeof hooks !== 'object')) fail('hooks', `Expected \`hooks\` to be an object, got ${describe(hooks)}`);

  const prefetch = int('prefetch', 1, 16);
  if (prefetch > 1000) fail('prefetch', `Expected \`prefetch\` to be an integer from 1 to 1000, got ${describe(prefetch)}`);
  const maxMemory = optPositive('maxMemory');
  const maxJobs = c.maxJobs === undefined ? undefined : int('maxJobs', 1, 0);
  const dequeueInterval = optSeconds('dequeueInterval');
  const stopTimeout = c.stopTimeout;
  let stopTimeoutMs = 60_000;
  if (stopTimeout === Infinity) stopTimeoutMs = 0;
  else if (stopTimeout !== undefined) stopTimeoutMs = seconds('stopTimeout', 60)!;

  const maxConcurrency = int('maxConcurrency', MAX_CONCURRENCY.min, MAX_CONCURRENCY.default);
  if (maxConcurrency > MAX_CONCURRENCY.max) {
    fail('maxConcurrency', `Expected \`maxConcurrency\` to be an integer from ${MAX_CONCURRENCY.min} to ${MAX_CONCURRENCY.max}, got ${describeNumber(maxConcurrency)}`);
  }
  const concurrency = int('concurrency', 0, 1);
  if (concurrency > maxConcurrency) {
    fail(
      'concurrency',
      `Expected \`concurrency\` to be at most \`maxConcurrency\` (${maxConcurrency}), got ${describeNumber(concurrency)}; raise \`maxConcurrency\` (up to ${MAX_CONCURRENCY.max}) if you mean it`,
    );
  }
  const fileMode = c.fileMode === undefined ? DEFAULT_FILE_MODE : parseFileMode(c.fileMode);
  if (fileMode === undefined) {
    fail('fileMode', `Expected \`fileMode\` to be a file mode such as 0o640 or '0640' (owner read and write, not writable by others), got ${describe(c.fileMode)}`);
  }

  return {
    path: ctx.path,
    concurrency,
    maxConcurrency,
    queues,
    redis,
    namespace,
    dequeueInterval,
    jobConcurrency: int('jobConcurrency', 1, 1),
    prefetch,
    jobs: jobs as Readonly<Record<string, JobHandler>>,
    hooks: hooks as Readonly<Record<string, unknown>> | undefined,
    pidFile: optPath('pidFile'),
    statusFile: optPath('statusFile'),
    logFile: optPath('logFile'),
    fileMode: fileMode!,
    logLevel,
    restartFile: optPath('restartFile'),
    user: idOf('user'),
    group: idOf('group'),
    maxMemoryKb: maxMemory === undefined ? undefined : Math.round(maxMemory * 1024),
    maxJobs,
    maxLifetimeMs: seconds('maxLifetime', undefined),
    jobTimeoutMs: seconds('jobTimeout', undefined),
    stopTimeoutMs,
    termTimeoutMs: seconds('termTimeout', 4)!,
    readyTimeoutMs: seconds('readyTimeout', 30)!,
    redisTimeoutMs: seconds('redisTimeout', 5)!,
    lockTimeoutMs: seconds('lockTimeout', 10)!,
    maxRecoveries: int('maxRecoveries', 1, 3),
    reapJobProcesses: flag('reapJobProcesses', true),
    statusIntervalMs: seconds('statusInterval', 1)!,
    crashLoop,
    serverStarterStatusFile: optPath('serverStarterStatusFile'),
    beforeFork: fn<ResqueStarterConfig['beforeFork']>('beforeFork'),
    afterFork: fn<NonNullable<ResqueStarterConfig['afterFork']>>('afterFork') ?? defaultAfterFork,
  };
}

/**
 * Why: a Redis password must never reach a log line, a title or the status file. Parsed the way
 * ioredis parses it (WHATWG URL: the last `@` ends the user info); the user-info password and a
 * `password` query parameter become `***`, and so does a user info without `:` (a password
 * alone, as ioredis reads it). A URL that does not parse keeps only what follows its last `@`.
 */
export function redactUrl(url: string): string {
  const query = (q: string) => q.replace(/([?&](?:password|pass|pwd)=)[^&#]*/gi, '$1***');
  if (url.startsWith('/')) return query(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
    const at = url.lastIndexOf('@');
    return at < 0 ? query(url) : `${scheme}***@${query(url.slice(at + 1))}`;
  }
  // `redis://S3cret@host` (no `:`) is the legacy password-only form (older ioredis and other
  // clients read a lone user info as the password): we cannot tell it from a user name, so it
  // is hidden as a whole.
  const auth = u.password ? `${u.username}:***@` : u.username ? '***@' : '';
  return `${u.protocol}//${auth}${u.host}${u.pathname}${query(u.search)}${u.hash ? '#…' : ''}`;
}

/** Where Redis is, for log lines: URL with the password hidden, or host:port of the options. */
export function describeRedis(redis: string | RedisOptions): string {
  if (typeof redis === 'string') return redactUrl(redis);
  if (redis.path) return redis.path;
  return `${redis.host ?? '127.0.0.1'}:${redis.port ?? 6379}`;
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

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return '`null`';
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `\`${v}\` (string)`;
  return `\`${String(v)}\` (${typeof v})`;
}

/** Numbers as the user wrote them (`0.001`, `1000000000`), anything else as `describe`. */
function describeNumber(v: unknown): string {
  return typeof v === 'number' ? `\`${String(v)}\`` : describe(v);
}

function suggest(key: string): string {
  const lower = key.toLowerCase().replace(/[_-]/g, '');
  for (const k of KNOWN_FIELDS) if (k.toLowerCase() === lower) return `; did you mean \`${k}\`?`;
  return `; known fields: ${[...KNOWN_FIELDS].join(', ')}`;
}

/** `file:line:col` of the first `field:` in the source, else the file alone. */
function locate(ctx: ResolveContext, field: string): string {
  if (!ctx.source) return ctx.path;
  const re = new RegExp(`(^|[\\s{,'"])${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]?\\s*[:(]`, 'm');
  const m = re.exec(ctx.source);
  if (!m) return ctx.path;
  const index = m.index + m[1]!.length;
  const before = ctx.source.slice(0, index);
  const line = before.split('\n').length;
  const col = index - before.lastIndexOf('\n');
  return `${ctx.path}:${line}:${col}`;
}
