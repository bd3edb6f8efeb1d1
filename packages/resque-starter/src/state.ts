import type { SignalName } from '@baton/process-kit';
import type { JobInfo, MasterToWorker } from './ipc.js';
import { messages } from './messages.js';

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
export type StopReason =
  | 'scale'
  | 'shutdown'
  | 'replaced'
  | 'recycle'
  | 'memory'
  | 'job-timeout'
  | 'ready-timeout'
  | 'rollout-aborted';

export type StopMode = 'graceful' | 'quick' | 'kill';

/** spawning: effect out, no pid yet · starting: process up, not ready · ready: taking jobs · */
export type WorkerPhase = 'spawning' | 'starting' | 'ready';

export interface WorkerEntry {
  /** Unique per spawn (slots are reused, pids are unknown while spawning). */
  key: number;
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
  readyAt: number | undefined;
  activity: 'starting' | 'idle' | 'busy' | 'paused';
  job: JobInfo | undefined;
  /** Every job it runs, one per slot, each with its own jobTimeout timers. */
  running: JobInfo[];
  /** The job it is being killed for (jobTimeout): recorded as failed when it exits. */
  timedOut: JobInfo | undefined;
  processed: number;
  rssKb: number | undefined;
  stop: { mode: StopMode; reason: StopReason; at: number } | undefined;
  /** Old master this worker retires (TTOU in afterFork) once ready. */
  retire: number | undefined;
}

/** An older master generation being retired by this one (under start-server). */
export interface OldMaster {
  pid: number;
  generation: number | undefined;
  /** Its live worker processes, as last reported. */
  live: number;
  /** True when it talks to us over its control socket (it exits by itself when empty). */
  linked: boolean;
}

export interface MasterState {
  phase: 'idle' | 'running' | 'stopping' | 'done';
  stopMode: 'graceful' | 'quick' | undefined;
  settings: MasterSettings;
  desired: number;
  paused: boolean;
  /** Set when a newer master took over: this one only retires workers, then exits. */
  old: { by: number; desiredBefore: number } | undefined;
  /** Config version new workers get; bumped by each successful reload. */
  version: number;
  nextKey: number;
  workers: WorkerEntry[];
  /** Unexpected deaths inside the crash-loop window (timestamps). */
  deaths: number[];
  holdLevel: number;
  holdUntil: number;
  /** Older masters this one is replacing (rolling restart under start-server). */
  olds: OldMaster[];
  /**
   * `pendingRetires`: TTOUs sent to old masters (by ready new workers, or by this master)
   * whose worker has not exited yet; `lastOldLive`: old workers at the last count.
   */
  handoff: { startedAt: number; spawned: number; pendingRetires: number; lastOldLive: number; retiredSlots: number[] } | undefined;
  /** In-place rolling replacement after HUP / restart file. */
  reload: { startedAt: number } | undefined;
  reloadPending: boolean;
  /** A config reload effect is out and has not come back. */
  loadingConfig: boolean;
  /** On exit, give the old masters their workers back (a failed hand-off). */
  restoreOnExit: boolean;
  exitCode: number;
}

export type TimerName = 'ready' | 'stop' | 'kill' | 'job' | 'jobKill' | 'hold';

export type MasterEvent =
  /** `stop`: a stop signal that arrived while the master was starting (it takes effect before any worker starts). */
  /** `replacedBy`: a newer master asked to take over while this one was starting (a HUP storm): it starts as OLD, with no worker. */
  | { type: 'start'; desired: number; olds: OldMaster[]; stop?: SignalName | undefined; replacedBy?: { by: number; generation: number | undefined } | undefined }
  | { type: 'spawned'; key: number; pid: number }
  | { type: 'spawnFailed'; key: number; error: string }
  | { type: 'hello'; pid: number; id: string; ids?: string[] | undefined }
  /** `retired`: its afterFork sent TTOU to the old master it was to retire (`retireOldWorker()`). */
  | { type: 'ready'; pid: number; retired?: boolean | undefined }
  /** Sent by the worker synchronously before the handler runs (a job that blocks its loop is still seen). */
  | { type: 'jobStarted'; pid: number; job: JobInfo }
  /** `jobs`: every job the process is running (one per slot); `job` is the one its title shows. */
  | { type: 'report'; pid: number; activity: 'idle' | 'busy' | 'paused'; job: JobInfo | undefined; jobs?: JobInfo[] | undefined; processed: number; rssKb?: number | undefined }
  | { type: 'recycling'; pid: number; reason: string }
  | { type: 'fatal'; pid: number; message: string }
  | { type: 'exit'; pid: number; code: number | null; signal: string | null }
  | { type: 'signal'; signal: SignalName }
  | { type: 'scale'; desired: number }
  | { type: 'reloadRequest'; source: string }
  | { type: 'reloaded'; settings: MasterSettings; desired: number }
  | { type: 'reloadFailed'; error: string }
  | { type: 'memory'; samples: Array<{ pid: number; rssKb: number }> }
  | { type: 'oldWorkers'; pid: number; live: number }
  | { type: 'oldGone'; pid: number }
  | { type: 'handoff'; by: number; generation: number | undefined }
  | { type: 'handoffEnded'; reason: 'restore' | 'lost' }
  /** `slot`: for job timers, the Resque id of the worker slot running the job (one per unit of jobConcurrency). */
  | { type: 'timer'; timer: TimerName; key?: number; startedAt?: number; slot?: string | undefined };

