import type { SignalName } from '@baton/process-kit';
import { messages } from './messages.js';
import type { StatusLine } from './protocol.js';

/** The settings the reducer needs (a subset of StartServerOptions). */
export interface SupervisorConfig {
  intervalMs: number;
  killOldDelayMs: number;
  signalOnHup: SignalName;
  signalOnTerm: SignalName;
  termTimeoutMs: number;
  maxRetryDelayMs: number;
  autoRestart: { enabled: boolean; intervalMs: number };
}

export type Role = 'checking' | 'current' | 'old';

export interface Generation {
  generation: number;
  pid: number;
  role: Role;
  startedAt: number;
  acceptedAt?: number;
}

export interface SupervisorState {
  phase: 'idle' | 'running' | 'stopping' | 'done';
  /** Last generation number handed out (failed attempts use numbers too, as in Server::Starter). */
  lastGeneration: number;
  /** Generation number whose spawn effect is out and whose `spawned` event has not come back. */
  spawning: number | undefined;
  gens: Generation[];
  /** A HUP came while a generation was being checked: restart again once it is settled. */
  pendingRestart: boolean;
  /** Failures in a row (failed starts, and deaths soon after acceptance); drives the back-off. */
  failures: number;
  retryScheduled: boolean;
}

export type TimerEvent =
  | { type: 'timer'; timer: 'check'; generation: number }
  | { type: 'timer'; timer: 'killOld'; generation: number }
  | { type: 'timer'; timer: 'stable'; generation: number }
  | { type: 'timer'; timer: 'retry' | 'force' | 'autoRestart' };

export type SupervisorEvent =
  | { type: 'start' }
  | { type: 'spawned'; generation: number; pid: number }
  | { type: 'spawnFailed'; generation: number; error: string }
  | { type: 'exit'; pid: number; code: number | null; signal: string | null }
  | { type: 'signal'; signal: SignalName }
  | TimerEvent;

export type Effect =
  | { type: 'spawn'; generation: number }
  | { type: 'kill'; pids: number[]; signal: SignalName }
  | { type: 'setTimer'; key: string; ms: number; event: TimerEvent }
  | { type: 'clearTimer'; key: string }
  | { type: 'writeStatus'; lines: StatusLine[] }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'exit'; code: number };

export interface Step {
  state: SupervisorState;
  effects: Effect[];
}

export function initialState(): SupervisorState {
  return { phase: 'idle', lastGeneration: 0, spawning: undefined, gens: [], pendingRestart: false, failures: 0, retryScheduled: false };
}

/** A generation counts as stable (failures reset) once it has been accepted this long. */
export function stableAfterMs(config: SupervisorConfig): number {
  return Math.max(10 * config.intervalMs, 10_000);
}

/** Growing delay before attempt n+1: interval, 2×, 4×, … capped by --max-retry-delay (never below interval). */
export function retryDelayMs(config: SupervisorConfig, failures: number): number {
  const base = Math.max(config.intervalMs, 100);
  const grown = base * 2 ** Math.max(0, failures - 1);
  return Math.max(config.intervalMs, Math.min(grown, config.maxRetryDelayMs));
}

/**
 * Why: every decision start-server makes is here, with no I/O, so the restart state machine can
 * be tested as a table of events → effects (STYLE lesson 3). The caller executes the effects in
 * order; the status file is always rewritten before the log line that reports the change.
 */
