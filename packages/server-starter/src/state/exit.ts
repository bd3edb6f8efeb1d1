import { messages } from '../messages.js';
import { retryDelayMs, stableAfterMs, type Generation, type SupervisorEvent } from './model.js';
import type { Transition } from './transition.js';

type ExitEvent = Extract<SupervisorEvent, { type: 'exit' }>;

// A generation exited. What it means depends on its role: a failed start (checking), a hand-off,
// a stop of its own or a crash (current), an expected end (old), or one step closer to exiting
// (stopping).

export function onExit(t: Transition, event: ExitEvent): void {
  const { s } = t;
  const g = t.find((x) => x.pid === event.pid);
  if (!g) return;
  s.gens = s.gens.filter((x) => x !== g);
  if (s.phase === 'stopping' || s.phase === 'done') {
    t.status();
    t.log(messages.workerDied(g.pid, event.code, event.signal));
    t.finishIfDone();
  } else if (g.role === 'checking') {
    t.clearTimer(`check:${g.generation}`);
    t.log(messages.failedToStart(g.pid, event.code, event.signal), 'error');
    s.failures += 1;
    s.pendingRestart = false;
    t.scheduleRetry();
  } else if (g.role === 'current' && t.busy()) {
    currentHandedOff(t, g, event);
  } else if (g.role === 'current') {
    currentDied(t, g, event);
  } else {
    t.status();
    t.log(messages.oldDied(g.pid, event.code, event.signal));
  }
}

// --- internal ---

/**
 * A newer generation is already on its way (being checked, or spawned): the current one exiting
 * now is a hand-off (a resque-starter master leaves once its successor has taken over) or at
 * worst a gap the newcomer closes. Not an error, and no respawn of its own.
 */
function currentHandedOff(t: Transition, g: Generation, event: ExitEvent): void {
  t.status();
  const clean = event.code === 0 && !event.signal;
  const next = t.checking()?.generation ?? t.s.spawning ?? t.s.lastGeneration;
  t.log(messages.exitedDuringHandOff(g.pid, g.generation, event.code, event.signal, next), clean ? 'info' : 'warn');
  t.clearTimer('stable');
  t.clearTimer('autoRestart');
}

/**
 * The current generation ended on its own: start another after --interval (growing when it keeps
 * ending soon after acceptance), as Server::Starter does. Exit status 0 is a stop the generation
 * decided (an operator's QUIT to a resque-starter master: its jobs finished first), not a crash:
 * info, not error. Anything else (a signal, a non-zero status) is a death.
 */
function currentDied(t: Transition, g: Generation, event: ExitEvent): void {
  const { s, config } = t;
  t.status();
  if (event.code === 0 && !event.signal) t.log(messages.exitedByItself(g.pid, g.generation));
  else t.log(messages.diedUnexpectedly(g.pid, event.code, event.signal), 'error');
  t.clearTimer('stable');
  t.clearTimer('autoRestart');
  const quick = t.now - (g.acceptedAt ?? t.now) < stableAfterMs(config);
  s.failures = quick ? s.failures + 1 : 0;
  if (!t.busy() && !s.retryScheduled) {
    const delay = s.failures > 0 ? retryDelayMs(config, s.failures) : config.intervalMs;
    t.log(messages.respawnIn(delay));
    s.retryScheduled = true;
    t.setTimer('retry', delay, { type: 'timer', timer: 'retry' });
  }
}
