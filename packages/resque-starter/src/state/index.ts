import { backlog } from './autoscale.js';
import { createCtx, type Ctx } from './context.js';
import { exited, fatal, hello, ready, readyTimedOut, spawned, spawnFailed } from './lifecycle.js';
import { jobKillTimedOut, jobStarted, jobTimedOut, memory, recycling, report } from './limits.js';
import type { MasterEvent, MasterState, Step, TimerName, WorkerEntry } from './model.js';
import { makeRoomForSuccessor, successorGone, successorLinked } from './predecessor.js';
import { reconcile } from './reconcile.js';
import { checkReload, reloaded, reloadFailed, requestReload } from './reload.js';
import { scale } from './scale.js';
import { onSignal, pauseGroup } from './signals.js';
import { killTimedOut, stopTimedOut } from './stop.js';
import { defaultGroups, startGroups, syncTotals } from './groups.js';
import { beginTakeover, checkTakeover, predecessorGone, predecessorWorkers, retireAsked, startingCounts } from './successor.js';
import { byKey } from './workers.js';

export { initialState, predecessorLive } from './model.js';
export { DEFAULT_GROUP, workerLabel } from './groups.js';
export type {
  Effect,
  GroupSpec,
  GroupState,
  MasterEvent,
  MasterSettings,
  MasterState,
  Predecessor,
  Step,
  StopMode,
  StopReason,
  TimerName,
  WorkerEntry,
  WorkerPhase,
} from './model.js';

type Handler<K extends MasterEvent['type']> = (c: Ctx, e: Extract<MasterEvent, { type: K }>) => void;
type TimerEvent = Extract<MasterEvent, { type: 'timer' }>;

/** Every event type has its handler (a new one without a handler does not compile). */
const HANDLERS: { [K in MasterEvent['type']]: Handler<K> } = {
  start,
  spawned,
  spawnFailed,
  hello,
  ready,
  jobStarted,
  report,
  recycling,
  fatal,
  exit: exited,
  signal: (c, e) => onSignal(c, e.signal),
  scale,
  pause: pauseGroup,
  reloadRequest: (c, e) => requestReload(c, e.source),
  reloaded,
  reloadFailed,
  memory,
  predecessorWorkers,
  predecessorGone,
  successorLinked,
  successorRestored: (c, e) => successorGone(c, e.link, 'restore'),
  successorLost: (c, e) => successorGone(c, e.link, 'lost'),
  retireRequest: (c, e) => {
    if (c.s.replacedBy && c.s.successors.includes(e.link)) makeRoomForSuccessor(c, e.group);
  },
  retireAsked,
  backlog,
  timer: (c, e) => TIMERS[e.timer](c, byKey(c, e.key), e),
};

const TIMERS: { [T in TimerName]: (c: Ctx, w: WorkerEntry | undefined, e: TimerEvent) => void } = {
  // The reconciliation that follows every event starts what the crash loop held back.
  hold: () => undefined,
  ready: readyTimedOut,
  stop: stopTimedOut,
  kill: killTimedOut,
  job: jobTimedOut,
  jobKill: jobKillTimedOut,
};

/**
 * Why: every decision of the master is here, with no I/O (STYLE lesson 3): signals, worker
 * messages and exits, timers, control requests and the rolling hand-off are events; spawning,
 * signalling, recovering jobs, replies and the status are effects the serial loop executes.
 * Each event goes to its role's handler; then one reconciliation and the end-of-step checks.
 */
export function reduce(state: MasterState, event: MasterEvent, now: number): Step {
  const c = createCtx(state, now);
  (HANDLERS[event.type] as (c: Ctx, e: MasterEvent) => void)(c, event);
  syncTotals(c.s);
  reconcile(c);
  checkReload(c);
  checkTakeover(c);
  c.fx.push({ type: 'status' });
  return { state: c.s, effects: c.fx };
}

// --- internal ---

/**
 * Running: the worker count (the config's, or the predecessor's runtime one); take over the
 * predecessors; be replaced at once if a successor came first; stop if asked to.
 */
function start(c: Ctx, e: Extract<MasterEvent, { type: 'start' }>): void {
  c.s.phase = 'running';
  startGroups(c, e.groups ?? defaultGroups(e.desired, c.s.settings));
  startingCounts(c, e.predecessors);
  beginTakeover(c, e.predecessors);
  if (e.successor) successorLinked(c, e.successor);
  if (e.stop) onSignal(c, e.stop);
}
