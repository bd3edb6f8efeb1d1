import { isClusterInput, RedisInputError } from './connect-options.js';

/**
 * `durability` of `Worker` and `Queue`: after each enqueue, reserve and acknowledgement, wait
 * until `replicas` replicas have the write (Redis `WAIT`), so a failover that promotes one of
 * them loses none of it. Costs a replica round trip per call (see the README's measurements).
 */
export interface DurabilityOptions {
  /** Replicas that must acknowledge each write (1 or more). */
  replicas: number;
  /** How long to wait for them, in ms; default 1000. */
  timeoutMs?: number;
  /**
   * Fewer replicas acknowledged in time. Queue: `'error'` (the default) rejects the enqueue with
   * a `DurabilityError` (the job *is* in Redis, on the primary only: retrying may enqueue it
   * twice); `'warn'` resolves. Worker (a reserve or acknowledgement made cannot be taken back):
   * `'warn'` (the default) carries on; `'error'` WAITs again until the replicas have it before
   * the job starts or its acknowledgement counts. Either way the Worker says so once per
   * shortfall, with the `redis` event (`replication`).
   */
  onShortfall?: 'error' | 'warn';
}

export interface ResolvedDurability {
  replicas: number;
  timeoutMs: number;
  onShortfall: 'error' | 'warn';
}

/** A write that fewer replicas than asked acknowledged within the timeout (`durability`). */
export class DurabilityError extends Error {
  readonly code = 'E_DURABILITY';
  constructor(
    readonly acknowledged: number,
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {
    super(`only ${acknowledged} of ${replicas} replica(s) acknowledged the write within ${timeoutMs} ms (durability); it is on the primary and may be lost in a failover`);
    this.name = 'DurabilityError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Why: a durability setting that cannot work (a bad number, Redis Cluster) fails at construction with one clear line. */
export function resolveDurability(d: DurabilityOptions | undefined, redis: unknown, fallback: 'error' | 'warn'): ResolvedDurability | undefined {
  if (d === undefined) return undefined;
  if (typeof d !== 'object' || d === null) throw new RedisInputError(`Expected \`durability\` to be { replicas, timeoutMs?, onShortfall? }, got \`${String(d)}\``);
  if (!Number.isInteger(d.replicas) || d.replicas < 1) throw new RedisInputError(`Expected \`durability.replicas\` to be a positive integer, got \`${String(d.replicas)}\``);
  const timeoutMs = d.timeoutMs ?? 1000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RedisInputError(`Expected \`durability.timeoutMs\` to be a positive integer (ms), got \`${String(d.timeoutMs)}\``);
  if (d.onShortfall !== undefined && d.onShortfall !== 'error' && d.onShortfall !== 'warn') {
    throw new RedisInputError(`Expected \`durability.onShortfall\` to be 'error' or 'warn', got \`${String(d.onShortfall)}\``);
  }
  if (isClusterInput(redis)) {
    throw new RedisInputError(
      '`durability` does not work with Redis Cluster here: WAIT must go to the shard that took the write, and a Cluster connection sends it to any node; use Sentinel or a replicated primary, or drop `durability`',
    );
  }
  return { replicas: d.replicas, timeoutMs, onShortfall: d.onShortfall ?? fallback };
}
