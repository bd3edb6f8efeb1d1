import { closest } from '@baton/process-kit';
import { describe, describeNumber, type FieldReader } from './config-fields.js';
import type { JobHandlers } from './config-jobs.js';
import { resolveJob } from './config-schedule.js';
import type { RedisConfig } from './config-redis.js';

// Worker groups: several pools of workers in one master, each with its own queues, counts,
// limits and (optionally) Redis. Top-level fields are the defaults every group inherits; a
// config without `groups` is one group named `default` made of the top-level fields.

/** One worker group (`groups: { critical: { ... } }`): anything not set is the top-level value. */
export interface GroupConfig {
  /** Worker processes of this group. @default the top-level `concurrency` */
  concurrency?: number;
  /** Ceiling of this group's count (`scale GROUP N`, TTIN). @default the top-level `maxConcurrency` */
  maxConcurrency?: number;
  /** Queues this group works, in priority order. @default the top-level `queues` */
  queues?: string | readonly string[];
  /** Redis of this group (several servers or databases from one master). @default the top-level `redis` */
  redis?: RedisConfig;
  /** Resque key namespace of this group. @default the top-level `namespace` */
  namespace?: string;
  /** @default the top-level `dequeueInterval` */
  dequeueInterval?: number;
  /** @default the top-level `jobConcurrency` */
  jobConcurrency?: number;
  /** @default the top-level `prefetch` */
  prefetch?: number;
  /** @default the top-level `maxMemory` */
  maxMemory?: number;
  /** @default the top-level `maxJobs` */
  maxJobs?: number;
  /** @default the top-level `maxLifetime` */
  maxLifetime?: number;
  /** @default the top-level `jobTimeout` */
  jobTimeout?: number;
  /**
   * The job classes this group runs: a list of names out of the top-level `jobs`, or a map of
   * handlers of its own. @default every top-level job
   */
  jobs?: readonly string[] | JobHandlers;
  /** Scale this group to the work waiting, between `min` and `max` workers. @default undefined (a fixed count) */
  autoscale?: AutoscaleConfig;
}

/**
 * Auto-scaling of a group (opt in): the count follows the jobs waiting in its queues. Up at once
 * (to ⌈waiting / jobsPerWorker⌉, or one more while the oldest job has waited over `maxWait`),
 * down one worker at a time once the backlog has stayed lower for `downAfter` seconds; a worker
 * scaled down finishes its job first.
 */
export interface AutoscaleConfig {
  /** Fewest workers. */
  min: number;
  /** Most workers (at most the group's `maxConcurrency`). */
  max: number;
  /** Jobs waiting per worker wanted. @default 10 */
  jobsPerWorker?: number;
  /** Seconds the oldest waiting job may wait (read from its `enqueued_at`, when the enqueuer sets one) before one more worker starts. @default undefined */
  maxWait?: number;
  /** Seconds between samples of the queues. @default 2 */
  interval?: number;
  /** Seconds the backlog must stay below the count before a worker is scaled down (hysteresis). @default 30 */
  downAfter?: number;
}

/** A group's autoscale with defaults applied, in ms. */
export interface ResolvedAutoscale {
  min: number;
  max: number;
  jobsPerWorker: number;
  maxWaitMs: number | undefined;
  intervalMs: number;
  downAfterMs: number;
}

/** A group with every default applied (durations in ms, memory in KB), as the master and its workers use it. */
export interface ResolvedGroup {
  name: string;
  concurrency: number;
  maxConcurrency: number;
  queues: string[];
  redis: RedisConfig;
  namespace: string;
  dequeueInterval: number | undefined;
  jobConcurrency: number;
  prefetch: number;
  jobs: JobHandlers;
  maxMemoryKb: number | undefined;
  maxJobs: number | undefined;
  maxLifetimeMs: number | undefined;
  jobTimeoutMs: number | undefined;
  autoscale: ResolvedAutoscale | undefined;
}

/** The name of the one group of a config without `groups`. */
export const DEFAULT_GROUP = 'default';

/** The fields a group may set (a field added to GroupConfig and not here fails to compile). */
export const GROUP_FIELDS = {
  concurrency: true, maxConcurrency: true, queues: true, redis: true, namespace: true, dequeueInterval: true, jobConcurrency: true, prefetch: true,
  maxMemory: true, maxJobs: true, maxLifetime: true, jobTimeout: true, jobs: true, autoscale: true,
} as const satisfies Record<keyof GroupConfig, true>;

/** The per-group part of a ResolvedConfig (its top-level values: the defaults). */
export type GroupFields = Omit<ResolvedGroup, 'name'>;

