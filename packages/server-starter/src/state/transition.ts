import type { SignalName } from '@baton/process-kit';
import { messages } from '../messages.js';
import { retryDelayMs, statusLines, type Effect, type Generation, type Step, type SupervisorConfig, type SupervisorState, type TimerEvent } from './model.js';

/**
 * One step of the reducer in the making: a copy of the state the handlers change, and the
 * effects they emit, in order. The helpers are the moves every handler shares.
 */
export class Transition {
  readonly s: SupervisorState;
  private readonly fx: Effect[] = [];

  constructor(
    state: SupervisorState,
    readonly config: SupervisorConfig,
    readonly now: number,
  ) {
    this.s = { ...state, gens: state.gens.map((g) => ({ ...g })) };
  }

  result(): Step {
    return { state: this.s, effects: this.fx };
  }

  log(message: string, level: 'info' | 'warn' | 'error' = 'info'): void {
    this.fx.push({ type: 'log', level, message });
  }

  /** Rewrites the status file (always before the log line that reports the change). */
  status(): void {
    this.fx.push({ type: 'writeStatus', lines: statusLines(this.s) });
  }

  setTimer(key: string, ms: number, event: TimerEvent): void {
    this.fx.push({ type: 'setTimer', key, ms, event });
  }

  clearTimer(key: string): void {
    this.fx.push({ type: 'clearTimer', key });
  }

  kill(pids: number[], signal: SignalName): void {
    this.fx.push({ type: 'kill', pids, signal });
  }

  find(pred: (g: Generation) => boolean): Generation | undefined {
    return this.s.gens.find(pred);
  }

  checking(): Generation | undefined {
    return this.find((g) => g.role === 'checking');
  }

  current(): Generation | undefined {
    return this.find((g) => g.role === 'current');
  }

  /** A generation is on its way (spawn out, or being checked). */
  busy(): boolean {
    return this.s.spawning !== undefined || this.checking() !== undefined;
  }

  startGeneration(): void {
    this.s.lastGeneration += 1;
    this.s.spawning = this.s.lastGeneration;
    this.fx.push({ type: 'spawn', generation: this.s.lastGeneration });
  }

  /** After a failed start: try again after the growing delay, saying who keeps serving. */
  scheduleRetry(): void {
    const delay = retryDelayMs(this.config, this.s.failures);
    const keep = this.current() ?? [...this.s.gens].reverse().find((g) => g.role === 'old');
    this.log(messages.retrying(delay, this.s.failures, keep), 'warn');
    this.s.retryScheduled = true;
    this.setTimer('retry', delay, { type: 'timer', timer: 'retry' });
  }

  /** Stopping and nothing left (nor on its way): exit 0. */
  finishIfDone(): void {
    if (this.s.phase === 'stopping' && this.s.gens.length === 0 && this.s.spawning === undefined) {
      this.clearTimer('force');
      this.log(messages.exiting());
      this.s.phase = 'done';
      this.fx.push({ type: 'exit', code: 0 });
    }
  }
}
