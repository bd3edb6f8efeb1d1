import type { WorkerLogger } from './job.js';

/**
 * What kind of Redis trouble a worker is in:
 * - `connection`: Redis is unreachable (refused, reset, closed, Sentinel has no master yet);
 * - `write-refused`: Redis answers but refuses writes (NOREPLICAS under min-replicas-to-write,
 *   READONLY/MASTERDOWN on a demoted primary, OOM, MISCONF);
 * - `busy`: a slot's reserve keeps finding jobs it does not know of;
 * - `replication`: a durability WAIT was answered by fewer replicas than asked;
 * - `redis-error`: any other error of a command or script.
 */
export type RedisCondition = 'connection' | 'write-refused' | 'busy' | 'replication' | 'redis-error';

/** The `redis` event: a condition started (`down`) or ended (`up`, with how long it lasted and how many errors it saw). */
export interface RedisTrouble {
  state: 'down' | 'up';
  condition: RedisCondition;
  /** The first error's message (down), or what ended (up). */
  message: string;
  /** up: milliseconds since the condition started. */
  ms: number;
  /** up: errors seen while it lasted. */
  attempts: number;
}

const WRITE_REFUSED = /^(NOREPLICAS|EXECABORT|READONLY|MASTERDOWN|OOM|MISCONF|LOADING|NOTBUSY|BUSY|CLUSTERDOWN|TRYAGAIN)\b/;
const CONNECTION = /Connection changed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection is closed|Stream isn't writeable|sentinel|All sentinels|connect ETIMEDOUT|Failed to refresh slots cache|None of startup nodes/i;

/** Why: one word for what an error means to a worker, so it is logged once per condition, not once per attempt. */
export function classifyRedisError(err: unknown): RedisCondition {
  const m = (err as Error)?.message ?? String(err);
  if (WRITE_REFUSED.test(m)) return 'write-refused';
  if (CONNECTION.test(m)) return 'connection';
  return 'redis-error';
}

const DESCRIBE: Record<RedisCondition, string> = {
  connection: 'cannot reach Redis',
  'write-refused': 'Redis refuses writes',
  busy: 'a slot keeps finding jobs it does not know of in its in-flight list',
  replication: 'fewer replicas than asked acknowledged writes (durability)',
  'redis-error': 'Redis commands fail',
};

/**
 * Why: a Redis outage or a refusal to write lasts seconds and produces an error per attempt;
 * the log gets one line when a condition starts and one, with its length, when it ends (and
 * the `redis` event both), never one per attempt.
 */
export class Trouble {
  readonly #active = new Map<RedisCondition, { since: number; attempts: number }>();
  /** performance.now() of the last time any condition started or ended; -Infinity: never. */
  #lastChange = -Infinity;

  /** `label` starts each line (default `worker <id>`). */
  constructor(private readonly o: { id: string; label?: string; log: WorkerLogger; emit: (t: RedisTrouble) => void; now?: () => number }) {}

  get #label(): string {
    return this.o.label ?? `worker ${this.o.id}`;
  }

  /** An error (or a condition) was seen; true when it starts a condition (the caller may then tell its listeners). */
  report(condition: RedisCondition, message: string): boolean {
    const now = this.#now();
    const a = this.#active.get(condition);
    if (a) {
      a.attempts++;
      this.o.log.debug(`redis (${condition}): ${message}`);
      return false;
    }
    this.#active.set(condition, { since: now, attempts: 1 });
    if (condition !== 'replication') this.#lastChange = now;
    this.o.log.warn(`${this.#label}: ${DESCRIBE[condition]} (${message}); retrying with backoff, logged again when it ends`);
    this.o.emit({ state: 'down', condition, message, ms: 0, attempts: 1 });
    return true;
  }

  /** A Redis call succeeded: every active condition (but `keep`, and `replication`, which only `clear` ends) has ended. */
  ok(keep?: RedisCondition): void {
    if (this.#active.size === 0) return;
    for (const condition of [...this.#active.keys()]) {
      if (condition !== keep && condition !== 'replication') this.clear(condition);
    }
  }

  /** `condition` has ended (if it was active). */
  clear(condition: RedisCondition): void {
    const a = this.#active.get(condition);
    if (!a) return;
    const now = this.#now();
    this.#active.delete(condition);
    if (condition !== 'replication') this.#lastChange = now;
    const ms = Math.round(now - a.since);
    this.o.log.info(`${this.#label}: recovered after ${ms} ms: ${DESCRIBE[condition]} no more (${a.attempts} error(s) meanwhile)`);
    this.o.emit({ state: 'up', condition, message: `recovered after ${ms} ms`, ms, attempts: a.attempts });
  }

  /** Whether `condition` (any, when undefined) is active now. */
  active(condition?: RedisCondition): boolean {
    return condition ? this.#active.has(condition) : this.#active.size > 0;
  }

  /**
   * Milliseconds since a condition of the connection last started or ended (Infinity: never);
   * 0 while one lasts. A replication shortfall does not count: writes still land on the primary.
   */
  quietFor(): number {
    for (const c of this.#active.keys()) if (c !== 'replication') return 0;
    return this.#now() - this.#lastChange;
  }

  /** Something disturbed the connection (a reconnect): counts as a change for `quietFor`. */
  touch(): void {
    this.#lastChange = this.#now();
  }

  #now(): number {
    return this.o.now ? this.o.now() : performance.now();
  }
}

/**
 * Why: every retry path waits longer each time (no hot loop on a refusing Redis): `min` doubling
 * to `max`, each delay drawn with ±25 % jitter so a fleet does not retry in lockstep.
 */
export class Backoff {
  #ms = 0;
  #attempts = 0;
  constructor(
    private readonly min = 50,
    private readonly max = 1000,
  ) {}

  /** The next delay (ms). */
  next(): number {
    this.#attempts++;
    this.#ms = this.#ms === 0 ? this.min : Math.min(this.max, this.#ms * 2);
    return Math.round(this.#ms * (0.75 + Math.random() * 0.5));
  }

  /** Consecutive failures since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  reset(): void {
    this.#ms = 0;
    this.#attempts = 0;
  }
}
