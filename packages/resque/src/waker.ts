import type { Redis } from 'ioredis';

/**
 * Why: idle slots wait for jobs without polling Redis hard: our producers publish on the wake
 * channel and every waiting slot looks again at once; a wake-up that came while no slot was
 * waiting makes the next wait return at once. The worker's `signal` ends every wait (a stop).
 */
export class Waker {
  #waiters = new Set<() => void>();
  /** A wake-up came while no slot was waiting (it was mid-poll): the next wait returns at once. */
  #pending = false;
  #sub: Redis | undefined;

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.wake(), { once: true });
  }

  /** Subscribes a connection of its own (`connect()`) to `channel`: each message wakes the waiting slots. */
  async subscribe(connect: () => Redis, channel: string, onError: (err: Error) => void): Promise<void> {
    this.#sub = connect();
    this.#sub.on('error', onError);
    this.#sub.on('message', () => this.wake());
    await this.#sub.subscribe(channel);
  }

  /** Resolves after `ms`, or at the next wake-up, or at once when one is pending or the worker stopped. */
  wait(ms: number): Promise<void> {
    if (this.#pending || this.signal.aborted) {
      // The job that woke us may have been pushed after our last reserve looked: look again now
      // rather than after the poll interval (which, backed off, can be hundreds of ms).
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  /** Ends every wait now (a job was pushed, a resume, a stop). */
  wake(): void {
    if (this.#waiters.size === 0) this.#pending = true;
    for (const w of [...this.#waiters]) w();
  }

  /** Drops the subscription (again, harmlessly, if a stop already did). */
  close(): void {
    this.#sub?.disconnect();
  }
}
