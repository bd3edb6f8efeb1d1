import type { Server } from 'node:net';
import { createEventLoop, createNodeHost, ownCpuMs, signalAndWake, type EventLoop, type LogFormat, type Logger, type ProcessHost, type SignalName } from '@baton/process-kit';
import { describeRedis, type ResolvedConfig } from './config.js';
import { DEFAULT_GROUP, describeGroup } from './config-groups.js';
import { controlSocketPath, listenControl, runtimeDir } from './control.js';
import { StartupError } from './errors.js';
import { messages } from './messages.js';
import { checkRedis, type RedisReport } from './redis-check.js';
import { loadResque, type ResqueQueue } from './resque.js';
import { initialState, reduce, type Effect, type MasterEvent, type MasterState, type Predecessor } from './state/index.js';
import { bootMaster, type Booted } from './master/boot.js';
import { settingsOf } from './master/config-holder.js';
import { groupSpecs } from './master/group-specs.js';
import type { ControlRequests } from './master/control-requests.js';
import { holdLeases } from './master/lease-holder.js';
import { startMasterScheduler, type CreateScheduler, type MasterScheduler } from './master/scheduler.js';
import { RedisHealth } from './master/redis-health.js';
import { watchRedisLink } from './master/redis-link.js';
import { sampleBacklog } from './master/backlog-sampler.js';
import { sampleMemory } from './master/memory-sampler.js';
import { createParts, type MasterParts } from './master/parts.js';
import { startEarlySpare } from './master/spare.js';
import type { QueueClient } from './master/queue-client.js';
import { watchRestartFile } from './master/restart-file.js';
import { shutDown } from './master/shutdown.js';
import { watchSupervisor } from './master/supervisor-watchdog.js';

/** The signals the master gives a meaning to; each has our own handler from the first line on. */
export const MASTER_SIGNALS: SignalName[] = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGCONT', 'SIGTTIN', 'SIGTTOU', 'SIGHUP'];

/** What the master needs of Redis; unit tests pass stubs. */
export interface MasterDeps {
  /** Start-up check: Redis answers and permits what the workers need; what it found (for the start line). */
  checkRedis(config: ResolvedConfig): Promise<RedisReport | void>;
  /** The client for job recovery and lease holding (made on first use). */
  createQueue(config: ResolvedConfig): Promise<ResqueQueue>;
  /** A scheduler (delayed jobs, retries, `schedule`) for one Redis and namespace. */
  createScheduler: CreateScheduler;
  /** The master's own connection, watched for outages and failovers; returns stop. */
  watchRedis(config: ResolvedConfig, logger: Logger, now: () => number, health?: Pick<RedisHealth, 'link'>): Promise<() => void>;
}

export interface MasterOptions {
  /** Environment at start (REDIS_URL, SERVER_STARTER_*, BATON_LOG_LEVEL, …); workers inherit it. */
  env: NodeJS.ProcessEnv;
  /** Where log lines go when the config has no `logFile`. */
  stderr?: NodeJS.WritableStream | undefined;
  /** `--log-format`: wins over the config's `logFormat`. */
  logFormat?: LogFormat | undefined;
  /** `console.*` of this process (the config's, beforeFork's) into the master's log stream; the CLI sets it. */
  captureConsole?: boolean | undefined;
  /** The OS seam: the real one by default, createFakeHost() in unit tests. */
  host?: ProcessHost | undefined;
  deps?: Partial<MasterDeps> | undefined;
}

/**
 * Why: runs one master generation: boots (config, files, Redis, predecessors, pid file), wires
 * the parts that execute the reducer's effects and the sources that feed it events, opens the
 * loop with `start`, and takes everything down in order once the reducer says `exit`.
 * Resolves with the exit code.
 */
