import { messages } from '../messages.js';
import { answer, type Ctx } from './context.js';
import { releaseHold } from './crash-loop.js';
import type { MasterEvent, WorkerEntry } from './model.js';
import { oneFewer } from './scale.js';
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
// 3. A worker that dies is not replaced: `desired` shrinks with it.
// 4. No worker left: the master exits. TTIN, HUP and `scale` are refused meanwhile.
// 5. The successor gives up (`restore`) or its link closes, and no other successor is left:
//    back to the workers it had before, and the pid file is claimed back.

/** A newer master takes over (the successor's `handoff` request, or one that came during start-up). */
export function successorLinked(c: Ctx, e: Omit<Extract<MasterEvent, { type: 'successorLinked' }>, 'type'>): void {
  const s = c.s;
  if (s.phase !== 'running') return answer(c, e.reply, { ok: false, error: `the master is ${s.phase}` });
  s.successors = [...s.successors, e.link];
  s.replacedBy = { pid: e.by, desiredBefore: s.replacedBy?.desiredBefore ?? s.desired };
  s.takeover = undefined;
  s.reload = undefined;
  s.reloadPending = false;
  releaseHold(c, { resetLevel: false });
  for (const w of s.workers) if (w.phase !== 'ready') stopWorker(c, w, 'quick', 'scale');
  s.desired = staying(c).length;
  markOld(c, true);
  c.log(messages.beingReplaced(e.by, e.generation, s.workers.length));
  // What the successor needs to keep a runtime `scale` (state/successor.ts `startingCount`).
  answer(c, e.reply, { ok: true, live: s.workers.length, desired: s.replacedBy.desiredBefore, configured: s.configured });
}

/** TTOU while replaced: a ready worker of the successor asks for room; one of ours goes. */
export function makeRoomForSuccessor(c: Ctx): void {
  if (oneFewer(c)) retireSurplus(c);
}

/** The reconciliation of a replaced master: retire whoever frees a place soonest; exit when empty. */
export function retireSurplus(c: Ctx): void {
  const s = c.s;
  const eta = (w: WorkerEntry) => (w.phase !== 'ready' || !w.job ? -Infinity : w.job.startedAt);
  const alive = staying(c).sort((a, b) => eta(a) - eta(b) || b.slot - a.slot);
  for (const w of alive.slice(0, Math.max(0, alive.length - s.desired))) stopWorker(c, w, 'graceful', 'scale');
  if (s.workers.length === 0 && s.replacedBy) {
    c.log(messages.replacedDone(s.replacedBy.pid));
    s.phase = 'stopping';
    finishIfDone(c);
  }
}

/** A worker died while replaced: it is not replaced, the count to go down from shrinks with it. */
export function shrinkOnDeath(c: Ctx): void {
  if (c.s.replacedBy) c.s.desired = Math.min(c.s.desired, staying(c).length);
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
  c.log(messages.replacementEnded(s.replacedBy.pid, reason, s.replacedBy.desiredBefore), 'warn');
  s.desired = s.replacedBy.desiredBefore;
  s.replacedBy = undefined;
  markOld(c, false);
  c.fx.push({ type: 'reclaimPidFile' });
}
