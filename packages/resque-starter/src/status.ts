import type { JobInfo } from './ipc.js';
import { DEFAULT_GROUP } from './state/groups.js';
import type { MasterState } from './state/model.js';

/** One Redis condition a worker or the master is in (see the resque package's `redis` event). */
export interface RedisConditionStatus {
  /** `connection` (unreachable), `write-refused` (NOREPLICAS, READONLY, …), `busy`, `replication` (durability short of replicas), `redis-error`. */
  condition: string;
  /** What Redis (or the connection) said first. */
  message: string;
  /** When it began (ISO 8601). */
  since: string;
  /** Which Redis, when the master uses several (groups on other servers). */
  redis?: string;
  /** Master view only: how many live workers are in it. */
  workers?: number;
  /** Master view only: the master itself is in it (its own connection, or its lease writes refused). */
  master?: boolean;
}

/** A worker's or the master's Redis conditions now: `down` while any lasts, `since` the oldest one's start. */
export interface RedisStatus {
  state: 'up' | 'down';
  since: string | null;
  conditions: RedisConditionStatus[];
}

/** The JSON status file and `resque-starter status` output. */
export interface StatusSnapshot {
  master: {
    pid: number;
    /** start-server's SERVER_STARTER_GENERATION, or null when not under start-server. */
    generation: number | null;
    state: 'starting' | 'running' | 'stopping' | 'old';
    paused: boolean;
    /** Desired number of workers (concurrency after TTIN/TTOU/scale). */
    concurrency: number;
    queues: string[];
    configVersion: number;
    startedAt: string;
    updatedAt: string;
    rollingRestart: { kind: 'handoff' | 'reload'; startedAt: string } | null;
    /** The worker groups in config order (one, `default`, for a config without `groups`). */
    groups: GroupStatus[];
    /**
     * Redis as the master sees it: every condition open now (reported by workers or met by the
     * master's own connection and writes), each once, with how many workers are in it.
     */
    redis: RedisStatus;
  };
  workers: Array<{
    /** Its worker group. */
    group: string;
    slot: number;
    pid: number | null;
    state: 'starting' | 'idle' | 'busy' | 'paused' | 'stopping';
    id: string | null;
    job: (Omit<JobInfo, 'startedAt'> & { startedAt: string }) | null;
    processed: number;
    /** RssAnon in kB (private memory), null when not sampled yet. */
    memoryKb: number | null;
    startedAt: string;
    configVersion: number;
    /** The Redis conditions this worker reports now (`up` with none). */
    redis: RedisStatus;
  }>;
  oldMasters: Array<{ pid: number; generation: number | null; workers: number }>;
  /** The scheduler (delayed jobs, retries, `schedule`): null before it is known (unit tests without one). */
  scheduler: {
    enabled: boolean;
    /** This master leads the scheduler on the config's (top-level) Redis. */
    leader: boolean;
    /** Seconds of the leader lock. */
    lockTtl: number;
    /** The recurring jobs' names. */
    schedule: string[];
    /** Every `<redis>/<namespace>` this master leads the scheduler on (groups on other Redis servers included). */
    leading: string[];
  } | null;
}

/** One worker group in the status: its counts, queues and the state of its workers. */
export interface GroupStatus {
  name: string;
  /** Workers asked for (the config's, or `scale GROUP N`). */
  concurrency: number;
  /** The config's `concurrency` for the group. */
  configured: number;
  queues: string[];
  /** Live workers of the group (starting and stopping ones included). */
  workers: number;
  ready: number;
  busy: number;
  configVersion: number;
  /** Paused on its own (`pause GROUP`), or with the master (USR2). */
  paused: boolean;
}

/** Why: one shape for the status file, the `status` command and tests. */
export function renderStatus(
  state: MasterState,
  meta: {
    pid: number;
    generation: number | undefined;
    queues: string[];
    groupQueues?: Readonly<Record<string, string[]>>;
    startedAt: number;
    now: number;
    scheduler?: StatusSnapshot['scheduler'] | undefined;
    /** The master's view of Redis conditions (none known: up). */
    redis?: RedisView | undefined;
  },
): StatusSnapshot {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    master: {
      pid: meta.pid,
      generation: meta.generation ?? null,
      state: state.replacedBy ? 'old' : state.phase === 'idle' ? 'starting' : state.phase === 'done' ? 'stopping' : state.phase,
      paused: state.paused,
      concurrency: state.desired,
      queues: meta.queues,
      configVersion: state.version,
      startedAt: iso(meta.startedAt),
      updatedAt: iso(meta.now),
      rollingRestart: state.takeover
        ? { kind: 'handoff', startedAt: iso(state.takeover.startedAt) }
        : state.reload
          ? { kind: 'reload', startedAt: iso(state.reload.startedAt) }
          : null,
      groups: state.groups.map((g) => groupStatus(state, g, meta.groupQueues?.[g.name] ?? meta.queues)),
      redis: meta.redis?.masterStatus() ?? REDIS_UP,
    },
    workers: [...state.workers]
      .sort((a, b) => groupIndex(state, a.group) - groupIndex(state, b.group) || a.slot - b.slot || a.key - b.key)
      .map((w) => ({
        group: w.group,
        slot: w.slot,
        pid: w.pid ?? null,
        state: w.stop ? 'stopping' : w.phase !== 'ready' ? 'starting' : w.activity === 'starting' ? 'idle' : w.activity,
        id: w.id ?? null,
        job: w.job ? { queue: w.job.queue, class: w.job.class, startedAt: iso(w.job.startedAt) } : null,
        processed: w.processed,
        memoryKb: w.rssKb ?? null,
        startedAt: iso(w.spawnedAt),
        configVersion: w.version,
        redis: (w.pid !== undefined && meta.redis?.workerStatus(w.pid)) || REDIS_UP,
      })),
    oldMasters: state.predecessors.map((p) => ({ pid: p.pid, generation: p.generation ?? null, workers: p.live })),
    scheduler: meta.scheduler ?? null,
  };
}

