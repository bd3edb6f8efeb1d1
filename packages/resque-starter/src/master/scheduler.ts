import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@baton/process-kit';
import { describeRedis, type ResolvedConfig } from '../config.js';
import type { ResolvedScheduleEntry } from '../config-schedule.js';
import { messages } from '../messages.js';
import type { StatusSnapshot } from '../status.js';

/** What the master drives of `@baton/resque`'s Scheduler. */
export interface SchedulerLike {
  readonly isLeader: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  setSchedule(schedule: Record<string, ResolvedScheduleEntry['entry']> | undefined): void;
  on(event: 'leader' | 'follower', listener: () => void): unknown;
  on(event: 'tick', listener: (name: string, tickMs: number) => void): unknown;
}

export interface SchedulerTarget {
  redis: ResolvedConfig['redis'];
  namespace: string;
  lockTtlMs: number;
  catchUpMs: number;
  schedule: Record<string, ResolvedScheduleEntry['entry']> | undefined;
}

/** Makes one Scheduler; undefined when the Resque module has none (a test stand-in). */
export type CreateScheduler = (target: SchedulerTarget, logger: Logger) => Promise<SchedulerLike | undefined>;

/** The master's schedulers, as the status and the shutdown see them. */
export interface MasterScheduler {
  /** For the status file and `status`: on or off, leading or following, the recurring jobs. */
  snapshot(): NonNullable<StatusSnapshot['scheduler']>;
  /** A config reload: the new schedule (the rest takes effect at the next restart). */
  reload(config: ResolvedConfig): void;
  /** Stops moving and releases leadership, so a follower (the next generation) takes over at once. */
  stop(): Promise<void>;
}

/**
 * Why: delayed jobs, retries and recurring jobs need exactly one mover per Redis, whichever
 * master it runs in: each master runs a Scheduler for every Redis and namespace its groups use
 * (the `schedule` on the top level's), and `@baton/resque`'s leader lock picks one across masters
 * and hosts. Started without waiting (a slow Redis must not hold up the workers); a leadership
 * change calls `changed` (the status shows it).
 */
export function startMasterScheduler(config: ResolvedConfig, o: { create: CreateScheduler; logger: Logger; changed(): void }): MasterScheduler {
  const { logger } = o;
  const targets = config.scheduler.enabled ? targetsOf(config) : [];
  if (!config.scheduler.enabled) logger.info(messages.schedulerOff());
  const running = targets.map((t) => ({ target: t, where: `${describeRedis(t.redis)}/${t.namespace}`, made: undefined as SchedulerLike | undefined, started: undefined as Promise<void> | undefined }));
  for (const r of running) {
    r.started = (async () => {
      const s = await o.create(r.target, logger);
      if (!s) return;
      r.made = s;
      s.on('leader', o.changed);
      s.on('follower', o.changed);
      s.on('tick', (name, tickMs) => logger.debug(messages.scheduleTick(name, tickMs, r.target.schedule?.[name]?.queue ?? '?')));
      logger.info(messages.schedulerStarted(r.where, r.target.lockTtlMs, Object.keys(r.target.schedule ?? {}).length));
      await s.start();
    })().catch((err: unknown) => logger.warn(messages.schedulerStartFailed(r.where, (err as Error)?.message ?? String(err))));
  }
  const top = running[0];
  return {
    snapshot: () => ({
      enabled: config.scheduler.enabled,
      leader: top?.made?.isLeader ?? false,
      lockTtl: config.scheduler.lockTtlMs / 1000,
      schedule: config.schedule.map((e) => e.name),
      leading: running.filter((r) => r.made?.isLeader).map((r) => r.where),
    }),
    reload(next) {
      if (next.scheduler.enabled !== config.scheduler.enabled || next.scheduler.lockTtlMs !== config.scheduler.lockTtlMs || next.scheduler.catchUpMs !== config.scheduler.catchUpMs || targetsOf(next).length !== targets.length) {
        logger.warn(messages.schedulerReloadKeeps());
      }
      if (!top?.made) return;
      try {
        const schedule = scheduleOf(next);
        top.made.setSchedule(schedule);
        top.target.schedule = schedule;
        config = { ...config, schedule: next.schedule };
      } catch (err) {
        logger.warn(messages.scheduleRefused((err as Error).message));
      }
    },
    async stop() {
      // Bounded: a Redis that went away must not keep the master from exiting (the lock then lapses after its TTL).
      const bound = new AbortController();
      const all = Promise.all(
        running.map(async (r) => {
          await r.started;
          await r.made?.stop();
        }),
      );
      await Promise.race([all, sleep(Math.max(config.redisTimeoutMs, 5000), undefined, { signal: bound.signal }).catch(() => undefined)]);
      bound.abort();
    },
  };
}

/** Each distinct Redis and namespace of the config, the top level's first (it gets the schedule). */
export function targetsOf(config: ResolvedConfig): SchedulerTarget[] {
  const seen = new Map<string, SchedulerTarget>();
  for (const t of [{ redis: config.redis, namespace: config.namespace }, ...config.groups]) {
    const key = `${describeRedis(t.redis)}\0${JSON.stringify(t.redis)}\0${t.namespace}`;
    if (!seen.has(key)) seen.set(key, { redis: t.redis, namespace: t.namespace, lockTtlMs: config.scheduler.lockTtlMs, catchUpMs: config.scheduler.catchUpMs, schedule: seen.size === 0 ? scheduleOf(config) : undefined });
  }
  return [...seen.values()];
}

function scheduleOf(config: ResolvedConfig): Record<string, ResolvedScheduleEntry['entry']> | undefined {
  return config.schedule.length ? Object.fromEntries(config.schedule.map((e) => [e.name, e.entry])) : undefined;
}