/** The group fields of a resolved config's top level: the `default` group, and every group's defaults. */
export function topLevelGroup(c: GroupFields): GroupFields {
  return {
    concurrency: c.concurrency, maxConcurrency: c.maxConcurrency, queues: c.queues, redis: c.redis, namespace: c.namespace,
    dequeueInterval: c.dequeueInterval, jobConcurrency: c.jobConcurrency, prefetch: c.prefetch, jobs: c.jobs, maxMemoryKb: c.maxMemoryKb,
    maxJobs: c.maxJobs, maxLifetimeMs: c.maxLifetimeMs, jobTimeoutMs: c.jobTimeoutMs, autoscale: c.autoscale,
  };
}

/**
 * Why: a worker process (and whatever serves one group: its Redis client, its status) sees the
 * config as if its group were the whole config: the top-level fields replaced by the group's.
 * Unknown names give undefined.
 */
export function configForGroup<C extends { groups: readonly ResolvedGroup[] }>(config: C, name: string): C | undefined {
  const g = config.groups.find((x) => x.name === name);
  if (!g) return undefined;
  const { name: _name, ...fields } = g;
  return { ...config, ...fields };
}

/** What resolves one group's fields the way the top level's are: the same readers, on the group's object. */
export interface GroupReaders {
  queues(f: FieldReader): string[];
  redis(f: FieldReader): RedisConfig;
  concurrency(f: FieldReader, maxDefault: number, dflt: number): { concurrency: number; maxConcurrency: number };
  prefetch(f: FieldReader, dflt: number): number;
}

/**
 * Why: `groups` is resolved with the readers of the top level, so a group's field is checked
 * and worded as the same field at the top (errors say `groups.mail.concurrency`). Returns the
 * groups in config order; without `groups`, the one group `default`.
 */
export function resolveGroups(f: FieldReader, top: GroupFields, read: GroupReaders): ResolvedGroup[] {
  const raw = f.obj.groups;
  if (raw === undefined) return [{ name: DEFAULT_GROUP, ...top }];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    f.report('groups', `Expected \`groups\` to be an object of worker groups by name (\`groups: { mail: { queues: ['mail'], concurrency: 2 } }\`), got ${describe(raw)}`);
    return [{ name: DEFAULT_GROUP, ...top }];
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0) f.report('groups', 'Expected `groups` to name at least one worker group, got an empty object');
  const groups: ResolvedGroup[] = [];
  const all = f.nested('groups', raw as Record<string, unknown>);
  for (const [name, value] of entries) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(name)) {
      all.report(name, `Expected group names of letters, digits, \`_\`, \`-\` and \`.\` (at most 40, starting with a letter or digit), got \`${name}\``);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      all.report(name, `Expected group \`${name}\` to be an object of group fields, got ${describe(value)}`);
      continue;
    }
    groups.push(resolveGroup(all.nested(name, value as Record<string, unknown>), name, top, read));
  }
  return groups.length > 0 ? groups : [{ name: DEFAULT_GROUP, ...top }];
}

/** The message for a config file that exports an array of configs: one master runs groups instead. */
export const ARRAY_CONFIG_HINT =
  'Expected the config file to `export default defineConfig({ ... })`, got an array; to run several pools of workers from one master, ' +
  'make them `groups` of one config: `defineConfig({ jobs, groups: { critical: { queues: [\'critical\'], concurrency: 4 }, mail: { queues: [\'mail\'], jobConcurrency: 8 } } })`';

/** One line per group, for `check` and the master's start-up line. */
export function describeGroup(g: ResolvedGroup): string {
  const extras = [
    g.jobConcurrency > 1 ? `${g.jobConcurrency} jobs at a time` : '',
    g.maxMemoryKb !== undefined ? `maxMemory ${Math.round(g.maxMemoryKb / 1024)} MB` : '',
    g.jobTimeoutMs !== undefined ? `jobTimeout ${g.jobTimeoutMs / 1000}s` : '',
  ].filter(Boolean);
  return `${g.name}: ${g.concurrency} worker(s), queues ${g.queues.join(',')}, jobs ${Object.keys(g.jobs).join(',') || 'none'}${extras.length ? `, ${extras.join(', ')}` : ''}`;
}

// --- internal ---

