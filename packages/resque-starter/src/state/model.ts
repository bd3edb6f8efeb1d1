import type { SignalName } from '@baton/process-kit';
import type { ControlReply } from '../control.js';
import type { JobInfo, MasterToWorker } from '../ipc.js';

// The master's state, the events that change it and the effects it asks for: the contract
// between the pure reducer (this folder) and the master that executes its effects.

/** The parts of the config the reducer decides with (all durations in ms). */
export interface MasterSettings {
  readyTimeoutMs: number;
  /** 0 = wait for ever. */
  stopTimeoutMs: number;
  termTimeoutMs: number;
  jobTimeoutMs: number | undefined;
  maxMemoryKb: number | undefined;
  crashLoop: { deaths: number; windowMs: number; delayMs: number; maxDelayMs: number };
  /** Ceiling for TTIN and `scale` (the config's `concurrency` is checked against it too). */
  maxConcurrency: number;
  /** Workers started at once at most: the rest start as these become ready (a big `scale` is not a fork bomb). */
  maxStarting: number;
  /** When a worker exits, the processes its jobs left in its process group are stopped too. */
  reapJobProcesses: boolean;
}

/** Why a worker is being stopped. Only `scale` and `shutdown` leave its slot empty on purpose. */
export type StopReason = 'scale' | 'shutdown' | 'replaced' | 'recycle' | 'memory' | 'job-timeout' | 'ready-timeout';

export type StopMode = 'graceful' | 'quick' | 'kill';

/** spawning: effect out, no pid yet · starting: process up, not ready · ready: taking jobs · */
export type WorkerPhase = 'spawning' | 'starting' | 'ready';

/**
 * What the reducer knows of one worker group: its count, the config version its workers should
 * run, and the settings it decides with. Groups are kept in config order.
 */
export interface GroupState {
  name: string;
  /** The worker count asked for: the group's `concurrency`, then `scale GROUP N`/TTIN/TTOU. */
  desired: number;
  /** The `concurrency` of the config loaded for this group. */
  configured: number;
  /** Config version this group's workers should run; older ones are replaced one by one. */
  version: number;
  /** What a reload compares: this group's settings and the code's version (state/groups.ts `diffGroups`). */
  hash: string;
  maxConcurrency: number;
  jobTimeoutMs: number | undefined;
  maxMemoryKb: number | undefined;
  /** Auto-scaling (state/autoscale.ts), when the group opted in. */
  autoscale?: { min: number; max: number; jobsPerWorker: number; maxWaitMs: number | undefined; downAfterMs: number } | undefined;
  /** Since when the backlog has wanted fewer workers than `desired` (the scale-down hysteresis). */
  lowSince?: number | undefined;
  /** `pause GROUP`: this group's workers take no new job (USR2/CONT pause and resume every group). */
  paused?: boolean | undefined;
}

/** A group as the config gives it (start, reload). */
export type GroupSpec = Omit<GroupState, 'version' | 'configured' | 'desired' | 'lowSince' | 'paused'> & { concurrency: number };

export interface WorkerEntry {
  /** Unique per spawn (slots are reused, pids are unknown while spawning). */
  key: number;
  /** Its worker group (`default` for a config without `groups`). */
  group: string;
  /** Stable number within its group, 0-based. */
  slot: number;
  /** Config version the worker was started with; older ones are replaced one by one. */
  version: number;
  pid: number | undefined;
  phase: WorkerPhase;
  /** Resque worker id (`host:pid:queues`), once the worker said hello. */
  id: string | undefined;
  /** Every Resque id of the process (one per unit of `jobConcurrency`). */
  ids: string[];
  spawnedAt: number;
  activity: 'starting' | 'idle' | 'busy' | 'paused';
  job: JobInfo | undefined;
  /** Every job it runs, one per slot, each with its own jobTimeout timers. */
  running: JobInfo[];
  /** The job it is being killed for (jobTimeout): recorded as failed when it exits. */
  timedOut: JobInfo | undefined;
  processed: number;
  rssKb: number | undefined;
  stop: { mode: StopMode; reason: StopReason } | undefined;
  /** Predecessor master this worker retires (TTOU in afterFork) once ready. */
  retire: number | undefined;
}

