import type { SignalName } from '@baton/process-kit';
import { messages } from '../messages.js';
import type { Transition } from './transition.js';

// Stopping: TERM, INT or QUIT sends --signal-on-term to every generation, SIGKILL after
// --term-timeout, and start-server exits once they are all gone (Transition.finishIfDone).

export function onStop(t: Transition, sig: SignalName): void {
  const { s, config } = t;
  const pids = s.gens.map((g) => g.pid);
  if (s.phase === 'stopping') {
    t.log(messages.stopAgain(sig, pids));
    if (pids.length) t.kill(pids, config.signalOnTerm);
    return;
  }
  s.phase = 'stopping';
  s.pendingRestart = false;
  s.retryScheduled = false;
  for (const key of ['retry', 'killOld', 'stable', 'autoRestart', ...s.gens.map((g) => `check:${g.generation}`)]) t.clearTimer(key);
  t.log(messages.receivedStop(sig, config.signalOnTerm, pids));
  if (pids.length > 0) {
    t.kill(pids, config.signalOnTerm);
    if (config.termTimeoutMs > 0) t.setTimer('force', config.termTimeoutMs, { type: 'timer', timer: 'force' });
  }
  t.finishIfDone();
}

/** --term-timeout is over: SIGKILL what is left. */
export function onForce(t: Transition): void {
  const { s, config } = t;
  if (s.phase !== 'stopping' || s.gens.length === 0) return;
  const pids = s.gens.map((g) => g.pid);
  t.log(messages.forceKill(config.termTimeoutMs, pids), 'warn');
  t.kill(pids, 'SIGKILL');
}
