import { delay, withResolvers } from './_utils.js';

/**
 * Why: a fast stop waits for its jobs at most until the earliest deadline asked for (a second,
 * shorter TERM shortens it); a graceful stop has none. The wait ends with the worker's `signal`.
 */
export class Grace {
  /** When the grace runs out (performance.now()); Infinity until a fast stop asks for one. */
  #deadline = Infinity;
  /** The stop no longer waits on a grace (its jobs ended or were given back, or it never ran any). */
  #settled = false;
  readonly #over = withResolvers();

  constructor(private readonly signal: AbortSignal) {}

  /** Resolves when the grace runs out. */
  get over(): Promise<void> {
    return this.#over.promise;
  }

  /** A fast stop asks for `graceMs`: the grace ends then, unless an earlier deadline was asked for. */
  shorten(graceMs: number): void {
    const deadline = performance.now() + Math.max(0, graceMs);
    // (No timer once the grace no longer matters: none may outlive the stop.)
    if (deadline >= this.#deadline || this.#settled) return;
    this.#deadline = deadline;
    void delay(Math.max(0, graceMs), this.signal).then(this.#over.resolve);
  }

  /** The stop waits no more (its jobs ended or were given up). */
  settle(): void {
    this.#settled = true;
  }
}