/** Where the status gets Redis conditions from (the master's RedisHealth). */
export interface RedisView {
  masterStatus(): RedisStatus;
  workerStatus(pid: number): RedisStatus;
}

const REDIS_UP: RedisStatus = Object.freeze({ state: 'up', since: null, conditions: [] }) as unknown as RedisStatus;

/**
 * The master's process title (kept short: its argv area is small): ready/desired and the
 * queues; with several groups, ready/desired per group (`critical 4/4 mail 2/2`).
 */
export function renderMasterTitle(state: MasterState, queues: readonly string[]): string {
  const ready = (group?: string) => state.workers.filter((w) => w.phase === 'ready' && !w.stop && (group === undefined || w.group === group)).length;
  const flags = [state.replacedBy ? 'OLD' : '', state.paused ? 'PAUSED' : '', state.phase === 'stopping' ? 'STOPPING' : ''].filter(Boolean);
  const what =
    state.groups.length > 1 || (state.groups[0] && state.groups[0].name !== DEFAULT_GROUP)
      ? state.groups.map((g) => `${g.name} ${ready(g.name)}/${g.desired}`).join(' ')
      : `${ready()}/${state.desired} (${queues.join(',')})`;
  return `resque-starter master ${what}${flags.length ? ` ${flags.join(' ')}` : ''}`;
}

const groupIndex = (state: MasterState, name: string) => {
  const i = state.groups.findIndex((g) => g.name === name);
  return i < 0 ? state.groups.length : i;
};

function groupStatus(state: MasterState, g: MasterState['groups'][number], queues: string[]): GroupStatus {
  const mine = state.workers.filter((w) => w.group === g.name);
  return {
    name: g.name,
    concurrency: g.desired,
    configured: g.configured,
    queues,
    workers: mine.length,
    ready: mine.filter((w) => w.phase === 'ready' && !w.stop).length,
    busy: mine.filter((w) => w.activity === 'busy').length,
    configVersion: g.version,
    paused: state.paused || g.paused === true,
  };
}

/** Appended to worker titles; see renderWorkerTitle. */
export const RUBY_PRUNE_MARK = ' [resque:work]';

/** The title of a spare (WorkerEnv.spare): started ahead of need, no app code loaded. */
export const SPARE_TITLE = 'resque-starter spare (no app code loaded)';

/**
 * How every worker title starts. A spare takes one when it is handed its slot, before it loads
 * any app code: a /proc scan counts a process started as a spare as a worker from that title on.
 */
export const WORKER_TITLE_START = 'resque-starter worker[';

/** A worker's process title: slot, queues, BUSY/IDLE/PAUSED, OLD, and the job it runs. */
export function renderWorkerTitle(w: {
  /** The slot, or `group/slot` outside the default group. */
  slot: number | string;
  queues: readonly string[];
  activity: 'starting' | 'idle' | 'busy' | 'paused' | 'stopping';
  old: boolean;
  job: JobInfo | undefined;
}): string {
  const state = w.activity.toUpperCase();
  const job = w.job ? ` ${w.job.class} on ${w.job.queue} since ${new Date(w.job.startedAt).toISOString()}` : '';
  // Ruby Resque's same-host prune spares only pids whose command line matches
  // /resque:work|resque-[0-9]/ (resque-protocol.md §4.2): the marker keeps a Ruby worker that
  // starts on this host from pruning our live workers. It goes last and is never cut off.
  const text = `${WORKER_TITLE_START}${w.slot}] (${w.queues.join(',')}) ${state}${w.old ? ' OLD' : ''}${job}`;
  return `${text.slice(0, 250 - RUBY_PRUNE_MARK.length)}${RUBY_PRUNE_MARK}`;
}
