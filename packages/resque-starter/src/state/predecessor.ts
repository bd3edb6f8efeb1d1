import { eventFields, messages, workerFields } from '../messages.js';
import { answer, type Ctx } from './context.js';
import { releaseHold } from './crash-loop.js';
import { groupOf, syncTotals } from './groups.js';
import type { MasterEvent, WorkerEntry } from './model.js';
import { finishIfDone } from './stop.js';
import { markOld, staying, stopWorker } from './workers.js';

// This master being replaced by a newer one (its successor, a rolling restart under
// start-server). The whole policy is here:
//
// 1. `successorLinked` (the successor's `handoff` request on the control socket): the workers
//    still starting are dropped, the ready ones are marked OLD, and `desired` becomes the number
//    that stay — the count each TTOU goes down from. Whatever this master was doing (taking over
//    its own predecessors, a reload, a crash-loop hold) is the successor's to finish. The reply
//    tells the successor the live workers, the count asked for before (`desired`) and the
//    config's `concurrency` (`configured`), so a runtime `scale` survives the restart.
// 2. TTOU during a hand-off (sent by each ready worker of the successor, or by the successor
//    itself): one worker fewer, and the one that frees a place soonest goes — an idle (or
//    starting) one first, else the one whose job has run longest. Slots do not matter any more.
//    A `retire` over the link names the group of the successor's new worker: one of that
//    group goes (the soonest free), or, when none of it is left here, the soonest free of any.
// 3. A worker that dies is not replaced: `desired` shrinks with it.
// 4. No worker left: the master exits. TTIN, HUP and `scale` are refused meanwhile.
// 5. The successor gives up (`restore`) or its link closes, and no other successor is left:
//    back to the workers it had before, and the pid file is claimed back.

/** A newer master takes over (the successor's `handoff` request, or one that came during start-up). */
export function successorLinked(c: Ctx, e: Omit<Extract<MasterEvent, { type: 'successorLinked' }>, 'type'>): void {
  const s = c.s;
  if (s.phase !== 'running') return answer(c, e.reply, { ok: false, error: `the master is ${s.phase}` });
  s.successors = [...s.successors, e.link];
  s.replacedBy = {
    pid: e.by,
    desiredBefore: s.replacedBy?.desiredBefore ?? s.desired,
    groupsBefore: s.replacedBy?.groupsBefore ?? Object.fromEntries(s.groups.map((g) => [g.name, g.desired])),
  };
  s.takeover = undefined;
  s.reload = undefined;
  s.reloadPending = false;
  releaseHold(c, { resetLevel: false });
  for (const w of s.workers) if (w.phase !== 'ready') stopWorker(c, w, 'quick', 'scale');
  for (const g of s.groups) g.desired = staying(c).filter((w) => w.group === g.name).length;
  syncTotals(s);
  markOld(c, true);
  c.log(messages.beingReplaced(e.by, e.generation, s.workers.length), 'info', eventFields('replaced-started', { newMaster: e.by, newGeneration: e.generation, workers: s.workers.length }));
  // What the successor needs to keep a runtime `scale` (state/successor.ts `startingCounts`).
  const before = s.replacedBy.groupsBefore;
  const groups = s.groups.map((g) => ({ name: g.name, desired: before[g.name] ?? g.desired, configured: g.configured }));
  answer(c, e.reply, { ok: true, live: s.workers.length, desired: s.replacedBy.desiredBefore, configured: s.configured, groups });
}

/**
 * TTOU while replaced (or a `retire` naming `group` over the link): a ready worker of the
 * successor asks for room; the one of ours that frees a place soonest goes, of `group` when
 * this master still has one of it.
 */
export function makeRoomForSuccessor(c: Ctx, group?: string): void {
  const s = c.s;
  if (s.phase !== 'running') return;
  const counted = staying(c).filter((w) => (groupOf(s, w.group)?.desired ?? 0) > 0);
  const inGroup = counted.filter((w) => w.group === group);
  const w = (inGroup.length > 0 ? inGroup : counted).sort(soonestFree)[0];
  if (!w) {
    c.log(messages.received('SIGTTOU', 'already at 0 workers', s.workers.length), 'warn');
    return;
  }
  const g = groupOf(s, w.group)!;
  c.log(messages.scaled(s.groups.length > 1 ? `TTOU (group ${g.name})` : 'TTOU', g.desired, g.desired - 1));
  g.desired -= 1;
  syncTotals(s);
  retireSurplus(c);
}

/** An idle (or starting) worker first, else the one whose job has run longest; the highest slot on a tie. */
const eta = (w: WorkerEntry) => (w.phase !== 'ready' || !w.job ? -Infinity : w.job.startedAt);
const soonestFree = (a: WorkerEntry, b: WorkerEntry) => eta(a) - eta(b) || b.slot - a.slot;

/** The reconciliation of a replaced master: each group keeps its `desired` workers, the rest (those that free a place soonest) go; exit when empty. */
export function retireSurplus(c: Ctx): void {
  const s = c.s;
  for (const w of staying(c)) if (!groupOf(s, w.group)) stopWorker(c, w, 'graceful', 'scale');
  for (const g of s.groups) {
    const alive = staying(c).filter((w) => w.group === g.name).sort(soonestFree);
    for (const w of alive.slice(0, Math.max(0, alive.length - g.desired))) stopWorker(c, w, 'graceful', 'scale');
  }
  if (s.workers.length === 0 && s.replacedBy) {
    c.log(messages.replacedDone(s.replacedBy.pid), 'info', eventFields('replaced-done', { newMaster: s.replacedBy.pid }));
    s.phase = 'stopping';
    finishIfDone(c);
  }
}

/** A worker died while replaced: it is not replaced, the count to go down from shrinks with it. */
export function shrinkOnDeath(c: Ctx): void {
  if (!c.s.replacedBy) return;
  for (const g of c.s.groups) g.desired = Math.min(g.desired, staying(c).filter((w) => w.group === g.name).length);
  syncTotals(c.s);
}

/** TTIN, HUP, reload requests: refused (with a warning) while a successor takes over. */
export function refusedWhileReplaced(c: Ctx, what: string): boolean {
  if (c.s.phase !== 'running' || !c.s.replacedBy) return false;
  c.log(messages.ignoredWhileReplaced(what), 'warn');
  return true;
}

/**
 * The successor on `link` gave up (`restore`) or went away (`lost`). With no successor left the
 * replacement ends: the workers this master had before, no longer OLD, and its pid file back.
 */
export function successorGone(c: Ctx, link: number, reason: 'restore' | 'lost'): void {
  const s = c.s;
  if (!s.successors.includes(link)) return;
  s.successors = s.successors.filter((l) => l !== link);
  if (s.successors.length > 0 || !s.replacedBy || s.phase !== 'running') return;
  c.log(messages.replacementEnded(s.replacedBy.pid, reason, s.replacedBy.desiredBefore), 'warn', eventFields('replaced-ended', { newMaster: s.replacedBy.pid, reason, desired: s.replacedBy.desiredBefore }));
  for (const g of s.groups) g.desired = s.replacedBy.groupsBefore[g.name] ?? g.desired;
  syncTotals(s);
  s.replacedBy = undefined;
  markOld(c, false);
  c.fx.push({ type: 'reclaimPidFile' });
}
