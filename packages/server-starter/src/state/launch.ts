import { messages } from '../messages.js';
import { stableAfterMs, type SupervisorEvent } from './model.js';
import type { Transition } from './transition.js';

// A generation from its spawn to its acceptance: started, checked for --interval, accepted
// (the previous one becomes old), stable after a while; failed starts are retried.

export function onStart(t: Transition): void {
  t.s.phase = 'running';
  t.startGeneration();
}

export function onSpawned(t: Transition, event: Extract<SupervisorEvent, { type: 'spawned' }>): void {
  const { s, config } = t;
  if (s.spawning === event.generation) s.spawning = undefined;
  s.gens.push({ generation: event.generation, pid: event.pid, role: 'checking', startedAt: t.now });
  t.log(messages.startingWorker(event.pid, event.generation));
  if (s.phase === 'stopping') {
    t.kill([event.pid], config.signalOnTerm);
    return;
  }
  t.setTimer(`check:${event.generation}`, config.intervalMs, { type: 'timer', timer: 'check', generation: event.generation });
}

export function onSpawnFailed(t: Transition, event: Extract<SupervisorEvent, { type: 'spawnFailed' }>): void {
  const { s } = t;
  if (s.spawning === event.generation) s.spawning = undefined;
  t.log(messages.spawnFailed(event.generation, event.error), 'error');
  if (s.phase === 'stopping') {
    t.finishIfDone();
    return;
  }
  s.failures += 1;
  s.pendingRestart = false;
  t.scheduleRetry();
}

/** --interval is over and the generation still lives: it becomes current, older ones are signalled. */
export function onCheck(t: Transition, event: { generation: number }): void {
  const { s, config } = t;
  const g = t.find((x) => x.generation === event.generation && x.role === 'checking');
  if (!g || s.phase !== 'running') return;
  const prev = t.current();
  if (prev) prev.role = 'old';
  g.role = 'current';
  g.acceptedAt = t.now;
  t.setTimer('stable', stableAfterMs(config), { type: 'timer', timer: 'stable', generation: g.generation });
  t.status();
  const olds = s.gens.filter((x) => x.role === 'old').map((x) => x.pid);
  t.log(messages.acceptedWorker(g.pid, config.signalOnHup, olds));
  if (olds.length > 0) {
    if (config.killOldDelayMs > 0) {
      t.log(messages.sleepingBeforeKill(config.killOldDelayMs));
      t.clearTimer('killOld');
      t.setTimer('killOld', config.killOldDelayMs, { type: 'timer', timer: 'killOld', generation: g.generation });
    } else {
      t.log(messages.killingOld(config.signalOnHup, olds));
      t.kill(olds, config.signalOnHup);
    }
  }
  if (config.autoRestart.enabled) {
    t.setTimer('autoRestart', config.autoRestart.intervalMs, { type: 'timer', timer: 'autoRestart' });
  }
  if (s.pendingRestart) {
    s.pendingRestart = false;
    t.log(messages.receivedHup());
    t.startGeneration();
  }
}

export function onStable(t: Transition, event: { generation: number }): void {
  if (t.find((x) => x.generation === event.generation && x.role === 'current')) t.s.failures = 0;
}

export function onRetry(t: Transition): void {
  t.s.retryScheduled = false;
  if (t.s.phase === 'running' && !t.busy()) t.startGeneration();
}