export type Effect =
  | { type: 'spawn'; key: number; slot: number; version: number; retire: number | undefined; paused: boolean; old: boolean }
  | { type: 'signal'; pid: number; signal: SignalName; group: boolean }
  | { type: 'send'; pid: number; message: MasterToWorker }
  /** `failed`: the job that ran past jobTimeout; it is recorded as failed, not put back. */
  | { type: 'recover'; pid: number; ids: string[]; failed?: { job: JobInfo; error: string } | undefined }
  /** The exited worker's process group (what its jobs started): TERM now, KILL after termTimeout. */
  | { type: 'reap'; pid: number }
  | { type: 'setTimer'; key: string; ms: number; event: MasterEvent }
  | { type: 'clearTimer'; key: string }
  | { type: 'reloadConfig' }
  | { type: 'quitOld'; pids: number[] }
  | { type: 'restoreOld'; pids: number[] }
  | { type: 'status' }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string }
  | { type: 'exit'; code: number };

export interface Step {
  state: MasterState;
  effects: Effect[];
}

export function initialState(settings: MasterSettings): MasterState {
  return {
    phase: 'idle',
    stopMode: undefined,
    settings,
    desired: 0,
    paused: false,
    old: undefined,
    version: 1,
    nextKey: 1,
    workers: [],
    deaths: [],
    holdLevel: 0,
    holdUntil: 0,
    olds: [],
    handoff: undefined,
    reload: undefined,
    reloadPending: false,
    loadingConfig: false,
    restoreOnExit: false,
    exitCode: 0,
  };
}

/** Live worker processes of the older masters being replaced. */
export function oldLive(state: MasterState): number {
  return state.olds.reduce((n, o) => n + o.live, 0);
}

/**
 * Why: every decision of the master is here, with no I/O (STYLE lesson 3): signals, worker
 * messages and exits, timers and the rolling hand-off are events; spawning, signalling,
 * recovering jobs and writing the status are effects the serial loop executes.
 */