export function reduce(state: SupervisorState, event: SupervisorEvent, config: SupervisorConfig, now: number): Step {
  const s: SupervisorState = { ...state, gens: state.gens.map((g) => ({ ...g })) };
  const fx: Effect[] = [];
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') => fx.push({ type: 'log', level, message });
  const status = () => fx.push({ type: 'writeStatus', lines: statusLines(s) });
  const find = (pred: (g: Generation) => boolean) => s.gens.find(pred);
  const checking = () => find((g) => g.role === 'checking');
  const current = () => find((g) => g.role === 'current');

  const startGeneration = () => {
    s.lastGeneration += 1;
    s.spawning = s.lastGeneration;
    fx.push({ type: 'spawn', generation: s.lastGeneration });
  };
  const scheduleRetry = () => {
    const delay = retryDelayMs(config, s.failures);
    const keep = current() ?? [...s.gens].reverse().find((g) => g.role === 'old');
    log(messages.retrying(delay, s.failures, keep), 'warn');
    s.retryScheduled = true;
    fx.push({ type: 'setTimer', key: 'retry', ms: delay, event: { type: 'timer', timer: 'retry' } });
  };
  const busy = () => s.spawning !== undefined || checking() !== undefined;
  const finishIfDone = () => {
    if (s.phase === 'stopping' && s.gens.length === 0 && s.spawning === undefined) {
      fx.push({ type: 'clearTimer', key: 'force' });
      log(messages.exiting());
      s.phase = 'done';
      fx.push({ type: 'exit', code: 0 });
    }
  };

  switch (event.type) {
    case 'start': {
      s.phase = 'running';
      startGeneration();
      break;
    }

    case 'spawned': {
      if (s.spawning === event.generation) s.spawning = undefined;
      s.gens.push({ generation: event.generation, pid: event.pid, role: 'checking', startedAt: now });
      log(messages.startingWorker(event.pid, event.generation));
      if (s.phase === 'stopping') {
        fx.push({ type: 'kill', pids: [event.pid], signal: config.signalOnTerm });
        break;
      }
      fx.push({
        type: 'setTimer',
        key: `check:${event.generation}`,
        ms: config.intervalMs,
        event: { type: 'timer', timer: 'check', generation: event.generation },
      });
      break;
    }

    case 'spawnFailed': {
      if (s.spawning === event.generation) s.spawning = undefined;
      log(messages.spawnFailed(event.generation, event.error), 'error');
      if (s.phase === 'stopping') {
        finishIfDone();
        break;
      }
      s.failures += 1;
      s.pendingRestart = false;
      scheduleRetry();
      break;
    }

    case 'timer': {
      switch (event.timer) {
        case 'check': {
          const g = find((x) => x.generation === event.generation && x.role === 'checking');
          if (!g || s.phase !== 'running') break;
          const prev = current();
          if (prev) prev.role = 'old';
          g.role = 'current';
          g.acceptedAt = now;
          fx.push({ type: 'setTimer', key: 'stable', ms: stableAfterMs(config), event: { type: 'timer', timer: 'stable', generation: g.generation } });
          status();
          const olds = s.gens.filter((x) => x.role === 'old').map((x) => x.pid);
          log(messages.acceptedWorker(g.pid, config.signalOnHup, olds));
          if (olds.length > 0) {
            if (config.killOldDelayMs > 0) {
              log(messages.sleepingBeforeKill(config.killOldDelayMs));
              fx.push({ type: 'clearTimer', key: 'killOld' });
              fx.push({ type: 'setTimer', key: 'killOld', ms: config.killOldDelayMs, event: { type: 'timer', timer: 'killOld', generation: g.generation } });
            } else {
              log(messages.killingOld(config.signalOnHup, olds));
              fx.push({ type: 'kill', pids: olds, signal: config.signalOnHup });
            }
          }
          if (config.autoRestart.enabled) {
            fx.push({ type: 'setTimer', key: 'autoRestart', ms: config.autoRestart.intervalMs, event: { type: 'timer', timer: 'autoRestart' } });
          }
          if (s.pendingRestart) {
            s.pendingRestart = false;
            log(messages.receivedHup());
            startGeneration();
          }
          break;
        }
        case 'killOld': {
          if (s.phase !== 'running') break;
          const g = find((x) => x.generation === event.generation);
          if (!g) {
            log(messages.newDiedDuringDelay(event.generation), 'warn');
            break;
          }
          const olds = s.gens.filter((x) => x.role === 'old' && x.generation < event.generation).map((x) => x.pid);
          if (olds.length > 0) {
            log(messages.killingOld(config.signalOnHup, olds));
            fx.push({ type: 'kill', pids: olds, signal: config.signalOnHup });
          }
          break;
        }
        case 'stable': {
          const g = find((x) => x.generation === event.generation && x.role === 'current');
          if (g) s.failures = 0;
          break;
        }
        case 'retry': {
          s.retryScheduled = false;
          if (s.phase === 'running' && !busy()) startGeneration();
          break;
        }
        case 'force': {
          if (s.phase !== 'stopping' || s.gens.length === 0) break;
          const pids = s.gens.map((g) => g.pid);
          log(messages.forceKill(config.termTimeoutMs, pids), 'warn');
          fx.push({ type: 'kill', pids, signal: 'SIGKILL' });
          break;
        }
        case 'autoRestart': {
          if (s.phase !== 'running' || busy() || s.retryScheduled) break;
          const cur = current();
          if (!cur) break;
          const hasOld = s.gens.some((x) => x.role === 'old');
          const elapsed = now - (cur.acceptedAt ?? now);
          if (hasOld && elapsed < 2 * config.autoRestart.intervalMs) {
            fx.push({ type: 'setTimer', key: 'autoRestart', ms: 1000, event: { type: 'timer', timer: 'autoRestart' } });
            break;
          }
          log(messages.autoRestart(config.autoRestart.intervalMs, hasOld));
          startGeneration();
          break;
        }
      }
      break;
    }

    case 'exit': {
      const g = find((x) => x.pid === event.pid);
      if (!g) break;
      s.gens = s.gens.filter((x) => x !== g);
      if (s.phase === 'stopping' || s.phase === 'done') {
        status();
        log(messages.workerDied(g.pid, event.code, event.signal));
        finishIfDone();
        break;
      }
      if (g.role === 'checking') {
        fx.push({ type: 'clearTimer', key: `check:${g.generation}` });
        log(messages.failedToStart(g.pid, event.code, event.signal), 'error');
        s.failures += 1;
        s.pendingRestart = false;
        scheduleRetry();
      } else if (g.role === 'current' && busy()) {
        // A newer generation is already on its way (being checked, or spawned): the current one
        // exiting now is a hand-off (a resque-starter master leaves once its successor has taken
        // over) or at worst a gap the newcomer closes. Not an error, and no respawn of its own.
        status();
        const clean = event.code === 0 && !event.signal;
        log(messages.exitedDuringHandOff(g.pid, g.generation, event.code, event.signal, checking()?.generation ?? s.spawning ?? s.lastGeneration), clean ? 'info' : 'warn');
        fx.push({ type: 'clearTimer', key: 'stable' });
        fx.push({ type: 'clearTimer', key: 'autoRestart' });
      } else if (g.role === 'current') {
        status();
        log(messages.diedUnexpectedly(g.pid, event.code, event.signal), 'error');
        fx.push({ type: 'clearTimer', key: 'stable' });
        fx.push({ type: 'clearTimer', key: 'autoRestart' });
        const quick = now - (g.acceptedAt ?? now) < stableAfterMs(config);
        s.failures = quick ? s.failures + 1 : 0;
        if (!busy() && !s.retryScheduled) {
          const delay = s.failures > 0 ? retryDelayMs(config, s.failures) : config.intervalMs;
          log(messages.respawnIn(delay));
          s.retryScheduled = true;
          fx.push({ type: 'setTimer', key: 'retry', ms: delay, event: { type: 'timer', timer: 'retry' } });
        }
      } else {
        status();
        log(messages.oldDied(g.pid, event.code, event.signal));
      }
      break;
    }

    case 'signal': {
      const sig = event.signal;
      if (sig === 'SIGHUP') {
        if (s.phase !== 'running') break;
        const chk = checking();
        if (busy()) {
          s.pendingRestart = true;
          log(messages.hupWhileChecking(chk?.generation ?? s.spawning ?? s.lastGeneration));
          break;
        }
        log(messages.receivedHup());
        if (s.retryScheduled) {
          s.retryScheduled = false;
          fx.push({ type: 'clearTimer', key: 'retry' });
        }
        startGeneration();
        break;
      }
      if (sig === 'SIGTERM' || sig === 'SIGINT' || sig === 'SIGQUIT') {
        const pids = s.gens.map((g) => g.pid);
        if (s.phase === 'stopping') {
          log(messages.stopAgain(sig, pids));
          if (pids.length) fx.push({ type: 'kill', pids, signal: config.signalOnTerm });
          break;
        }
        s.phase = 'stopping';
        s.pendingRestart = false;
        s.retryScheduled = false;
        for (const key of ['retry', 'killOld', 'stable', 'autoRestart', ...s.gens.map((g) => `check:${g.generation}`)]) {
          fx.push({ type: 'clearTimer', key });
        }
        log(messages.receivedStop(sig, config.signalOnTerm, pids));
        if (pids.length > 0) {
          fx.push({ type: 'kill', pids, signal: config.signalOnTerm });
          if (config.termTimeoutMs > 0) {
            fx.push({ type: 'setTimer', key: 'force', ms: config.termTimeoutMs, event: { type: 'timer', timer: 'force' } });
          }
        }
        finishIfDone();
        break;
      }
      log(messages.ignoredSignal(sig), 'warn');
      break;
    }
  }
  return { state: s, effects: fx };
}

/** The status file's content: accepted generations that are alive (current and old). */
export function statusLines(state: SupervisorState): StatusLine[] {
  return state.gens
    .filter((g) => g.role !== 'checking')
    .map((g) => ({ generation: g.generation, pid: g.pid }))
    .sort((a, b) => a.generation - b.generation);
}
