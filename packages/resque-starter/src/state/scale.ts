import { messages } from '../messages.js';
import { answer, type Ctx } from './context.js';
import type { MasterEvent } from './model.js';

// The operator's worker count: TTIN, TTOU and `resque-starter scale N` change `desired` only;
// the reconciliation that follows every event starts or retires workers to match.

/** Why: every change of the operator's count is logged the same way. */
export function scaleTo(c: Ctx, by: string, desired: number): void {
  c.log(messages.scaled(by, c.s.desired, desired));
  c.s.desired = desired;
}

/** TTIN: one more worker, up to maxConcurrency. */
export function oneMore(c: Ctx): void {
  if (c.s.phase !== 'running') return;
  const max = c.s.settings.maxConcurrency;
  if (c.s.desired >= max) c.log(messages.atCeiling('TTIN', max), 'warn');
  else scaleTo(c, 'TTIN', c.s.desired + 1);
}

/** TTOU: one worker fewer, down to 0. True when the count went down. */
export function oneFewer(c: Ctx): boolean {
  if (c.s.phase !== 'running') return false;
  if (c.s.desired === 0) {
    c.log(messages.received('SIGTTOU', 'already at 0 workers', c.s.workers.length), 'warn');
    return false;
  }
  scaleTo(c, 'TTOU', c.s.desired - 1);
  return true;
}

/** The control socket's `scale` (its input is validated there); the refusals are decided here. */
export function scale(c: Ctx, e: Extract<MasterEvent, { type: 'scale' }>): void {
  const s = c.s;
  const refusal = s.replacedBy ? 'this master is being replaced by a newer one; scale that one' : s.phase !== 'running' ? `the master is ${s.phase}` : undefined;
  if (refusal !== undefined) return answer(c, e.reply, { ok: false, error: refusal });
  scaleTo(c, 'scale', Math.min(e.desired, s.settings.maxConcurrency));
  answer(c, e.reply, { ok: true, concurrency: s.desired });
}