/** An older master generation this one is taking over from (under start-server). */
export interface Predecessor {
  pid: number;
  generation: number | undefined;
  /** Its live worker processes, as last reported. */
  live: number;
  /** True when it talks to us over its control socket (it exits by itself when empty). */
  linked: boolean;
  /**
   * From its `handoff` reply: the worker count it was asked for (its config's, or a runtime
   * `scale`/TTIN/TTOU), and the `concurrency` of the config it loaded. Undefined when it could
   * not say (not linked, or still starting itself).
   */
  desired?: number | undefined;
  configured?: number | undefined;
  /** The same per group, from a predecessor that runs groups. */
  groups?: Array<{ name: string; desired: number; configured: number }> | undefined;
}

export interface MasterState {
  phase: 'idle' | 'running' | 'stopping' | 'done';
  stopMode: 'graceful' | 'quick' | undefined;
  settings: MasterSettings;
  /** The worker count asked for, every group's together (kept equal to their sum by `reduce`). */
  desired: number;
  /** The `concurrency` of the config this master loaded (at start, or by its last reload), every group's together. */
  configured: number;
  /** The worker groups, in config order (one, `default`, for a config without `groups`). */
  groups: GroupState[];
  paused: boolean;
  /** A newer master is taking over from this one: it only retires workers (one per TTOU), then exits. */
  replacedBy: { pid: number; desiredBefore: number; groupsBefore: Record<string, number> } | undefined;
  /** Control-socket links of the newer masters that asked to take over from this one. */
  successors: number[];
  /** Config loads so far; a group changed by a reload gets the new number as its version. */
  version: number;
  nextKey: number;
  workers: WorkerEntry[];
  /** Unexpected deaths inside the crash-loop window (timestamps). */
  deaths: number[];
  holdLevel: number;
  holdUntil: number;
  /** Older masters this one is taking over from (rolling restart under start-server). */
  predecessors: Predecessor[];
  /**
   * This master taking over from its predecessors. `pendingRetires`: TTOUs sent to them (by
   * ready new workers, or by this master) whose worker has not exited yet;
   * `lastPredecessorLive`: their workers at the last count; `retiredSlots`: slots (`group/slot`)
   * whose new worker already retired one predecessor worker.
   */
  takeover: { startedAt: number; pendingRetires: number; lastPredecessorLive: number; retiredSlots: string[] } | undefined;
  /** In-place rolling replacement after HUP / restart file. */
  reload: { startedAt: number } | undefined;
  reloadPending: boolean;
  /** A config reload effect is out and has not come back. */
  loadingConfig: boolean;
  /** On exit, give the predecessors their workers back (a failed takeover). */
  restoreOnExit: boolean;
  exitCode: number;
}

export type TimerName = 'ready' | 'stop' | 'kill' | 'job' | 'jobKill' | 'hold';

export type MasterEvent =
  /**
   * `stop`: a stop signal that arrived while the master was starting (it takes effect before
   * any worker starts). `successor`: a newer master asked to take over while this one was
   * starting (a HUP storm): it starts as replaced, with no worker.
   */
  | {
      type: 'start';
      desired: number;
      /** The config's groups; without, one group `default` of `desired` workers and the master's settings. */
      groups?: GroupSpec[] | undefined;
      predecessors: Predecessor[];
      stop?: SignalName | undefined;
      successor?: { link: number; by: number; generation: number | undefined } | undefined;
    }
  | { type: 'spawned'; key: number; pid: number }
  | { type: 'spawnFailed'; key: number; error: string }
  | { type: 'hello'; pid: number; id: string; ids?: string[] | undefined }
  /** `retired`: its afterFork asked for the retirement of a predecessor worker (`retireOldWorker()`). */
  | { type: 'ready'; pid: number; retired?: boolean | undefined }
  /** Sent by the worker synchronously before the handler runs (a job that blocks its loop is still seen). */
  | { type: 'jobStarted'; pid: number; job: JobInfo }
  /** `jobs`: every job the process is running (one per slot); `job` is the one its title shows. */
  | { type: 'report'; pid: number; activity: 'idle' | 'busy' | 'paused'; job: JobInfo | undefined; jobs?: JobInfo[] | undefined; processed: number; rssKb?: number | undefined }
  | { type: 'recycling'; pid: number; reason: string }
  | { type: 'fatal'; pid: number; message: string }
  | { type: 'exit'; pid: number; code: number | null; signal: string | null }
  | { type: 'signal'; signal: SignalName }
  /** The control socket's `scale` (input already validated); `reply`: the request to answer. */
  | { type: 'scale'; desired: number; group?: string | undefined; reply?: number | undefined }
  /** The control socket's `pause`/`resume` of one group (without a group: every worker, as USR2/CONT). */
  | { type: 'pause'; paused: boolean; group?: string | undefined; reply?: number | undefined }
  | { type: 'reloadRequest'; source: string }
  /** `configId`: the loaded config, swapped in by the master only on `applyConfig`. */
  | { type: 'reloaded'; settings: MasterSettings; desired: number; groups?: GroupSpec[] | undefined; configId: number }
  | { type: 'reloadFailed'; error: string }
  | { type: 'memory'; samples: Array<{ pid: number; rssKb: number }> }
  /** A predecessor's live worker count (pushed over its link, or counted through /proc). */
  | { type: 'predecessorWorkers'; pid: number; live: number }
  | { type: 'predecessorGone'; pid: number }
  /** The control socket's `handoff`: a newer master takes over from this one over link `link`. */
  | { type: 'successorLinked'; link: number; by: number; generation: number | undefined; reply?: number | undefined }
  /** The control socket's `restore` on link `link`: that successor gave up. */
  | { type: 'successorRestored'; link: number }
  /** The control socket's `retire` on link `link`: the successor's new worker of `group` asks for room (a TTOU naming the group). */
  | { type: 'retireRequest'; link: number; group: string | undefined }
  /** A worker's afterFork called retireOldWorker(): the predecessor it was given retires one worker of its group. */
  | { type: 'retireAsked'; pid: number }
  /** A sample of what waits in an autoscaled group's queues: jobs, and the oldest one's age when its payload says when it was enqueued. */
  | { type: 'backlog'; group: string; depth: number; oldestMs?: number | undefined }
  /** Link `link`'s socket closed. */
  | { type: 'successorLost'; link: number }
  /** `slot`: for job timers, the Resque id of the worker slot running the job (one per unit of jobConcurrency). */
  | { type: 'timer'; timer: TimerName; key?: number | undefined; startedAt?: number | undefined; slot?: string | undefined };

