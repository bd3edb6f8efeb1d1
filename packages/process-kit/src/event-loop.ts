// A supervisor's one serial loop (STYLE lesson 3, unicorn's `join`): signal handlers, child
// exits and messages, and timers only push events; the loop feeds them one at a time to a pure
// reducer and executes the effects it returns. Until it is opened, every event waits.

export interface EventLoopOptions<S, E, F> {
  /** The state before the first event (`open` may replace it). */
  initial: S;
  /** Pure: the next state and the effects to execute, in order. */
  reduce(state: S, event: E, now: number): { state: S; effects: F[] };
  /** Executes one effect; may push events (they run after the current step's effects). */
  execute(effect: F): void;
  /** The clock handed to `reduce`; default `Date.now`. */
  now?: () => number;
  /**
   * Called when `execute` throws; the loop goes on with the next effect. Without it the first
   * such error is rethrown to whoever pushed the event, once the queue is drained.
   */
  onEffectError?(effect: F, error: unknown): void;
}

export interface EventLoop<S, E> {
  /** The state after the last step (already updated while that step's effects execute). */
  readonly state: S;
  readonly isOpen: boolean;
  /** Queues an event; once open, runs it (and anything it queues) now unless a step is running. */
  push(event: E): void;
  /** Removes and returns the first queued event matching `pred` (only useful before `open`). */
  take(pred: (event: E) => boolean): E | undefined;
  /** Opens the loop: `first` runs ahead of everything queued so far; `initial` replaces the state first. */
  open(first: E, initial?: S): void;
}

/**
 * Why: an event that reached the reducer before the supervisor was running used to be dropped
 * (a TERM during start-up; an old master's `oldGone` while others were still being linked), and
 * both supervisors had their own copy of the queue, the drain and the effect loop.
 */
export function createEventLoop<S, E, F>(o: EventLoopOptions<S, E, F>): EventLoop<S, E> {
  const queue: E[] = [];
  const now = o.now ?? Date.now;
  let state = o.initial;
  let opened = false;
  let draining = false;

  const step = (event: E, failures: unknown[]) => {
    const next = o.reduce(state, event, now());
    state = next.state;
    for (const effect of next.effects) {
      try {
        o.execute(effect);
      } catch (err) {
        if (o.onEffectError) o.onEffectError(effect, err);
        else failures.push(err);
      }
    }
  };

  const drain = () => {
    if (draining) return;
    draining = true;
    const failures: unknown[] = [];
    try {
      while (queue.length > 0) step(queue.shift()!, failures);
    } finally {
      draining = false;
    }
    if (failures.length > 0) throw failures[0];
  };

  return {
    get state() {
      return state;
    },
    get isOpen() {
      return opened;
    },
    push(event) {
      queue.push(event);
      if (opened) drain();
    },
    take(pred) {
      const i = queue.findIndex(pred);
      return i < 0 ? undefined : queue.splice(i, 1)[0];
    },
    open(first, initial) {
      if (opened) throw new Error('the event loop is already open');
      if (initial !== undefined) state = initial;
      queue.unshift(first);
      opened = true;
      drain();
    },
  };
}
