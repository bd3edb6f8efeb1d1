import { eventFields, messages, workerFields } from '../messages.js';
import type { Ctx } from './context.js';
import { DEFAULT_GROUP, groupOf, slotKey, syncTotals, workerLabel } from './groups.js';
import { byPid } from './workers.js';
import { predecessorLive, type GroupState, type MasterEvent, type Predecessor, type WorkerEntry } from './model.js';
import { beginStop } from './stop.js';

// This master taking over from older masters, its predecessors (a rolling restart under
// start-server). The policy:
//
// 1. `beginTakeover` at start: the predecessors and their live workers, as linked or counted.
//    The worker count is the config's `concurrency`, or the newest predecessor's runtime count
//    when the config's `concurrency` is the one that predecessor loaded (`startingCount`).
// 2. Each new worker is started for a slot only while both generations fit in `desired + 1`
//    (reconcile.ts counts `predecessorLive` in), and is given a predecessor to retire
//    (`retireTarget`): once ready, its afterFork sends that predecessor a TTOU, or the master
//    does (`retireOnReady`). Each slot retires one predecessor worker, even if its first new
//    worker died after doing so.
// 3. A predecessor with more workers than fit beside a new one is sent a TTOU at a time
//    (`pressPredecessors`), since its workers would otherwise retire only for ready new ones.
// 4. A new worker that fails before it is ready ends the takeover (`abortTakeover`): ours
//    finish their jobs, the predecessors get their workers back, exit 3. A stop signal during
//    the takeover gives them back too (`giveBackOnStop`).
// 5. Done when no predecessor worker is left and ours are ready (`checkTakeover`); predecessors
//    that are not linked are sent QUIT then (linked ones exit by themselves when empty).

/**
 * Why: a runtime `scale N` (or TTIN/TTOU) is the operator's decision and must survive a rolling
 * restart, unless the config says something new: the newest predecessor that told us its numbers
 * keeps its count when our config's `concurrency` (`configured`) is the one it loaded; otherwise
 * the config wins. The log says which, and why.
 */
export function startingCounts(c: Ctx, predecessors: readonly Predecessor[]): void {
  const newest = [...predecessors].sort((a, b) => (b.generation ?? 0) - (a.generation ?? 0));
  for (const g of c.s.groups) {
    const told = newest.map((p) => ({ p, n: countsOf(c, p, g) })).find((x) => x.n !== undefined);
    if (!told?.n) continue;
    const who = messages.oldMaster(told.p.pid, told.p.generation) + (c.s.groups.length > 1 ? ` (group ${g.name})` : '');
    if (told.n.configured !== g.configured) {
      c.log(messages.countFromConfig(g.configured, told.n.configured, told.n.desired, who));
      continue;
    }
    const kept = Math.min(told.n.desired, g.maxConcurrency);
    c.log(kept === g.configured ? messages.countUnchanged(g.configured, who) : messages.countKept(kept, g.configured, who));
    g.desired = kept;
  }
  syncTotals(c.s);
}

/** What a predecessor said of group `g`: per group when it runs groups, else its one count (for the default group of a one-group config). */
function countsOf(c: Ctx, p: Predecessor, g: GroupState): { desired: number; configured: number } | undefined {
  if (p.groups) return p.groups.find((x) => x.name === g.name);
  if (c.s.groups.length !== 1 || p.desired === undefined || p.configured === undefined) return undefined;
  return { desired: p.desired, configured: p.configured };
}

/** The start of a takeover: the predecessors found and linked while this master started. */
export function beginTakeover(c: Ctx, predecessors: readonly Predecessor[]): void {
  const s = c.s;
  s.predecessors = predecessors.map((p) => ({ ...p }));
  if (s.predecessors.length === 0) return;
  s.takeover = { startedAt: c.now, pendingRetires: 0, lastPredecessorLive: predecessorLive(s), retiredSlots: [] };
  c.log(
    messages.takeoverStarted(s.predecessors, s.desired),
    'info',
    eventFields('rolling-restart-started', { oldMasters: s.predecessors.map((p) => ({ pid: p.pid, generation: p.generation, workers: p.live })), desired: s.desired, bound: s.desired + 1 }),
  );
}

/** The predecessor a new worker for `slot` of `group` is to retire (none when the slot retired one already). */
export function retireTarget(c: Ctx, group: string, slot: number): number | undefined {
  const t = c.s.takeover;
  if (!t || t.retiredSlots.includes(slotKey({ group, slot }))) return undefined;
  return c.s.predecessors.find((p) => p.live > 0)?.pid;
}

/**
 * A new worker is ready: it retired one predecessor worker (`retired`: its afterFork sent the
 * TTOU), or the master sends that TTOU now. Returns who sent it, to whom.
 */
export function retireOnReady(c: Ctx, w: WorkerEntry, retired: boolean): { by: 'worker' | 'master'; pid: number } | undefined {
  const s = c.s;
  if (w.retire === undefined || !s.takeover) return undefined;
  const live = (p: Predecessor) => p.live > 0;
  const pid = retired ? w.retire : (s.predecessors.find((p) => p.pid === w.retire && live(p)) ?? s.predecessors.find(live))?.pid;
  if (pid === undefined) return undefined;
  s.takeover.pendingRetires += 1;
  s.takeover.retiredSlots.push(slotKey(w));
  if (!retired) retirePredecessor(c, pid, w.group);
  return { by: retired ? 'worker' : 'master', pid };
}

