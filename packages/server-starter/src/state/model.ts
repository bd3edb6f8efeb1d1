import type { SignalName, StatusLine } from '@baton/process-kit';

// start-server's state, events and effects: what the reducer (state.ts) reads and returns.

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

/** The status file's content: accepted generations that are alive (current and old). */
export function statusLines(state: SupervisorState): StatusLine[] {
  return state.gens
    .filter((g) => g.role !== 'checking')
    .map((g) => ({ generation: g.generation, pid: g.pid }))
    .sort((a, b) => a.generation - b.generation);
}