function resolveGroup(f: FieldReader, name: string, top: GroupFields, read: GroupReaders): ResolvedGroup {
  for (const key of Object.keys(f.obj)) {
    if (Object.hasOwn(GROUP_FIELDS, key)) continue;
    const near = closest(key, Object.keys(GROUP_FIELDS));
    f.report(key, `Unknown field \`groups.${name}.${key}\` (a group sets ${Object.keys(GROUP_FIELDS).join(', ')})${near ? `; did you mean \`${near}\`?` : ''}`);
  }
  const has = (k: keyof GroupConfig) => f.obj[k] !== undefined;
  const maxMemory = f.optPositive('maxMemory');
  const counts = read.concurrency(f, top.maxConcurrency, top.concurrency);
  const autoscale = has('autoscale') ? resolveAutoscale(f, counts.maxConcurrency) : top.autoscale;
  return {
    name,
    ...counts,
    // An autoscaled group starts within its bounds.
    concurrency: autoscale ? Math.min(Math.max(counts.concurrency, autoscale.min), autoscale.max) : counts.concurrency,
    autoscale,
    queues: has('queues') ? f.field(() => read.queues(f), top.queues) : top.queues,
    redis: has('redis') ? f.field(() => read.redis(f), top.redis) : top.redis,
    namespace: f.optString('namespace') ?? top.namespace,
    dequeueInterval: has('dequeueInterval') ? f.optSeconds('dequeueInterval') : top.dequeueInterval,
    jobConcurrency: f.int('jobConcurrency', 1, top.jobConcurrency),
    prefetch: read.prefetch(f, top.prefetch),
    jobs: has('jobs') ? f.field(() => groupJobs(f, name, top.jobs), top.jobs) : top.jobs,
    maxMemoryKb: maxMemory === undefined ? top.maxMemoryKb : Math.round(maxMemory * 1024),
    maxJobs: has('maxJobs') ? f.int('maxJobs', 1, 0) : top.maxJobs,
    maxLifetimeMs: has('maxLifetime') ? f.ms('maxLifetime', undefined) : top.maxLifetimeMs,
    jobTimeoutMs: has('jobTimeout') ? f.ms('jobTimeout', undefined) : top.jobTimeoutMs,
  };
}

/** `autoscale` (of a group, or the top level): min ≤ max ≤ maxConcurrency, positive rates and durations. */
export function resolveAutoscale(f: FieldReader, maxConcurrency: number): ResolvedAutoscale | undefined {
  const v = f.obj.autoscale;
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    f.report('autoscale', `Expected \`autoscale\` to be an object such as \`{ min: 1, max: 8 }\`, got ${describe(v)}`);
    return undefined;
  }
  const a = f.nested('autoscale', v as Record<string, unknown>);
  for (const key of Object.keys(a.obj)) {
    if (!AUTOSCALE_FIELDS.includes(key)) a.report(key, `Unknown field \`autoscale.${key}\`; known: ${AUTOSCALE_FIELDS.map((k) => `\`${k}\``).join(', ')}`);
  }
  if (a.obj.min === undefined || a.obj.max === undefined) a.report('autoscale', 'Expected `autoscale` to set both `min` and `max`');
  const min = a.int('min', 0, 0);
  const max = a.int('max', 1, Math.max(1, min));
  if (max < min) a.report('max', `Expected \`autoscale.max\` (${max}) to be at least \`autoscale.min\` (${min})`);
  if (max > maxConcurrency) a.report('max', `Expected \`autoscale.max\` to be at most \`maxConcurrency\` (${maxConcurrency}), got \`${max}\``);
  const seconds = (k: string, lo: number, hi: number, dflt: number | undefined) =>
    a.field(() => {
      const x = a.obj[k];
      if (x === undefined) return dflt;
      if (typeof x !== 'number' || !(x >= lo && x <= hi)) a.fail(k, `Expected \`autoscale.${k}\` to be between ${lo} and ${hi} seconds, got ${describeNumber(x)}`);
      return x as number;
    }, dflt);
  const jobsPerWorker = a.optPositive('jobsPerWorker') ?? 10;
  const maxWait = seconds('maxWait', 0.1, 86_400, undefined);
  return {
    min,
    max: Math.max(min, Math.min(max, maxConcurrency)),
    jobsPerWorker,
    maxWaitMs: maxWait === undefined ? undefined : Math.round(maxWait * 1000),
    intervalMs: Math.round(seconds('interval', 0.05, 3600, 2)! * 1000),
    downAfterMs: Math.round(seconds('downAfter', 0, 86_400, 30)! * 1000),
  };
}

const AUTOSCALE_FIELDS = ['min', 'max', 'jobsPerWorker', 'maxWait', 'interval', 'downAfter'];

/** A group's `jobs`: names out of the top-level map, or handlers of its own. */
function groupJobs(f: FieldReader, name: string, all: JobHandlers): JobHandlers {
  const v = f.obj.jobs;
  if (Array.isArray(v)) {
    const picked: Record<string, JobHandlers[string]> = {};
    for (const job of v) {
      const handler = typeof job === 'string' ? all[job] : undefined;
      if (handler) picked[job as string] = handler;
      else {
        const near = typeof job === 'string' ? closest(job, Object.keys(all)) : undefined;
        f.report('jobs', `Expected \`groups.${name}.jobs\` to name jobs of the top-level \`jobs\`, got ${typeof job === 'string' ? `\`${job}\`` : describeNumber(job)}${near ? `; did you mean \`${near}\`?` : ''}`);
      }
    }
    return picked;
  }
  if (v === null || typeof v !== 'object') f.fail('jobs', `Expected \`groups.${name}.jobs\` to be a list of job names or an object of handlers, got ${describe(v)}`);
  const handlers = f.nested('jobs', v as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [job, handler] of Object.entries(handlers.obj)) out[job] = resolveJob(handlers, job, handler, ` in \`groups.${name}.jobs\``);
  return out as JobHandlers;
}