/**
 * A new worker's afterFork called retireOldWorker(): the predecessor it was given (or, gone
 * meanwhile, another one that still has workers) retires one worker of its group.
 */
export function retireAsked(c: Ctx, e: Extract<MasterEvent, { type: 'retireAsked' }>): void {
  const w = byPid(c, e.pid);
  if (!w || w.retire === undefined || !c.s.takeover) return;
  const target = c.s.predecessors.find((p) => p.pid === w.retire && p.live > 0) ?? c.s.predecessors.find((p) => p.live > 0);
  if (target) retirePredecessor(c, target.pid, w.group);
}

/**
 * Why: the predecessor is asked over its link to retire one worker of `group` (executor: a TTOU
 * when it is not linked). Not a bare TTOU: it cannot name a group, and the kernel discards a
 * pending TTOU when a SIGCONT is sent to the same process (start-server's --signal-on-hup=CONT
 * comes just as the first new worker is ready): on a busy host that stalled a rollout for good.
 */
function retirePredecessor(c: Ctx, pid: number, group: string): void {
  c.fx.push({ type: 'retirePredecessor', pid, group });
}

/**
 * Each reconciliation: retirements whose worker has exited are no longer pending; a predecessor
 * too large to make room by itself (`total` workers of both generations ≥ `cap`, none of ours
 * starting, none pending) is asked to retire one, of any group (over the link, as the others).
 */
export function pressPredecessors(c: Ctx, total: number, cap: number): void {
  const s = c.s;
  const t = s.takeover;
  if (!t) return;
  const live = predecessorLive(s);
  if (live < t.lastPredecessorLive) t.pendingRetires = Math.max(0, t.pendingRetires - (t.lastPredecessorLive - live));
  t.lastPredecessorLive = live;
  const starting = s.workers.some((w) => w.phase !== 'ready' && !w.stop);
  const target = s.predecessors.find((p) => p.live > 0);
  if (!target || total < cap || starting || t.pendingRetires > 0) return;
  t.pendingRetires += 1;
  c.log(messages.forcingRetire(target.pid, live, s.desired), 'info', eventFields('rolling-restart-force-retire', { oldMaster: target.pid, oldWorkers: live, desired: s.desired }));
  c.fx.push({ type: 'retirePredecessor', pid: target.pid, group: undefined });
}

/** A new worker of ours failed before it was ready while predecessors still serve: give up. True if it did. */
export function abortTakeover(c: Ctx, w: WorkerEntry, why: string): boolean {
  const s = c.s;
  if (!s.takeover || w.version !== groupOf(s, w.group)?.version || predecessorLive(s) === 0) return false;
  c.log(messages.takeoverAborted(workerLabel(w), why, s.predecessors.map((p) => p.pid)), 'error', workerFields('rolling-restart-aborted', w, { error: why, oldMasters: s.predecessors.map((p) => p.pid) }));
  s.takeover = undefined;
  s.restoreOnExit = true;
  s.exitCode = 3;
  beginStop(c, 'graceful');
  return true;
}

/** A stop signal during a takeover: the predecessors that still serve get their workers back. */
export function giveBackOnStop(c: Ctx): void {
  if (c.s.takeover && predecessorLive(c.s) > 0) c.s.restoreOnExit = true;
}

/** The takeover is done once no predecessor worker is left and ours are ready. */
export function checkTakeover(c: Ctx): void {
  const s = c.s;
  if (!s.takeover || predecessorLive(s) > 0) return;
  const ready = s.workers.filter((w) => w.phase === 'ready' && !w.stop).length;
  if (ready < s.desired && !s.workers.every((w) => w.phase === 'ready')) return;
  c.log(
    messages.takeoverDone(c.now - s.takeover.startedAt, ready, s.predecessors.map((p) => p.pid)),
    'info',
    eventFields('rolling-restart-done', { durationMs: c.now - s.takeover.startedAt, ready, oldMasters: s.predecessors.map((p) => p.pid) }),
  );
  const unlinked = s.predecessors.filter((p) => !p.linked).map((p) => p.pid);
  if (unlinked.length > 0) c.fx.push({ type: 'quitPredecessors', pids: unlinked });
  s.takeover = undefined;
}

/** A predecessor's live worker count, pushed over its link or counted through /proc. */
export function predecessorWorkers(c: Ctx, e: Extract<MasterEvent, { type: 'predecessorWorkers' }>): void {
  const p = c.s.predecessors.find((x) => x.pid === e.pid);
  if (p) p.live = e.live;
}

/** A predecessor exited with no worker left: it no longer counts. */
export function predecessorGone(c: Ctx, e: Extract<MasterEvent, { type: 'predecessorGone' }>): void {
  const s = c.s;
  if (!s.predecessors.some((p) => p.pid === e.pid)) return;
  s.predecessors = s.predecessors.filter((p) => p.pid !== e.pid);
  c.log(messages.predecessorGone(e.pid), 'debug', eventFields('rolling-restart-old-master-gone', { oldMaster: e.pid }));
}
