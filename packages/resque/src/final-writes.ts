import { createStopper } from './_utils.js';

/**
 * Why: a stop must end even when Redis is gone for good. Once no job handler runs any more, all
 * a stop still waits for is Redis taking its final writes (acknowledgements, give-backs, the
 * unregistration); they get `ms` in all from then. Past it, `giveUp` runs once (the worker drops
 * its connections, which rejects every write still pending) and `signal` aborts (retries end):
 * whatever was not written stays in Redis as it was, in the slots' in-flight lists, and is
 * recovered like a dead worker's jobs.
 */
export class FinalWrites {
  readonly #ac = createStopper();
  #timer: NodeJS.Timeout | undefined;
  #armed = false;

  constructor(
    private readonly ms: number,
    private readonly giveUp: () => void,
  ) {}

  /** Aborts when the stop gave up on Redis. */
  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  /** The stop gave up on Redis: writes that fail now are expected, not errors of the stop. */
  get gaveUp(): boolean {
    return this.#ac.signal.aborted;
  }

  /** No job handler runs any more: the deadline starts now (once; later calls change nothing). */
  arm(): void {
    if (this.#armed) return;
    this.#armed = true;
    this.#timer = setTimeout(() => {
      this.#ac.abort();
      this.giveUp();
    }, this.ms);
  }

  /** The stop is over: no deadline any more. */
  dispose(): void {
    clearTimeout(this.#timer);
  }
}
