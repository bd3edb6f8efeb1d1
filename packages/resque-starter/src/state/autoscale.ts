import { messages } from '../messages.js';
import type { Ctx } from './context.js';
import { groupOf, setGroupDesired } from './groups.js';
import type { MasterEvent } from './model.js';

// Auto-scaling of a group (opt in, `autoscale: { min, max, … }`): each backlog sample gives a
// target count, ⌈waiting / jobsPerWorker⌉ within [min, max], or one more worker than now while
// the oldest job has waited longer than maxWait. Up at once; down one worker at a time, and
// only once the target has stayed lower for downAfter (the hysteresis: a backlog that comes and
// goes does not start and stop workers). A worker scaled down finishes its job (reconcile.ts).
// Nothing is scaled up while a rolling restart or replacement is under way, so the C+1 bound
// is counted from the count it started with; every decision is logged with its reason.

/** Why: the count of an autoscaled group follows the work waiting, never flapping. */
export function backlog(c: Ctx, e: Extract<MasterEvent, { type: 'backlog' }>): void {
  const s = c.s;
  const g = groupOf(s, e.group);
  const a = g?.autoscale;
  if (!g || !a || s.phase !== 'running' || s.replacedBy) return;
  let target = Math.min(Math.max(Math.ceil(e.depth / a.jobsPerWorker), a.min), a.max);
  let why = messages.backlogReason(e.depth, a.jobsPerWorker);
  if (a.maxWaitMs !== undefined && e.oldestMs !== undefined && e.oldestMs > a.maxWaitMs && target <= g.desired && g.desired < a.max) {
    target = g.desired + 1;
    why = messages.waitReason(e.oldestMs, a.maxWaitMs);
  }
  if (target > g.desired) {
    g.lowSince = undefined;
    if (s.takeover || s.reload) return c.log(messages.autoscaleHeld(g.name, g.desired, target, why), 'debug');
    return setGroupDesired(c, g, `autoscale (${why})`, target);
  }
  if (target === g.desired) {
    g.lowSince = undefined;
    return;
  }
  g.lowSince ??= c.now;
  if (c.now - g.lowSince < a.downAfterMs) return;
  // One at a time: the next step down waits another downAfter.
  g.lowSince = c.now;
  setGroupDesired(c, g, `autoscale (${why} for ${Math.round(a.downAfterMs / 100) / 10}s)`, g.desired - 1);
}