export type Effect =
  | { type: 'spawn'; key: number; group: string; slot: number; version: number; retire: number | undefined; paused: boolean }
  | { type: 'signal'; pid: number; signal: SignalName; group: boolean }
  | { type: 'send'; pid: number; message: MasterToWorker }
  /** `failed`: the job that ran past jobTimeout; it is recorded as failed, not put back. */
  | { type: 'recover'; pid: number; group: string; ids: string[]; failed?: { job: JobInfo; error: string } | undefined }
  /** The exited worker's process group (what its jobs started): TERM now, KILL after termTimeout. */
  | { type: 'reap'; pid: number }
  | { type: 'setTimer'; key: string; ms: number; event: MasterEvent }
  | { type: 'clearTimer'; key: string }
  | { type: 'reloadConfig' }
  /** The config loaded as `configId` is accepted: the master swaps it in now. */
  | { type: 'applyConfig'; configId: number }
  /** One worker of predecessor `pid` retires: of `group` over its link when it is linked and knows groups, else a TTOU. */
  | { type: 'retirePredecessor'; pid: number; group: string | undefined }
  /** QUIT to predecessors that are not linked (they do not know they should exit when empty). */
  | { type: 'quitPredecessors'; pids: number[] }
  /** Give the predecessors their workers back (a failed takeover). */
  | { type: 'restorePredecessors'; pids: number[] }
  /** Answer control request `id`. */
  | { type: 'reply'; id: number; reply: ControlReply }
  /** A replacement ended: this master serves again and its pid file must name it again. */
  | { type: 'reclaimPidFile' }
  | { type: 'status' }
  /** A log line; `fields` go with it in JSON lines (messages.ts `workerFields`, …). */
  | { type: 'log'; level: LogLevel; message: string; fields?: Record<string, unknown> }
  | { type: 'exit'; code: number };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Step {
  state: MasterState;
  effects: Effect[];
}

/** Why: one place that says what a master knows before its first event. */
export function initialState(settings: MasterSettings): MasterState {
  return {
    phase: 'idle',
    stopMode: undefined,
    settings,
    desired: 0,
    configured: 0,
    groups: [],
    paused: false,
    replacedBy: undefined,
    successors: [],
    version: 1,
    nextKey: 1,
    workers: [],
    deaths: [],
    holdLevel: 0,
    holdUntil: 0,
    predecessors: [],
    takeover: undefined,
    reload: undefined,
    reloadPending: false,
    loadingConfig: false,
    restoreOnExit: false,
    exitCode: 0,
  };
}

/** Why: the C+1 bound counts the predecessors' live workers beside this master's own. */
export function predecessorLive(state: MasterState): number {
  return state.predecessors.reduce((n, p) => n + p.live, 0);
}
