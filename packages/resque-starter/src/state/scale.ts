import { messages } from '../messages.js';
import { answer, type Ctx } from './context.js';
import { findGroup, setGroupDesired, signalGroup } from './groups.js';
import type { MasterEvent } from './model.js';

// The operator's worker count: TTIN, TTOU and `resque-starter scale [GROUP] N` change a group's
// `desired` only; the reconciliation that follows every event starts or retires workers to
// match. TTIN and TTOU act on the first group in config order (state/groups.ts `signalGroup`).

/** TTIN: one more worker, up to the group's maxConcurrency. */
export function oneMore(c: Ctx): void {
  const g = signalGroup(c.s);
  if (c.s.phase !== 'running' || !g) return;
  const max = g.maxConcurrency;
  if (g.desired >= max) c.log(messages.atCeiling('TTIN', max), 'warn');
  else setGroupDesired(c, g, 'TTIN', g.desired + 1);
}

/** TTOU: one worker fewer, down to 0. True when the count went down. */
export function oneFewer(c: Ctx): boolean {
  const g = signalGroup(c.s);
  if (c.s.phase !== 'running' || !g) return false;
  if (g.desired === 0) {
    c.log(messages.received('SIGTTOU', 'already at 0 workers', c.s.workers.length), 'warn');
    return false;
  }
  setGroupDesired(c, g, 'TTOU', g.desired - 1);
  return true;
}

/** The control socket's `scale` (its input is validated there); the refusals are decided here. */
export function scale(c: Ctx, e: Extract<MasterEvent, { type: 'scale' }>): void {
  const s = c.s;
  const refusal = s.replacedBy ? 'this master is being replaced by a newer one; scale that one' : s.phase !== 'running' ? `the master is ${s.phase}` : undefined;
  if (refusal !== undefined) return answer(c, e.reply, { ok: false, error: refusal });
  const found = findGroup(s, e.group);
  if ('error' in found) return answer(c, e.reply, { ok: false, error: found.error });
  const g = found.group;
  if (e.desired > g.maxConcurrency && s.groups.length > 1) {
    return answer(c, e.reply, { ok: false, error: `Expected a worker count ≤ maxConcurrency of group ${g.name} (${g.maxConcurrency}), got \`${e.desired}\`` });
  }
  setGroupDesired(c, g, 'scale', Math.min(e.desired, g.maxConcurrency));
  answer(c, e.reply, { ok: true, concurrency: g.desired, ...(e.group !== undefined ? { group: g.name } : {}) });
}
