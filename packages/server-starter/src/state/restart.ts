import { messages } from '../messages.js';
import type { Transition } from './transition.js';

// Replacing the current generation: HUP (or --enable-auto-restart) starts a new one; once it is
// accepted, the old ones get --signal-on-hup, after --kill-old-delay if one is set.

export function onHup(t: Transition): void {
  const { s } = t;
  if (s.phase !== 'running') return;
  if (t.busy()) {
    s.pendingRestart = true;
    t.log(messages.hupWhileChecking(t.checking()?.generation ?? s.spawning ?? s.lastGeneration));
    return;
  }
  t.log(messages.receivedHup());
  if (s.retryScheduled) {
    s.retryScheduled = false;
    t.clearTimer('retry');
  }
  t.startGeneration();
}

/** --kill-old-delay is over: signal the generations older than the new one, if it still lives. */
export function onKillOld(t: Transition, event: { generation: number }): void {
  const { s, config } = t;
  if (s.phase !== 'running') return;
  if (!t.find((x) => x.generation === event.generation)) {
    t.log(messages.newDiedDuringDelay(event.generation), 'warn');
    return;
  }
  const olds = s.gens.filter((x) => x.role === 'old' && x.generation < event.generation).map((x) => x.pid);
  if (olds.length > 0) {
    t.log(messages.killingOld(config.signalOnHup, olds));
    t.kill(olds, config.signalOnHup);
  }
}

/** --auto-restart-interval is over: restart, unless busy, or old generations are still leaving (then look again in 1 s). */
export function onAutoRestart(t: Transition): void {
  const { s, config } = t;
  if (s.phase !== 'running' || t.busy() || s.retryScheduled) return;
  const cur = t.current();
  if (!cur) return;
  const hasOld = s.gens.some((x) => x.role === 'old');
  const elapsed = t.now - (cur.acceptedAt ?? t.now);
  if (hasOld && elapsed < 2 * config.autoRestart.intervalMs) {
    t.setTimer('autoRestart', 1000, { type: 'timer', timer: 'autoRestart' });
    return;
  }
  t.log(messages.autoRestart(config.autoRestart.intervalMs, hasOld));
  t.startGeneration();
}