export function reduce(state: MasterState, event: MasterEvent, now: number): Step {
  const s: MasterState = {
    ...state,
    workers: state.workers.map((w) => ({ ...w })),
    olds: state.olds.map((o) => ({ ...o })),
    deaths: [...state.deaths],
  };
  const fx: Effect[] = [];
  const log = (message: string, level: 'debug' | 'info' | 'warn' | 'error' = 'info') => fx.push({ type: 'log', level, message });
  const byPid = (pid: number) => s.workers.find((w) => w.pid === pid);
  const byKey = (key: number | undefined) => s.workers.find((w) => w.key === key);
  const set = s.settings;

  const clearWorkerTimers = (w: WorkerEntry) => {
    for (const t of ['ready', 'stop', 'kill']) fx.push({ type: 'clearTimer', key: `${t}:${w.key}` });
    for (const j of w.running) clearJobTimers(w, j);
  };

  // jobTimeout: a timer per running job, keyed by the worker and the slot that runs it.
  const jobKey = (w: WorkerEntry, j: JobInfo) => `${w.key}${j.worker ? `:${j.worker}` : ''}`;
  const sameJob = (a: JobInfo, b: JobInfo) => a.worker === b.worker && a.startedAt === b.startedAt;
  const clearJobTimers = (w: WorkerEntry, j: JobInfo) => {
    fx.push({ type: 'clearTimer', key: `job:${jobKey(w, j)}` });
    fx.push({ type: 'clearTimer', key: `jobKill:${jobKey(w, j)}` });
  };
  /** The running job a job timer was armed for, if it still runs. */
  const timedJob = (w: WorkerEntry | undefined, e: { startedAt?: number | undefined; slot?: string | undefined }) =>
    w?.running.find((x) => x.worker === e.slot && x.startedAt === e.startedAt);
  /** A job seen for the first time: it runs in its slot instead of the one before it there. */
  const trackJob = (w: WorkerEntry, j: JobInfo) => {
    if (w.running.some((x) => sameJob(x, j))) return;
    for (const x of w.running.filter((x) => x.worker === j.worker)) clearJobTimers(w, x);
    w.running = [...w.running.filter((x) => x.worker !== j.worker), j];
    if (set.jobTimeoutMs === undefined) return;
    fx.push({
      type: 'setTimer',
      key: `job:${jobKey(w, j)}`,
      ms: set.jobTimeoutMs,
      event: { type: 'timer', timer: 'job', key: w.key, startedAt: j.startedAt, slot: j.worker },
    });
  };

  const stopWorker = (w: WorkerEntry, mode: StopMode, reason: StopReason) => {
    const rank = { graceful: 0, quick: 1, kill: 2 } as const;
    if (w.stop && rank[w.stop.mode] >= rank[mode]) return;
    const first = !w.stop;
    w.stop = { mode, reason: first ? reason : w.stop!.reason, at: now };
    if (w.pid === undefined) return; // killed as soon as it is spawned
    const pid = w.pid;
    if (mode === 'kill') {
      fx.push({ type: 'clearTimer', key: `kill:${w.key}` });
      fx.push({ type: 'signal', pid, signal: 'SIGKILL', group: true });
      return;
    }
    // A worker that is not ready may not have its handlers yet: TERM is the only safe request.
    if (mode === 'quick' || w.phase !== 'ready') {
      fx.push({ type: 'clearTimer', key: `stop:${w.key}` });
      fx.push({ type: 'signal', pid, signal: 'SIGTERM', group: true });
      fx.push({ type: 'signal', pid, signal: 'SIGCONT', group: true });
      fx.push({ type: 'setTimer', key: `kill:${w.key}`, ms: set.termTimeoutMs + 1000, event: { type: 'timer', timer: 'kill', key: w.key } });
      return;
    }
    fx.push({ type: 'signal', pid, signal: 'SIGQUIT', group: false });
    fx.push({ type: 'signal', pid, signal: 'SIGCONT', group: false });
    if (set.stopTimeoutMs > 0) {
      fx.push({ type: 'setTimer', key: `stop:${w.key}`, ms: set.stopTimeoutMs, event: { type: 'timer', timer: 'stop', key: w.key } });
    }
  };

  const recordDeath = () => {
    const cl = set.crashLoop;
    s.deaths = s.deaths.filter((t) => now - t < cl.windowMs);
    s.deaths.push(now);
    if (s.deaths.length > cl.deaths) {
      s.holdLevel += 1;
      const delay = Math.min(cl.delayMs * 2 ** (s.holdLevel - 1), cl.maxDelayMs);
      s.holdUntil = now + delay;
      log(messages.crashLoop(s.deaths.length, cl.windowMs, delay), 'warn');
    } else {
      s.holdLevel = 0;
    }
  };

  /** A worker of the current version that never became ready. */
  const startFailure = (w: WorkerEntry, why: string) => {
    if (s.phase !== 'running') return;
    if (s.handoff && w.version === s.version && oldLive(s) > 0) {
      abortHandoff(w, why);
      return;
    }
    if (s.reload && w.version === s.version) {
      const stale = s.workers.filter((x) => x.version < s.version && !x.stop);
      for (const x of stale) x.version = s.version;
      s.reload = undefined;
      log(messages.reloadAborted(w.slot, why, stale.length), 'error');
    }
    recordDeath();
  };

  const abortHandoff = (w: WorkerEntry, why: string) => {
    log(messages.handoffAborted(w.slot, why, s.olds.map((o) => o.pid)), 'error');
    s.handoff = undefined;
    s.restoreOnExit = true;
    s.exitCode = 3;
    beginStop('graceful');
  };

  const beginStop = (mode: 'graceful' | 'quick') => {
    s.phase = 'stopping';
    s.stopMode = mode;
    s.reloadPending = false;
    fx.push({ type: 'clearTimer', key: 'hold' });
    for (const w of s.workers) stopWorker(w, mode, 'shutdown');
    finishIfDone();
  };

  const finishIfDone = () => {
    if (s.phase !== 'stopping' || s.workers.length > 0) return;
    if (s.restoreOnExit) {
      const pids = s.olds.map((o) => o.pid);
      if (pids.length > 0) {
        log(messages.restoringOld(pids), 'warn');
        fx.push({ type: 'restoreOld', pids });
      }
    }
    s.phase = 'done';
    log(messages.masterExiting(s.exitCode));
    fx.push({ type: 'exit', code: s.exitCode });
  };

  const sendAll = (message: MasterToWorker) => {
    for (const w of s.workers) if (w.phase === 'ready' && w.pid !== undefined && !w.stop) fx.push({ type: 'send', pid: w.pid, message });
  };

  const checkDone = () => {
    if (s.reload && !s.workers.some((w) => w.version < s.version)) {
      log(messages.reloadDone(now - s.reload.startedAt, s.workers.length));
      s.reload = undefined;
    }
    if (!s.reload && !s.loadingConfig && s.reloadPending && s.phase === 'running' && !s.old) {
      s.reloadPending = false;
      s.loadingConfig = true;
      log(messages.reloading('a queued reload request'));
      fx.push({ type: 'reloadConfig' });
    }
    if (s.handoff && oldLive(s) === 0) {
      const ready = s.workers.filter((w) => w.phase === 'ready' && !w.stop).length;
      if (ready >= s.desired || s.workers.every((w) => w.phase === 'ready')) {
        log(messages.handoffDone(now - s.handoff.startedAt, ready, s.olds.map((o) => o.pid)));
        const unlinked = s.olds.filter((o) => !o.linked).map((o) => o.pid);
        if (unlinked.length > 0) fx.push({ type: 'quitOld', pids: unlinked });
        s.handoff = undefined;
      }
    }
  };

  /** unicorn's maintain_worker_count: fill empty slots, retire surplus and replaced workers. */
  const reconcile = () => {
    if (s.phase !== 'running') return;
    if (s.old) {
      // Slots no longer matter here: retire whoever frees a place soonest — an idle (or still
      // starting) worker first, then the one whose job has run longest — so the new master can
      // start its next worker sooner.
      const eta = (w: WorkerEntry) => (w.phase !== 'ready' || !w.job ? -Infinity : w.job.startedAt);
      const alive = s.workers.filter((w) => !w.stop).sort((a, b) => eta(a) - eta(b) || b.slot - a.slot);
      for (const w of alive.slice(0, Math.max(0, alive.length - s.desired))) stopWorker(w, 'graceful', 'scale');
      if (s.workers.length === 0) {
        log(messages.oldMasterDone(s.old.by));
        s.phase = 'stopping';
        finishIfDone();
      }
      return;
    }
    // Surplus slots (TTOU, scale): highest first, they finish their job and exit.
    for (const w of s.workers) if (!w.stop && w.slot >= s.desired) stopWorker(w, 'graceful', 'scale');
    // A slot whose new worker is ready retires its older occupant.
    for (const w of s.workers) {
      if (w.stop || w.version >= s.version) continue;
      if (s.workers.some((x) => x.slot === w.slot && x.version === s.version && x.phase === 'ready' && !x.stop)) {
        stopWorker(w, 'graceful', 'replaced');
      }
    }
    const outgoing = s.workers.some(
      (w) => w.slot < s.desired && (w.stop ? w.stop.reason !== 'scale' && w.stop.reason !== 'shutdown' : w.version < s.version),
    );
    const olds = oldLive(s);
    const cap = s.desired + (outgoing || olds > 0 ? 1 : 0);
    let total = s.workers.length + olds;
    if (s.handoff) {
      if (olds < s.handoff.lastOldLive) s.handoff.pendingRetires = Math.max(0, s.handoff.pendingRetires - (s.handoff.lastOldLive - olds));
      s.handoff.lastOldLive = olds;
      // An old generation with more workers than fit beside a new one would never make room by
      // itself (its workers retire only when a new one is ready): ask it for one at a time.
      const starting = s.workers.some((w) => w.phase !== 'ready' && !w.stop);
      const target = s.olds.find((o) => o.live > 0);
      if (target && total >= cap && !starting && s.handoff.pendingRetires === 0) {
        s.handoff.pendingRetires += 1;
        log(messages.forcingRetire(target.pid, olds, s.desired));
        fx.push({ type: 'signal', pid: target.pid, signal: 'SIGTTOU', group: false });
      }
    }
    // Linear in the number of workers whatever `desired` is, and at most `maxStarting` at once:
    // the rest start as these become ready, and the loop stays free for signals meanwhile.
    const filled = new Set<number>();
    let starting = 0;
    for (const w of s.workers) {
      if (w.stop) continue;
      if (w.version === s.version) filled.add(w.slot);
      if (w.phase !== 'ready') starting += 1;
    }
    for (let slot = 0; slot < s.desired && total < cap && starting < set.maxStarting; slot++) {
      if (filled.has(slot)) continue;
      if (now < s.holdUntil) {
        fx.push({ type: 'setTimer', key: 'hold', ms: s.holdUntil - now, event: { type: 'timer', timer: 'hold' } });
        break;
      }
      // Each slot retires one old worker: a new worker that died after its TTOU has done so
      // already, and its replacement must not retire a second one (found by the chaos suite:
      // else the old generation drained before the new one was up).
      const retire = s.handoff && !s.handoff.retiredSlots.includes(slot) ? s.olds.find((o) => o.live > 0)?.pid : undefined;
      const w: WorkerEntry = {
        key: s.nextKey++,
        slot,
        version: s.version,
        pid: undefined,
        phase: 'spawning',
        id: undefined,
        ids: [],
        spawnedAt: now,
        readyAt: undefined,
        activity: 'starting',
        job: undefined,
        running: [],
        timedOut: undefined,
        processed: 0,
        rssKb: undefined,
        stop: undefined,
        retire,
      };
      s.workers.push(w);
      total += 1;
      starting += 1;
      if (s.handoff) s.handoff.spawned += 1;
      fx.push({ type: 'spawn', key: w.key, slot, version: w.version, retire, paused: s.paused, old: false });
      fx.push({ type: 'setTimer', key: `ready:${w.key}`, ms: set.readyTimeoutMs, event: { type: 'timer', timer: 'ready', key: w.key } });
    }
  };

  switch (event.type) {
    case 'start': {
      s.phase = 'running';
      s.desired = event.desired;
      s.olds = event.olds.map((o) => ({ ...o }));
      if (s.olds.length > 0) {
        s.handoff = { startedAt: now, spawned: 0, pendingRetires: 0, lastOldLive: oldLive(s), retiredSlots: [] };
        log(messages.handoffStart(s.olds, s.desired));
      }
      if (event.replacedBy) beingReplaced(event.replacedBy.by, event.replacedBy.generation);
      if (event.stop) handleSignal(event.stop);
      break;
    }

    case 'spawned': {
      const w = byKey(event.key);
      if (!w) break;
      w.pid = event.pid;
      w.phase = 'starting';
      log(messages.spawnedWorker(w.slot, event.pid, w.retire), 'debug');
      if (w.stop) {
        const mode = w.stop.mode;
        w.stop = undefined;
        stopWorker(w, mode === 'kill' ? 'kill' : 'quick', 'shutdown');
      }
      break;
    }

    case 'spawnFailed': {
      const w = byKey(event.key);
      if (!w) break;
      s.workers = s.workers.filter((x) => x !== w);
      clearWorkerTimers(w);
      log(messages.spawnFailed(w.slot, event.error), 'error');
      startFailure(w, event.error);
      finishIfDone();
      break;
    }

    case 'hello': {
      const w = byPid(event.pid);
      if (w) {
        w.id = event.id;
        w.ids = event.ids?.length ? [...event.ids] : [event.id];
      }
      break;
    }

    case 'ready': {
      const w = byPid(event.pid);
      if (!w || w.phase === 'ready') break;
      w.phase = 'ready';
      w.readyAt = now;
      // Each new worker retires one old one: its afterFork sends the TTOU (the default; see
      // WorkerHandle.retireOldWorker). A custom afterFork that did not: the master sends it.
      let retiredBy: 'worker' | 'master' | undefined;
      let target: number | undefined;
      if (w.retire !== undefined && s.handoff) {
        target = event.retired ? w.retire : (s.olds.find((o) => o.pid === w.retire && o.live > 0) ?? s.olds.find((o) => o.live > 0))?.pid;
        if (target !== undefined) {
          s.handoff.pendingRetires += 1;
          s.handoff.retiredSlots.push(w.slot);
          retiredBy = event.retired ? 'worker' : 'master';
          if (!event.retired) fx.push({ type: 'signal', pid: target, signal: 'SIGTTOU', group: false });
        }
      }
      w.activity = s.paused ? 'paused' : 'idle';
      fx.push({ type: 'clearTimer', key: `ready:${w.key}` });
      log(messages.workerReady(w.slot, event.pid, now - w.spawnedAt, retiredBy === 'worker' ? w.retire : undefined));
      if (retiredBy === 'master') log(messages.retiredForWorker(w.slot, target!));
      if (w.stop) {
        // Asked to stop while starting: now that its handlers exist, the stop can be graceful.
        const { mode, reason } = w.stop;
        w.stop = undefined;
        fx.push({ type: 'clearTimer', key: `kill:${w.key}` });
        stopWorker(w, mode, reason);
      }
      break;
    }

    case 'report': {
      const w = byPid(event.pid);
      if (!w) break;
      w.activity = event.activity;
      w.job = event.job;
      w.processed = event.processed;
      if (event.rssKb !== undefined) w.rssKb = event.rssKb;
      // What runs now: finished jobs drop their timers, jobs not announced yet get theirs.
      const current = event.jobs ?? (event.job ? [event.job] : []);
      const ended = w.running.filter((j) => !current.some((x) => sameJob(x, j)));
      for (const j of ended) clearJobTimers(w, j);
      w.running = w.running.filter((j) => !ended.includes(j));
      for (const j of current) trackJob(w, j);
      checkMemory(w);
      break;
    }

    case 'jobStarted': {
      const w = byPid(event.pid);
      if (!w) break;
      w.activity = 'busy';
      w.job = event.job;
      trackJob(w, event.job);
      break;
    }

    case 'memory': {
      for (const sample of event.samples) {
        const w = byPid(sample.pid);
        if (!w) continue;
        w.rssKb = sample.rssKb;
        checkMemory(w);
      }
      break;
    }

    case 'recycling': {
      const w = byPid(event.pid);
      if (!w || w.stop) break;
      log(messages.recycling(w.slot, event.pid, event.reason));
      // The worker stops itself; the usual deadlines still apply.
      w.stop = { mode: 'graceful', reason: 'recycle', at: now };
      if (set.stopTimeoutMs > 0) {
        fx.push({ type: 'setTimer', key: `stop:${w.key}`, ms: set.stopTimeoutMs, event: { type: 'timer', timer: 'stop', key: w.key } });
      }
      break;
    }

    case 'fatal': {
      const w = byPid(event.pid);
      if (w) log(messages.workerFatal(w.slot, event.pid, event.message), 'error');
      break;
    }

    case 'exit': {
      const w = byPid(event.pid);
      if (!w) break;
      s.workers = s.workers.filter((x) => x !== w);
      clearWorkerTimers(w);
      // Only an exit the master asked for (or the worker announced) is clean: a job calling
      // process.exit(0) is a death, and its jobs go back at once, not when the lock lapses.
      // Recovery runs after every exit: a clean one that could not give its jobs back (a quick
      // stop while Redis was away) leaves them in flight too; for the others it finds nothing.
      if (w.ids.length > 0) {
        const failed = w.timedOut ? { job: w.timedOut, error: messages.jobTimeoutFailure(set.jobTimeoutMs ?? 0) } : undefined;
        fx.push({ type: 'recover', pid: event.pid, ids: w.ids, failed });
      }
      if (set.reapJobProcesses) fx.push({ type: 'reap', pid: event.pid });
      if (w.stop) {
        log(messages.workerExited(w.slot, event.pid, w.stop.reason, event.code, event.signal, w.stop.mode));
      } else if (s.phase === 'running') {
        log(messages.workerDied(w.slot, event.pid, event.code, event.signal, w.phase === 'ready'), 'error');
        if (w.phase !== 'ready') startFailure(w, messages.exitPhrase(event.code, event.signal));
        else recordDeath();
        if (s.old) s.desired = Math.min(s.desired, s.workers.filter((x) => !x.stop).length);
      } else {
        log(messages.workerExited(w.slot, event.pid, 'shutdown', event.code, event.signal, 'quick'));
      }
      finishIfDone();
      break;
    }

    case 'signal': {
      handleSignal(event.signal);
      break;
    }

    case 'scale': {
      if (s.phase !== 'running' || s.old) break;
      const desired = Math.min(event.desired, set.maxConcurrency);
      log(messages.scaled('scale', s.desired, desired));
      s.desired = desired;
      break;
    }

    case 'reloadRequest': {
      requestReload(event.source);
      break;
    }

    case 'reloaded': {
      s.loadingConfig = false;
      if (s.phase !== 'running' || s.old) break;
      s.settings = event.settings;
      s.version += 1;
      if (s.desired !== event.desired) log(messages.scaled('config', s.desired, event.desired));
      s.desired = event.desired;
      const stale = s.workers.filter((w) => !w.stop).length;
      s.holdUntil = 0;
      s.holdLevel = 0;
      if (stale > 0) {
        s.reload = { startedAt: now };
        log(messages.replacingWorkers(stale, s.desired));
      }
      break;
    }

    case 'reloadFailed': {
      s.loadingConfig = false;
      s.reloadPending = false;
      log(messages.reloadFailed(event.error), 'error');
      break;
    }

    case 'oldWorkers': {
      const o = s.olds.find((x) => x.pid === event.pid);
      if (o) o.live = event.live;
      break;
    }

    case 'oldGone': {
      const o = s.olds.find((x) => x.pid === event.pid);
      if (o) {
        s.olds = s.olds.filter((x) => x !== o);
        log(messages.oldMasterGone(event.pid), 'debug');
        if (s.olds.length === 0 && s.handoff) {
          // Nothing left to replace: count it as done (logged by checkDone with 0 olds).
          s.olds = [];
        }
      }
      break;
    }

    case 'handoff': {
      beingReplaced(event.by, event.generation);
      break;
    }

    case 'handoffEnded': {
      if (!s.old || s.phase !== 'running') break;
      log(messages.handoffEnded(s.old.by, event.reason, s.old.desiredBefore), 'warn');
      s.desired = s.old.desiredBefore;
      s.old = undefined;
      for (const w of s.workers) if (w.pid !== undefined && w.phase === 'ready') fx.push({ type: 'send', pid: w.pid, message: { t: 'old', old: false } });
      break;
    }

    case 'timer': {
      const w = byKey(event.key);
      switch (event.timer) {
        case 'hold':
          break;
        case 'ready':
          if (!w || w.phase === 'ready' || w.stop) break;
          log(messages.readyTimeout(w.slot, w.pid, set.readyTimeoutMs), 'error');
          stopWorker(w, 'kill', 'ready-timeout');
          startFailure(w, messages.notReadyIn(set.readyTimeoutMs));
          break;
        case 'stop':
          if (!w || !w.stop || w.stop.mode !== 'graceful') break;
          log(messages.stopTimeout(w.slot, w.pid, set.stopTimeoutMs), 'warn');
          stopWorker(w, 'quick', w.stop.reason);
          break;
        case 'kill':
          if (!w) break;
          log(messages.killTimeout(w.slot, w.pid, set.termTimeoutMs + 1000), 'warn');
          stopWorker(w, 'kill', w.stop?.reason ?? 'shutdown');
          break;
        case 'job': {
          const j = timedJob(w, event);
          if (!w || !j || w.pid === undefined) break;
          log(messages.jobTimeout(w.slot, w.pid, j, set.jobTimeoutMs ?? 0), 'warn');
          fx.push({ type: 'send', pid: w.pid, message: { t: 'abort' } });
          fx.push({
            type: 'setTimer',
            key: `jobKill:${jobKey(w, j)}`,
            ms: set.termTimeoutMs,
            event: { type: 'timer', timer: 'jobKill', key: w.key, startedAt: event.startedAt, slot: event.slot },
          });
          break;
        }
        case 'jobKill': {
          const j = timedJob(w, event);
          if (!w || !j) break;
          log(messages.jobKilled(w.slot, w.pid, j, set.termTimeoutMs), 'error');
          // This job, whatever the worker runs by the time it is gone and whatever else was
          // stopping it (a recycle, a QUIT): it is the one recorded as failed.
          w.timedOut ??= j;
          stopWorker(w, 'kill', 'job-timeout');
          break;
        }
      }
      break;
    }
  }

  /** A newer master takes over from this one: from now on this one only retires workers. */
  function beingReplaced(by: number, generation: number | undefined) {
    if (s.phase !== 'running') return;
    s.old = { by, desiredBefore: s.old?.desiredBefore ?? s.desired };
    // Whatever this master was taking over is the newer one's to finish.
    s.handoff = undefined;
    s.reload = undefined;
    s.reloadPending = false;
    s.holdUntil = 0;
    fx.push({ type: 'clearTimer', key: 'hold' });
    // Workers still starting are not needed any more; from now on each TTOU retires one of
    // those that are left, so the count to go down from is theirs, not the configured one.
    for (const w of s.workers) if (w.phase !== 'ready') stopWorker(w, 'quick', 'scale');
    s.desired = s.workers.filter((w) => !w.stop).length;
    for (const w of s.workers) if (w.pid !== undefined && w.phase === 'ready') fx.push({ type: 'send', pid: w.pid, message: { t: 'old', old: true } });
    log(messages.handedOff(by, generation, s.workers.length));
  }

  function requestReload(source: string) {
    if (s.phase !== 'running') return;
    if (s.old) {
      log(messages.ignoredWhileOld(source), 'warn');
      return;
    }
    if (s.reload || s.loadingConfig) {
      s.reloadPending = true;
      log(messages.reloadQueued(source));
      return;
    }
    log(messages.reloading(source));
    s.loadingConfig = true;
    fx.push({ type: 'reloadConfig' });
  }

  function checkMemory(w: WorkerEntry) {
    const max = set.maxMemoryKb;
    if (max === undefined || w.rssKb === undefined || w.stop || w.phase !== 'ready' || s.phase !== 'running') return;
    if (w.rssKb > max) {
      log(messages.overMemory(w.slot, w.pid, w.rssKb, max), 'warn');
      stopWorker(w, 'graceful', 'memory');
    }
  }

  function handleSignal(sig: SignalName) {
    if (s.phase === 'done' || s.phase === 'idle') return;
    switch (sig) {
      case 'SIGTERM':
      case 'SIGINT':
        if (s.phase === 'stopping' && s.stopMode === 'quick') {
          log(messages.stopAgain(sig, s.workers.length));
          return;
        }
        log(messages.received(sig, 'quick shutdown: workers stop now, their jobs go back to the queues', s.workers.length));
        if (s.handoff && oldLive(s) > 0) s.restoreOnExit = true;
        beginStop('quick');
        return;
      case 'SIGQUIT':
        if (s.phase === 'stopping') {
          log(messages.stopAgain(sig, s.workers.length));
          return;
        }
        log(messages.received(sig, 'graceful shutdown: workers finish their jobs', s.workers.length));
        if (s.handoff && oldLive(s) > 0) s.restoreOnExit = true;
        beginStop('graceful');
        return;
      case 'SIGUSR1':
        log(messages.received(sig, 'aborting the current jobs', s.workers.length));
        sendAll({ t: 'abort' });
        return;
      case 'SIGUSR2':
        log(messages.received(sig, 'pausing', s.workers.length));
        s.paused = true;
        sendAll({ t: 'pause' });
        return;
      case 'SIGCONT':
        if (!s.paused) {
          log(messages.received(sig, 'not paused; nothing to do', s.workers.length), 'debug');
          return;
        }
        log(messages.received(sig, 'resuming', s.workers.length));
        s.paused = false;
        sendAll({ t: 'resume' });
        return;
      case 'SIGTTIN':
        if (s.phase !== 'running') return;
        if (s.old) {
          log(messages.ignoredWhileOld('TTIN'), 'warn');
          return;
        }
        if (s.desired >= set.maxConcurrency) {
          log(messages.atCeiling('TTIN', set.maxConcurrency), 'warn');
          return;
        }
        log(messages.scaled('TTIN', s.desired, s.desired + 1));
        s.desired += 1;
        return;
      case 'SIGTTOU':
        if (s.phase !== 'running') return;
        if (s.desired === 0) {
          log(messages.received(sig, 'already at 0 workers', s.workers.length), 'warn');
          return;
        }
        log(messages.scaled('TTOU', s.desired, s.desired - 1));
        s.desired -= 1;
        return;
      case 'SIGHUP':
        requestReload('HUP');
        return;
      default:
        log(messages.received(sig, 'ignored', s.workers.length), 'debug');
    }
  }

  reconcile();
  checkDone();
  fx.push({ type: 'status' });
  return { state: s, effects: fx };
}