export async function runMaster(configPath: string, options: MasterOptions): Promise<number> {
  // ms since this process started: what loading our code took (the start-up timings line).
  const importedAt = performance.now();
  const host = options.host ?? createNodeHost();
  const deps: MasterDeps = { ...DEFAULT_DEPS, ...options.deps };
  const { env } = options;
  // Our own handler for every control signal comes first; events wait in the loop until `start`
  // opens it (a TERM during start-up takes effect before any worker starts).
  let parts: MasterParts | undefined;
  let logger: Logger | undefined;
  const loop = createEventLoop<MasterState | undefined, MasterEvent, Effect>({
    initial: undefined, // `open` sets the first state, once the config is known
    reduce: (state, event, now) => {
      const step = reduce(state!, event, now);
      parts?.metrics?.observe(state, event, step, now);
      return step;
    },
    execute: (effect) => parts?.execute(effect),
    now: () => host.now(),
    // An effect that throws must not take the loop (and the master, orphaning its workers) down.
    onEffectError: (effect, err) => logger?.error(messages.effectFailed(effect.type, (err as Error)?.message ?? String(err))),
  });
  host.onSignals(MASTER_SIGNALS, (signal) => loop.push({ type: 'signal', signal }));

  const stopRequested = () => loop.take(isStopSignal) !== undefined;
  // Loads our code while this master loads the config, checks Redis and finds the old master.
  const earlySpare = startEarlySpare(host, env, () => undefined);
  const stopEarlySpare = () => {
    if (earlySpare && !earlySpare.gone) host.signal(earlySpare.child.pid, 'SIGQUIT');
  };
  const booted = await bootMaster(configPath, { env, stderr: options.stderr, logFormat: options.logFormat, captureConsole: options.captureConsole, host, checkRedis: deps.checkRedis, stopRequested }).catch((err: unknown) => {
    stopEarlySpare();
    throw err;
  });
  if (!booted) {
    stopEarlySpare();
    return 0;
  }
  logger = booted.logger;
  // Lines name the Redis only when the master uses several.
  const servers = new Set([booted.config.redis, ...booted.config.groups.map((g) => g.redis)].map(describeRedis));
  const redisHealth = new RedisHealth(logger, () => host.now(), servers.size > 1);
  const p = (parts = createParts(booted, { host, env, loop, createQueue: deps.createQueue, redisHealth, earlySpare }));
  const ctlPath = controlSocketPath(host.pid, runtimeDir(env));
  const server = await openControlSocket(ctlPath, p.control, booted);
  const removeFiles = () => {
    host.removeFile(ctlPath);
    p.status.remove();
    booted.pidFile.remove();
  };
  // Last resort: dying of a signal we do not handle must not leave workers or files behind.
  const removeExitGuard = host.onFatalSignal(() => {
    for (const pid of p.spawner.pids) signalAndWake(host, pid, 'SIGTERM', { group: true });
    removeFiles();
  });
  const config = p.configs.config;
  logStarting(logger, host.pid, config, booted);
  const tAttach = performance.now();
  const attached = await p.predecessors.attach(booted.found);
  const attachMs = performance.now() - tAttach;
  loop.open(startEvent(loop, config, attached), initialState(settingsOf(config)));
  logger.debug(messages.masterStartTimings({ sinceExec: performance.now(), cpu: ownCpuMs(), imports: importedAt, ...booted.ms, takeover: attached.length > 0 ? attachMs : undefined }));
  // Served once the linked predecessors handed their counters over (and released the endpoint).
  p.metrics?.start(attached.filter((a) => a.linked).map((a) => a.pid));
  const stopWatch = await deps.watchRedis(config, logger, () => host.now(), redisHealth).catch((err: Error) => {
    logger.debug(messages.redisWatchFailed(err?.message ?? String(err)));
    return () => undefined;
  });
  const stopOther = startSources(host, booted, p, loop, redisHealth);
  const stopSources = () => {
    stopOther();
    stopWatch();
  };
  const scheduler = startScheduler(p, logger, deps.createScheduler, host, () => loop.state);

  const code = await p.done;
  await shutDown({ host, parts: p, server, logOut: booted.logOut, logger, stopSources, scheduler, removeFiles, removeExitGuard });
  return code;
}

