import { eventFields, messages } from '../messages.js';
import type { Ctx } from './context.js';

// Crash-loop protection: more than `crashLoop.deaths` unexpected deaths within the window hold
// every new start back, for a delay that doubles up to `maxDelayMs`.

/** Why: a worker that dies at once must not be restarted in a tight loop. */
export function recordDeath(c: Ctx): void {
  const s = c.s;
  const cl = s.settings.crashLoop;
  s.deaths = s.deaths.filter((t) => c.now - t < cl.windowMs);
  s.deaths.push(c.now);
  if (s.deaths.length > cl.deaths) {
    s.holdLevel += 1;
    const delay = Math.min(cl.delayMs * 2 ** (s.holdLevel - 1), cl.maxDelayMs);
    s.holdUntil = c.now + delay;
    c.log(messages.crashLoop(s.deaths.length, cl.windowMs, delay), 'warn', eventFields('crash-loop', { deaths: s.deaths.length, windowMs: cl.windowMs, delayMs: delay }));
  } else {
    s.holdLevel = 0;
  }
}

/** True while starts are held back; arms the `hold` timer that runs the reconciliation again. */
export function holdingStarts(c: Ctx): boolean {
  if (c.now >= c.s.holdUntil) return false;
  c.fx.push({ type: 'setTimer', key: 'hold', ms: c.s.holdUntil - c.now, event: { type: 'timer', timer: 'hold' } });
  return true;
}

/** Starts are no longer held back (a new config; or a successor took over). `resetLevel`: the next delay starts short again. */
export function releaseHold(c: Ctx, opts: { resetLevel: boolean }): void {
  c.s.holdUntil = 0;
  if (opts.resetLevel) c.s.holdLevel = 0;
  c.fx.push({ type: 'clearTimer', key: 'hold' });
}
