import type { ControlReply } from '../control.js';
import type { Effect, LogLevel, MasterState } from './model.js';

/**
 * One reducer step: the state being built (a copy the role functions may change), the effects
 * asked for so far, the time of the event and a log line helper. Every role function takes it.
 */
export interface Ctx {
  readonly s: MasterState;
  readonly fx: Effect[];
  readonly now: number;
  /** A log line, with the structured fields JSON lines carry (none: the message alone). */
  log(message: string, level?: LogLevel, fields?: Record<string, unknown>): void;
}

/** Why: role functions change the step's own copy, never the state the caller still holds. */
export function createCtx(state: MasterState, now: number): Ctx {
  const s: MasterState = {
    ...state,
    workers: state.workers.map((w) => ({ ...w })),
    groups: state.groups.map((g) => ({ ...g })),
    predecessors: state.predecessors.map((p) => ({ ...p })),
    deaths: [...state.deaths],
    successors: [...state.successors],
    takeover: state.takeover && { ...state.takeover, retiredSlots: [...state.takeover.retiredSlots] },
  };
  const fx: Effect[] = [];
  return { s, fx, now, log: (message, level = 'info', fields) => fx.push(fields ? { type: 'log', level, message, fields } : { type: 'log', level, message }) };
}

/** Answers a control request, when the event came from one. */
export function answer(c: Ctx, id: number | undefined, reply: ControlReply): void {
  if (id !== undefined) c.fx.push({ type: 'reply', id, reply });
}