// --- internal ---

const DEFAULT_DEPS: MasterDeps = {
  checkRedis,
  createQueue: async (c) =>
    new (await loadResque()).Queue({
      redis: c.redis,
      namespace: c.namespace,
      maxRecoveries: c.maxRecoveries,
      // Recovery and lease writes short of replicas carry on (the master says so once, as the workers do).
      ...(c.durability ? { durability: { ...c.durability, onShortfall: 'warn' as const } } : {}),
    }),
  watchRedis: async (c, logger, now, health) => {
    const { createRedis } = await loadResque();
    if (!createRedis) return () => undefined;
    // Each Redis the master uses (the top level's, where the scheduler runs, and the groups'), once.
    const servers = new Map([c.redis, ...c.groups.map((g) => g.redis)].map((r) => [describeRedis(r), r]));
    const stops = [...servers].map(([where, r]) => watchRedisLink({ client: createRedis(r, `resque-starter:master:${process.pid}`), where, logger, now, changed: (down) => health?.link(where, down) }));
    return () => {
      for (const stop of stops) stop();
    };
  },
  createScheduler: async (t, logger) => {
    const { Scheduler } = (await loadResque()) as Partial<typeof import('@baton/resque')>;
    // A stand-in module (tests) without a Scheduler: this master runs none.
    if (!Scheduler) return undefined;
    return new Scheduler({ redis: t.redis, namespace: t.namespace, lockTtlMs: t.lockTtlMs, catchUpMs: t.catchUpMs, schedule: t.schedule, logger });
  },
};

/** The scheduler, its leadership shown in the status; a reload hands it the new schedule. */
/**
 * The scheduler, its leadership shown in the status; a reload hands it the new schedule. During
 * a takeover it starts only once the takeover is over (or after TAKEOVER_SCHEDULER_WAIT_MS):
 * making one parses the schedule (cron-parser and luxon, ~100 ms of CPU) and the old master
 * leads meanwhile anyway, so that CPU is not taken from the new workers' start-up (issue 16).
 */
function startScheduler(p: MasterParts, logger: Logger, create: CreateScheduler, host: ProcessHost, state: () => MasterState | undefined): MasterScheduler {
  let running: MasterScheduler | undefined;
  const startedAt = host.now();
  const start = () => {
    stopWaiting();
    running ??= startMasterScheduler(p.configs.config, { create, logger, changed: () => p.status.update() });
  };
  const waiting = () => state()?.takeover !== undefined && host.now() - startedAt < TAKEOVER_SCHEDULER_WAIT_MS;
  let stopWaiting: () => void = () => undefined;
  if (waiting()) stopWaiting = host.every(50, () => (waiting() ? undefined : start()));
  else start();
  const config = () => p.configs.config;
  const scheduler: MasterScheduler = {
    snapshot: () => running?.snapshot() ?? { enabled: config().scheduler.enabled, leader: false, lockTtl: config().scheduler.lockTtlMs / 1000, schedule: config().schedule.map((e) => e.name), leading: [] },
    // Not started yet: it starts with the config of that moment.
    reload: (next) => running?.reload(next),
    stop: async () => {
      stopWaiting();
      await running?.stop();
    },
  };
  p.status.setScheduler(() => scheduler.snapshot());
  p.configs.onApply((next) => scheduler.reload(next));
  return scheduler;
}

/** The longest a taking-over master waits before it starts its scheduler anyway. */
const TAKEOVER_SCHEDULER_WAIT_MS = 10_000;

