import type { Redis } from 'ioredis';
import { decodeDelayed, type DelayedJob } from './delayed.js';
import type { Replication } from './data-store.js';
import { createKeys, type Keys } from './keys.js';
import { runScript } from './scripts.js';
import { formatFailedAt } from './time.js';

/** What one mover call did (lua/move-2.lua). */
export interface Moved {
  /** Jobs moved; -1 when the caller's lock token is not the lock's (nothing moved). */
  moved: number;
  /** Due jobs are left (the call's limit was reached). */
  more: boolean;
  /** Epoch ms the earliest job left is due; undefined when none is left. */
  next: number | undefined;
  /** Redis TIME, epoch ms. */
  now: number;
}

/**
 * Why: every Redis command of the delayed queue, the scheduler lock and recurring ticks, in
 * resque-scheduler's layout (SCHEDULER.md); the scheduler and Queue's delayed API call only this.
 */
export class DelayedStore {
  readonly keys: Keys;
  constructor(
    readonly redis: Redis,
    namespace = 'resque',
    private readonly replication?: Replication,
  ) {
    this.keys = createKeys(namespace);
  }

  /** WAIT for the replicas after a producer's write (a Queue's durability); nothing without it. */
  private async replicate(): Promise<void> {
    const r = this.replication;
    if (r) r.replicated(Number(await this.redis.wait(r.replicas, r.timeoutMs)));
  }

  /** resque-scheduler's delayed_push of `item` due at `ms` (lua/delay-1.lua). */
  async push(ms: number, item: string): Promise<void> {
    await runScript(this.redis, 'delay', [this.keys.delayedSchedule], [this.keys.prefix, ms, item]);
    await this.replicate();
  }

  /** Moves up to `limit` due jobs to their queues, if `token` holds the lock ('' : without it). */
  async moveDue(token: string, limit: number): Promise<Moved> {
    const res = (await runScript(this.redis, 'move', [this.keys.schedulerLock, this.keys.delayedSchedule], [
      this.keys.prefix,
      token,
      limit,
      formatFailedAt(new Date()),
    ])) as [number, number, string, string];
    const next = Number(res[2]);
    return { moved: Number(res[0]), more: res[1] === 1, next: next < 0 ? undefined : next, now: Number(res[3]) };
  }

  /** resque-scheduler's remove_delayed_job: every copy of `item`; how many were removed. */
  async remove(item: string): Promise<number> {
    const n = Number(await runScript(this.redis, 'removeDelayed', [this.keys.timestamps(item)], [this.keys.prefix, item]));
    await this.replicate();
    return n;
  }

  /**
   * The scheduler lock: `acquire` (or extend, if ours), `renew` (only if ours), `release` (only
   * if ours; publishes 'released'). 1: done; 0: not ours; an acquire that failed returns -1 - the
   * lock's remaining TTL in ms.
   */
  async lock(op: 'acquire' | 'renew' | 'release', token: string, ttlMs: number): Promise<number> {
    return Number(await runScript(this.redis, 'lock', [this.keys.schedulerLock], [op, token, Math.ceil(ttlMs), this.keys.schedulerChannel]));
  }

  /**
   * The due ticks of one recurring job (lua/tick-2n.lua), oldest first: returns the ticks it
   * enqueued (none: already enqueued, older than the last, or a name seen for the first time),
   * or -1 when the caller does not hold the lock.
   */
  async tick(token: string, name: string, ticks: readonly number[], keyTtlMs: number, queue: string, job: string): Promise<number[] | -1> {
    const res = await runScript(
      this.redis,
      'tick',
      [this.keys.schedulerLock, this.keys.scheduleLast, ...ticks.map((t) => this.keys.scheduleTick(name, t))],
      [this.keys.prefix, token, name, Math.ceil(keyTtlMs), queue, job, ticks],
    );
    return Array.isArray(res) ? res.map(Number) : -1;
  }

  /** The seconds that hold delayed jobs, soonest first. */
  async seconds(): Promise<string[]> {
    return await this.redis.zrange(this.keys.delayedSchedule, 0, -1);
  }

  /** resque-scheduler's delayed_queue_schedule_size: every job of every second (LLENs in Lua, a slice of seconds per call). */
  async count(): Promise<number> {
    let total = 0;
    await this.countSlices('total', (res) => {
      total += Number(res[1]);
    });
    return total;
  }

  /** Delayed jobs soonest first (by second, then by millisecond within one), from `start`, at most `count`. */
  async list(start: number, count: number): Promise<DelayedJob[]> {
    const out: DelayedJob[] = [];
    let cursor = '-inf';
    let skip = Math.max(0, Math.floor(start));
    while (out.length < count) {
      // lua/delayed-list-1.lua: whole seconds past the skip, until `count` jobs are in.
      const res = (await runScript(this.redis, 'delayedList', [this.keys.delayedSchedule], [
        this.keys.prefix,
        cursor,
        skip,
        count - out.length,
        LIST_SECONDS_PER_CALL,
      ])) as [string, number, ...Array<string | string[]>];
      skip = Number(res[1]);
      for (let i = 2; i + 2 < res.length && out.length < count; i += 3) {
        const s = res[i] as string;
        const jobs = decodeSecond(s, res[i + 1] as string[], res[i + 2] as string[]);
        if (skip >= jobs.length) {
          skip -= jobs.length;
          continue;
        }
        out.push(...jobs.slice(skip, skip + count - out.length));
        skip = 0;
      }
      if (res[0] === '') break;
      cursor = res[0];
    }
    return out;
  }

  /** Queue name → delayed jobs bound for it (every job decoded in Lua, a slice of seconds per call; '' : no queue or no job). */
  async countsByQueue(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    await this.countSlices('queues', (res) => {
      for (let i = 2; i + 1 < res.length; i += 2) counts[String(res[i])] = (counts[String(res[i])] ?? 0) + Number(res[i + 1]);
    });
    return counts;
  }

  /** Why: lua/delayed-count-1.lua over the whole schedule, one bounded slice per call (Redis is never held for long). */
  private async countSlices(mode: 'total' | 'queues', each: (res: Array<string | number>) => void): Promise<void> {
    let cursor = '-inf';
    for (;;) {
      const res = (await runScript(this.redis, 'delayedCount', [this.keys.delayedSchedule], [
        this.keys.prefix,
        cursor,
        COUNT_WORK_PER_CALL,
        mode,
      ])) as Array<string | number>;
      each(res);
      if (res[0] === '') return;
      cursor = String(res[0]);
    }
  }
}

// --- internal ---

/**
 * One delayed-count call stops once it has read about this many seconds (an LLEN each), or
 * seconds plus jobs decoded (a cjson.decode each) for the counts by queue: a few µs apiece, so
 * one call holds Redis for milliseconds (10–20 ms seen at load 15 on 2 cores), never for the
 * whole schedule.
 */
const COUNT_WORK_PER_CALL = 2_000;
/** One delayed-list call looks at this many seconds at most. */
const LIST_SECONDS_PER_CALL = 2_000;

/** One second's jobs, sorted by their due ms (the second's start for a job without one). */
function decodeSecond(s: string, items: string[], at: string[]): DelayedJob[] {
  const ms = new Map<string, number>();
  for (let i = 0; i < at.length; i += 2) ms.set(at[i]!, Number(at[i + 1]));
  return items
    .map((raw) => decodeDelayed(raw, ms.get(raw) ?? Number(s) * 1000) ?? { at: new Date(Number(s) * 1000), queue: undefined, class: '', args: [], raw })
    .sort((a, b) => a.at.getTime() - b.at.getTime());
}
