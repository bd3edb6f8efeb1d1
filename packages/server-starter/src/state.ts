import type { SignalName } from '@baton/process-kit';
import { messages } from './messages.js';
import { onExit } from './state/exit.js';
import { onCheck, onRetry, onSpawned, onSpawnFailed, onStable, onStart } from './state/launch.js';
import type { Step, SupervisorConfig, SupervisorEvent, SupervisorState, TimerEvent } from './state/model.js';
import { onAutoRestart, onHup, onKillOld } from './state/restart.js';
import { onForce, onStop } from './state/stop.js';
import { Transition } from './state/transition.js';

export * from './state/model.js';

/**
 * Why: every decision start-server makes is here, with no I/O, so the restart state machine can
 * be tested as a table of events → effects (STYLE lesson 3). The caller executes the effects in
 * order; the status file is always rewritten before the log line that reports the change.
 */
export function reduce(state: SupervisorState, event: SupervisorEvent, config: SupervisorConfig, now: number): Step {
  const t = new Transition(state, config, now);
  (ON_EVENT[event.type] as Handler<SupervisorEvent>)(t, event);
  return t.result();
}

// --- internal ---

type Handler<E> = (t: Transition, event: E) => void;

/** One arm per event type; the compiler checks that every type has one. */
const ON_EVENT: { [K in SupervisorEvent['type']]: Handler<Extract<SupervisorEvent, { type: K }>> } = {
  start: onStart,
  spawned: onSpawned,
  spawnFailed: onSpawnFailed,
  exit: onExit,
  signal: (t, e) => onSignal(t, e.signal),
  timer: (t, e) => (ON_TIMER[e.timer] as Handler<TimerEvent>)(t, e),
};

const ON_TIMER: { [K in TimerEvent['timer']]: Handler<TimerEvent & { timer: K }> } = {
  check: onCheck,
  killOld: onKillOld,
  stable: onStable,
  retry: onRetry,
  force: onForce,
  autoRestart: onAutoRestart,
};

const STOP_SIGNALS = new Set<SignalName>(['SIGTERM', 'SIGINT', 'SIGQUIT']);

function onSignal(t: Transition, sig: SignalName): void {
  if (sig === 'SIGHUP') onHup(t);
  else if (STOP_SIGNALS.has(sig)) onStop(t, sig);
  else t.log(messages.ignoredSignal(sig), 'warn');
}