/** The endpoint for the start line: as configured, and the node the check reached when it is not the configured address itself. */
function describeEndpoint(config: ResolvedConfig, report: RedisReport | undefined): string {
  const where = describeRedis(config.redis);
  const t = report?.topology;
  if (!t?.reached || t.kind === 'standalone') return where;
  return `${where}, ${t.kind === 'cluster' ? `slot ${t.cluster?.slot} on` : 'primary'} ${t.reached}`;
}

const isStopSignal = (e: MasterEvent) => e.type === 'signal' && (e.signal === 'SIGTERM' || e.signal === 'SIGINT' || e.signal === 'SIGQUIT');

/**
 * The loop's first event. A stop signal that came during start-up, and a newer master that
 * asked to take over meanwhile (a HUP storm), are handed to it rather than run after it.
 */
function startEvent(loop: EventLoop<unknown, MasterEvent>, config: ResolvedConfig, predecessors: Predecessor[]): MasterEvent {
  const stop = loop.take(isStopSignal);
  const successor = loop.take((e) => e.type === 'successorLinked');
  return {
    type: 'start',
    desired: config.concurrency,
    groups: groupSpecs(config),
    predecessors,
    stop: stop?.type === 'signal' ? stop.signal : undefined,
    successor: successor?.type === 'successorLinked' ? { link: successor.link, by: successor.by, generation: successor.generation } : undefined,
  };
}

/** One line: the pool as always for a config without groups, else every group with its count and queues. */
function logStarting(logger: Logger, pid: number, config: ResolvedConfig, booted: Booted): void {
  const only = config.groups.length === 1 && config.groups[0]!.name === DEFAULT_GROUP ? config.groups[0]! : undefined;
  if (only) logger.info(messages.starting(pid, only.concurrency, only.queues, describeEndpoint(config, booted.redis), booted.generation));
  else logger.info(messages.startingGroups(pid, config.groups.map((g) => `${describeGroup(g)} (redis ${describeRedis(g.redis)})`), booted.generation));
}

async function openControlSocket(path: string, control: ControlRequests, booted: Booted): Promise<Server> {
  try {
    return await listenControl(path, control);
  } catch (err) {
    booted.pidFile.remove();
    throw new StartupError(`cannot open the control socket ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The event sources beside signals and workers; returns one stop for all. */
function startSources(host: ProcessHost, booted: Booted, p: MasterParts, loop: EventLoop<MasterState | undefined, MasterEvent>, health: RedisHealth): () => void {
  const { logger, supervisorPid } = booted;
  const config = p.configs.config;
  const state = () => loop.state!;
  const dispatch = (event: MasterEvent) => loop.push(event);
  // The leases of the ready workers whose process is alive, by the Redis of their group.
  const whereOf = new Map<QueueClient, string>();
  const batches = () => {
    const out = new Map<QueueClient, string[]>();
    for (const w of state().workers) {
      if (w.phase !== 'ready' || w.pid === undefined || !p.spawner.has(w.pid)) continue;
      const queue = p.queues.forGroup(w.group);
      out.set(queue, [...(out.get(queue) ?? []), ...w.ids]);
      whereOf.set(queue, describeRedis(p.configs.forGroup(w.group).redis));
    }
    return [...out].map(([queue, ids]) => ({ queue, ids }));
  };
  const stops = [
    holdLeases(host, { batches, lockTimeoutMs: config.lockTimeoutMs, logger, onWrite: (err, queue) => health.masterWrite(err, whereOf.get(queue)) }),
    sampleMemory(host, { intervalMs: config.statusIntervalMs, workers: () => state().workers, dispatch }),
  ];
  if (config.restartFile) stops.push(watchRestartFile(host, config.restartFile, logger, dispatch));
  stops.push(sampleBacklog(host, { groups: () => p.configs.config.groups, queues: p.queues, dispatch, logger }));
  if (supervisorPid !== undefined) stops.push(watchSupervisor(host, supervisorPid, logger, dispatch));
  if (p.notify) stops.push(() => p.notify?.stop());
  return () => {
    for (const stop of stops) stop();
  };
}
