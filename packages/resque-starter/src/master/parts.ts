import type { EventLoop, ProcessHost } from '@baton/process-kit';
import type { MasterHandle, ResolvedConfig } from '../config.js';
import { PredecessorTracker } from '../handoff.js';
import { messages } from '../messages.js';
import type { ResqueQueue } from '../resque.js';
import { predecessorLive, type Effect, type MasterEvent, type MasterState } from '../state/index.js';
import type { Booted } from './boot.js';
import { ConfigHolder } from './config-holder.js';
import { ControlRequests } from './control-requests.js';
import { createExecutor } from './effects.js';
import { JobRecovery } from './job-recovery.js';
import { describeMetrics } from '../config-metrics.js';
import { createEmbeddedDashboard } from '../web/embedded.js';
import { MasterMetrics } from './metrics.js';
import type { RedisHealth } from './redis-health.js';
import { createMasterNotify, type MasterNotify } from './notify.js';
import { createQueueClients, type QueueClients } from './queue-client.js';
import { workerEnvOf, type Spare } from './spare.js';
import { WorkerSpawner } from './spawner.js';
import { StatusOutput } from './status-output.js';

/** The parts of a booted master, each owning what one kind of effect acts on. */
export interface MasterParts {
  configs: ConfigHolder;
  /** One Redis client per Redis the groups use (recovery, leases). */
  queues: QueueClients;
  spawner: WorkerSpawner;
  control: ControlRequests;
  status: StatusOutput;
  recovery: JobRecovery;
  predecessors: PredecessorTracker;
  /** start-server's readiness gate and/or systemd's notify socket, when either listens. */
  notify: MasterNotify | undefined;
  /** The `/metrics` endpoint and what it counts, when the config has `metrics`. */
  metrics: MasterMetrics | undefined;
  /** Executes one of the reducer's effects. */
  execute(effect: Effect): void;
  /** Resolves with the code of the reducer's `exit` effect. */
  done: Promise<number>;
}

export interface PartsContext {
  host: ProcessHost;
  env: NodeJS.ProcessEnv;
  loop: EventLoop<MasterState | undefined, MasterEvent>;
  createQueue(config: ResolvedConfig): Promise<ResqueQueue>;
  /** Logs the workers' Redis conditions once each. */
  redisHealth?: RedisHealth | undefined;
  /** A spare started before the config was loaded (master.ts), to adopt or stop. */
  earlySpare?: Spare | undefined;
}

/** Why: one place that says which part owns what, and how they reach each other and the loop. */
export function createParts(booted: Booted, { host, env, loop, createQueue, redisHealth, earlySpare }: PartsContext): MasterParts {
  const { logger, logOut, generation, pidFile } = booted;
  const dispatch = (event: MasterEvent) => loop.push(event);
  const state = () => loop.state!;
  const configs = new ConfigHolder(booted.config, env, logger, dispatch);
  const config = () => configs.config;
  const keyOf = (group: string) => {
    const c = configs.forGroup(group);
    return `${typeof c.redis === 'string' ? c.redis : JSON.stringify(c.redis)} ${c.namespace}`;
  };
  const queues = createQueueClients(keyOf, (group) => createQueue(configs.forGroup(group)));
  const masterHandle = (): MasterHandle => ({
    pid: host.pid,
    generation,
    workers: state().workers.map((w) => ({ group: w.group, slot: w.slot, pid: w.pid, state: w.phase })),
    logger,
  });
  // Workers speak to neither systemd nor start-server's readiness gate: the master does.
  // They write their lines in the master's format (its `--log-format` may differ from their config).
  const workerEnv = workerEnvOf(env, booted.logFormat);
  const settings = booted.config.metrics;
  const metrics: MasterMetrics | undefined = settings
    ? new MasterMetrics({
        host,
        settings,
        generation,
        state: () => loop.state,
        config,
        queues,
        logger,
        push: (push, links) => control.pushMetrics(push, links),
        channelsClosed: (ms): Promise<void> => spawner.channelsClosed(ms),
        dashboard: settings.dashboard
          ? createEmbeddedDashboard({ config: booted.config, env, logger, token: settings.token, endpoint: describeMetrics(settings) })
          : undefined,
      })
    : undefined;
  const jobsDone: MasterMetrics['jobsDone'] | undefined = metrics ? metrics.jobsDone.bind(metrics) : undefined;
  const spawner: WorkerSpawner = new WorkerSpawner({ host, env: workerEnv, config, generation, ids: booted.ids, logOut, logger, dispatch, masterHandle, redisHealth, jobsDone, sparesWanted: () => sparesWanted(loop.state, booted), early: earlySpare });
  const reopenLogs = () => {
    if (!logOut) return false;
    logOut.reopen();
    logger.info(messages.reopenedLogs(logOut.path));
    return true;
  };
  const control = new ControlRequests({
    isOpen: () => loop.isOpen,
    dispatch,
    snapshot: () => status.snapshot(),
    maxConcurrency: () => config().maxConcurrency,
    reopenLogs,
    metricsFromSuccessor: metrics && ((link, parts) => metrics.fromSuccessor(link, parts)),
  });
  const status = new StatusOutput({ host, state, config, generation, startedAt: host.now(), pushWorkers: (live, links) => control.pushWorkers(live, links), redis: redisHealth, logger });
  // A Redis condition starting or ending shows in the status file without waiting for another step.
  redisHealth?.onChange(() => status.update());
  const recovery = new JobRecovery(queues, host, logger, () => config().termTimeoutMs, metrics && ((group, n) => metrics.recovered(group, n)));
  const predecessors = new PredecessorTracker(dispatch, logger, host, { env, generation, metrics });
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const notify = createMasterNotify({ host, env, logger });
  const executeEffect = createExecutor({ host, dispatch, spawner, recovery, configs, predecessors, pidFile, control, status, notify, state, logger, finish });
  const execute = (effect: Effect) => {
    executeEffect(effect);
    spawner.syncSpare();
  };
  spawner.syncSpare();
  return { configs, queues, spawner, control, status, recovery, predecessors, notify, metrics, execute, done };
}

// --- internal ---

/** Spares kept ahead of the slots still to open, at most this many. */
const MAX_SPARES = 2;

/**
 * Spares while a takeover has slots left to fill (each old worker's exit opens one): one per
 * slot left, at most MAX_SPARES; from boot when there are predecessors, so the first new worker
 * finds one loaded. New ones start (`start`) only while the workers of both generations, counting
 * those starting, are at most `desired`: a spawn is a fork of this master (its config loaded)
 * until the exec, and that moment must not make `desired + 2`. The spawner also tops them up
 * just before it hands a spare its slot (that spare has loaded nothing of the app yet).
 */
function sparesWanted(s: MasterState | undefined, booted: Booted): { keep: number; start: number } {
  if (!s) {
    const n = booted.found.length > 0 ? Math.min(MAX_SPARES, booted.config.concurrency) : 0;
    return { keep: n, start: n };
  }
  if (s.phase !== 'running' || s.takeover === undefined || predecessorLive(s) === 0) return { keep: 0, start: 0 };
  const keep = Math.max(0, Math.min(MAX_SPARES, s.desired - s.workers.length));
  return { keep, start: s.workers.length + predecessorLive(s) <= s.desired ? keep : 0 };
}
