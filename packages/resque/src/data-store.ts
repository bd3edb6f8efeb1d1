import type { Redis } from 'ioredis';
import { createKeys, type Keys } from './keys.js';
import { encodeJob, parseJsonObject } from './payload.js';
import { runScript, type ScriptArg } from './scripts.js';
import { parseWorkerId } from './worker-id.js';
import { dateFromRedisTime, formatFailedAt, formatHeartbeat, formatRetriedAt, formatRunAt, formatStarted } from './time.js';

/** A reserved job's payload is its bytes as Redis holds them (payloads need not be valid UTF-8). */
export type ReserveResult = { kind: 'job'; queue: string; raw: Payload } | { kind: 'empty' } | { kind: 'paused' } | { kind: 'busy' };
/**
 * A reserved payload: its text when that is exactly its bytes (valid UTF-8, the usual case: no
 * Buffer per job on the hot path), else its bytes.
 */
export type Payload = string | Buffer;
/** A finished job to acknowledge: its payload bytes exactly as reserved, and its failure record if it failed. */
export type Ack = { raw: string | Buffer; failure: string | Buffer | undefined };
export type Reserved = { acked: boolean; next: ReserveResult };
/** A settle call's outcome: `acked` false when the slot's list was recovered meanwhile (nothing written); `jobs` reserved in run order. */
export type Settled = { acked: boolean; next: ReserveResult; jobs: Payload[] };
/**
 * What a lock renewal found: slots whose lock had lapsed (set again now), slots no longer
 * registered (recovered or pruned), and whether someone else held the locks since the last
 * renewal (`holdLocks`, a master keeping the leases of a live worker).
 */
export type Renewed = { lapsed: string[]; unregistered: string[]; heldByOther: boolean };

/**
 * Durability: after each enqueue, reserve, acknowledgement and give-back, `WAIT replicas
 * timeoutMs` on the same connection; `replicated(acked)` is told how many replicas had it (it
 * may throw: the call then rejects).
 */
export interface Replication {
  replicas: number;
  timeoutMs: number;
  replicated(acked: number): void;
  /**
   * After a shortfall, WAIT again (backing off 50 ms to 1 s) until the replicas have the write,
   * while this says so: the call does not return before then (a Worker holding a job's start).
   */
  insist?(): boolean;
}

/**
 * Why: the only module that issues Redis commands (STYLE lesson 13): Resque's plain-command
 * writes where Ruby reads them, Lua where atomicity is needed.
 */
export class DataStore {
  readonly keys: Keys;
  private readonly slotKeyCache = new Map<string, string[]>();
  constructor(
    readonly redis: Redis,
    namespace = 'resque',
    private readonly replication?: Replication,
  ) {
    this.keys = createKeys(namespace);
    if (replication) {
      // Only the close of a connection that was up: failed connection attempts carry no write.
      let up = redis.status === 'ready';
      redis.on('ready', () => (up = true));
      redis.on('close', () => {
        if (up) this.#connection++;
        up = false;
      });
    }
  }

  /** Counts closes of this client's connection: a WAIT only covers writes sent on the same connection. */
  #connection = 0;

  /** WAIT for the replicas after a write of this connection (durability); nothing without it. */
  private async replicate(sentOn: number): Promise<void> {
    const r = this.replication;
    if (!r) return;
    let acked = await this.#wait(r, sentOn);
    r.replicated(acked);
    // WAIT again covers the same writes (it waits for this connection's last write offset).
    for (let ms = 50; acked < r.replicas && r.insist?.(); ms = Math.min(1000, ms * 2)) {
      await new Promise((resolve) => setTimeout(resolve, Math.round(ms * (0.75 + Math.random() * 0.5))));
      acked = await this.#wait(r, sentOn);
      r.replicated(acked);
    }
  }

  /**
   * WAIT on the connection the write went out on. After a reconnection (a failover) a WAIT —
   * resent by ioredis or new — answers for a connection that made no write and proves nothing:
   * the write's fate is unknown, and the call fails (its caller retries, and finds out).
   */
  async #wait(r: Replication, sentOn: number): Promise<number> {
    const acked = Number(await this.redis.wait(r.replicas, r.timeoutMs));
    if (this.#connection !== sentOn) throw new Error('Connection changed (a reconnection, a failover) before WAIT confirmed the write: whether a replica has it is unknown');
    return acked;
  }

  // --- producer side (Resque: SADD queues + RPUSH, as one script: see lua/push-2.lua) ---

  async push(queue: string, raw: string | Buffer): Promise<void> {
    const sentOn = this.#connection;
    await runScript(this.redis, 'push', [this.keys.queues, this.keys.queue(queue)], [queue, raw, this.keys.wakeChannel]);
    await this.replicate(sentOn);
  }

  async pushJob(queue: string, className: string, args: readonly unknown[]): Promise<void> {
    await this.push(queue, encodeJob(className, args));
  }

  async queueNames(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.queues)).sort();
  }

  async queueSize(queue: string): Promise<number> {
    return await this.redis.llen(this.keys.queue(queue));
  }

  async peek(queue: string, start = 0, count = 1): Promise<string[]> {
    return await this.redis.lrange(this.keys.queue(queue), start, start + count - 1);
  }

  async removeQueue(queue: string): Promise<void> {
    await this.redis.multi().srem(this.keys.queues, queue).del(this.keys.queue(queue)).exec();
  }

  // --- failures (Resque's Failure::Redis) ---

  async failedCount(): Promise<number> {
    return await this.redis.llen(this.keys.failed);
  }

  async failed(start = 0, count = 100): Promise<string[]> {
    return await this.redis.lrange(this.keys.failed, start, start + count - 1);
  }

  /** Resque's requeue(i): mark the entry retried (it stays in the list) and enqueue `{class,args}` again. */
  async requeueFailed(index: number, now: Date): Promise<boolean> {
    return (await this.requeueFailedMany([index], now))[0]!;
  }

  /**
   * requeue(i) of each index, `FAILED_BATCH` entries per read (`failedAt`) and one
   * lua/retry-failed-1n.lua call: an entry is retried only if it is still the one read. Per index: true retried; false no entry there, not a record with a job class and a
   * queue, or another entry by the time of the write.
   */
  async requeueFailedMany(indices: readonly number[], now: Date): Promise<boolean[]> {
    const done: boolean[] = [];
    const retriedAt = formatRetriedAt(now);
    for (let at = 0; at < indices.length; at += FAILED_BATCH) {
      const chunk = indices.slice(at, at + FAILED_BATCH);
      const raws = await this.failedAt(chunk);
      const keys: string[] = [];
      const args: ScriptArg[] = [this.keys.prefix, this.keys.wakeChannel];
      const sent: number[] = [];
      chunk.forEach((index, k) => {
        const raw = raws[k];
        const item = typeof raw === 'string' ? parseRetriable(raw) : undefined;
        if (typeof raw !== 'string' || !item) return;
        item.retried_at = retriedAt;
        keys.push(this.keys.queue(item.queue));
        args.push(index, raw, JSON.stringify(item), item.queue, encodeJob(item.payload.class, item.payload.args ?? []));
        sent.push(k);
      });
      const results = chunk.map(() => false);
      if (sent.length > 0) {
        const sentOn = this.#connection;
        const res = (await runScript(this.redis, 'retryFailed', keys, args)) as number[];
        sent.forEach((k, j) => (results[k] = Number(res[j]) === 1));
        if (results.includes(true)) await this.replicate(sentOn);
      }
      done.push(...results);
    }
    return done;
  }

  /** The entries at `indices` (null: none there): one LRANGE over their span when they are close together (a filter's matches), else an LINDEX each, pipelined. */
  private async failedAt(indices: readonly number[]): Promise<Array<string | null>> {
    const lo = Math.min(...indices);
    const hi = Math.max(...indices);
    if (lo >= 0 && hi - lo < 4 * indices.length) {
      const span = await this.redis.lrange(this.keys.failed, lo, hi);
      return indices.map((i) => span[i - lo] ?? null);
    }
    return await Promise.all(indices.map((i) => this.redis.lindex(this.keys.failed, i)));
  }

  /** Resque's remove(i): LSET "" then LREM 1 "". */
  async removeFailed(index: number): Promise<void> {
    await this.redis.multi().lset(this.keys.failed, index, '').lrem(this.keys.failed, 1, '').exec();
  }

  /**
   * remove(i) of each index, highest first (the indices below stay valid), `FAILED_BATCH` per
   * MULTI: LSET "" of each, then one LREM of as many "".
   */
  async removeFailedMany(indices: readonly number[]): Promise<void> {
    const order = [...indices].sort((a, b) => b - a);
    for (let at = 0; at < order.length; at += FAILED_BATCH) {
      const chunk = order.slice(at, at + FAILED_BATCH);
      const m = this.redis.multi();
      for (const i of chunk) m.lset(this.keys.failed, i, '');
      await m.lrem(this.keys.failed, chunk.length, '').exec();
    }
  }

  async clearFailed(): Promise<void> {
    await this.redis.del(this.keys.failed);
  }

  // --- stats and workers (what resque-web shows) ---

  async stats(): Promise<{ processed: number; failed: number }> {
    const [p, f] = await this.redis.mget(this.keys.statProcessed, this.keys.statFailed);
    return { processed: Number(p ?? 0), failed: Number(f ?? 0) };
  }

  async workerIds(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.workers)).sort();
  }

  async workingOn(id: string): Promise<string | null> {
    return await this.redis.get(this.keys.worker(id));
  }

  async workerCount(): Promise<number> {
    return await this.redis.scard(this.keys.workers);
  }

  /** What resque-web shows of each worker (its job, start, heartbeat, counters), in one round trip for a page of ids. */
  async workerDetails(ids: readonly string[]): Promise<Array<{ id: string; workingOn: string | null; started: string | null; heartbeat: string | null; processed: number; failed: number }>> {
    if (ids.length === 0) return [];
    const m = this.redis.multi();
    for (const id of ids) m.get(this.keys.worker(id)).get(this.keys.workerStarted(id)).hget(this.keys.heartbeat, id).get(this.keys.statProcessedOf(id)).get(this.keys.statFailedOf(id));
    const res = (await m.exec()) ?? [];
    const at = (i: number) => (res[i]?.[1] ?? null) as string | null;
    return ids.map((id, n) => ({ id, workingOn: at(5 * n), started: at(5 * n + 1), heartbeat: at(5 * n + 2), processed: Number(at(5 * n + 3) ?? 0), failed: Number(at(5 * n + 4) ?? 0) }));
  }

  async setPauseAll(paused: boolean): Promise<void> {
    if (paused) await this.redis.set(this.keys.pauseAll, 'true');
    else await this.redis.del(this.keys.pauseAll);
  }

  async isPausedAll(): Promise<boolean> {
    return (await this.redis.get(this.keys.pauseAll))?.trim().toLowerCase() === 'true';
  }

  // --- worker side ---

  async serverTime(): Promise<Date> {
    return dateFromRedisTime((await this.redis.time()) as unknown as [string, string]);
  }

  /**
   * Resque's heartbeat! + register_worker for slots `ids`, plus our owner locks and id set, in
   * one script (lua/register-1n.lua): a write Redis refuses fails with its own error
   * (NOREPLICAS, READONLY), nothing half-written.
   */
  async registerWorkers(ids: readonly string[], lockTtlMs: number): Promise<void> {
    if (ids.length === 0) return;
    await runScript(this.redis, 'register', ids.map((id) => this.keys.ownerLock(id)), [this.keys.prefix, Math.ceil(lockTtlMs), formatStarted(new Date()), ids]);
  }

  async registerWorker(id: string, lockTtlMs: number): Promise<void> {
    await this.registerWorkers([id], lockTtlMs);
  }

  /**
   * Renews the owner locks (and, when due, Resque heartbeats) of a process's slots, in one script
   * (lua/renew-1n.lua). A slot whose lock had expired or whose registration is gone must register
   * again; only one whose registration is gone has lost its jobs (recovery removes both in one script).
   */
  async renew(ids: readonly string[], lockTtlMs: number, heartbeat: boolean): Promise<Renewed> {
    if (ids.length === 0) return { lapsed: [], unregistered: [], heldByOther: false };
    const res = (await runScript(this.redis, 'renew', ids.map((id) => this.keys.ownerLock(id)), [this.keys.prefix, Math.ceil(lockTtlMs), heartbeat ? '1' : '', ids])) as unknown[];
    // Unregistered: recovered, pruned, or Redis restarted empty.
    return {
      lapsed: ids.filter((_, i) => res[2 * i] === null),
      unregistered: ids.filter((_, i) => res[2 * i + 1] === 0),
      heldByOther: ids.some((id, i) => typeof res[2 * i] === 'string' && res[2 * i] !== id),
    };
  }

  /**
   * Extends the owner locks of `ids` that still exist to at least `lockTtlMs` and refreshes their
   * Resque heartbeats; never sets a lock that is gone. Returns the ids whose lock was gone.
   */
  async holdLocks(ids: readonly string[], lockTtlMs: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const now = formatHeartbeat(await this.serverTime());
    const res = await runScript(this.redis, 'hold', ids.map((id) => this.keys.ownerLock(id)), [this.keys.prefix, Math.ceil(lockTtlMs), now, ids]);
    return (res as unknown[]).map(String);
  }

  /** Fails the job with sha1 `jobId` that slot `id` holds (see lua/fail-inflight-3.lua); false when the slot does not hold it. */
  async failInflight(id: string, jobId: string, failure: { exception: string; error: string }, now: Date): Promise<boolean> {
    const res = await runScript(this.redis, 'failInflight', this.slotKeys(id), [
      this.keys.prefix,
      id,
      jobId.toLowerCase(),
      JSON.stringify(failure.exception),
      JSON.stringify(failure.error),
      JSON.stringify(formatFailedAt(now)),
      JSON.stringify(id),
    ]);
    return res === 1;
  }

  /** Resque's unregister_worker for slots that hold no job, in one script (lua/unregister-1n.lua). */
  async unregisterWorkers(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await runScript(this.redis, 'unregister', ids.map((id) => this.keys.ownerLock(id)), [this.keys.prefix, ids]);
  }

  /**
   * Acknowledges `ack` (if given) and reserves the slot's next job from `queues` (none: only
   * acknowledge), in one round trip. `acked` is false when the acknowledged job was no longer
   * this slot's (recovered while the worker was frozen): then nothing was written or reserved.
   * `lockTtlMs` undefined leaves the owner lock alone (the caller renewed it recently).
   */
  async reserve(id: string, queues: readonly string[], lockTtlMs: number | undefined, ack?: Ack): Promise<Reserved> {
    const sentOn = this.#connection;
    const res = (await runScript(this.redis, 'reserve', this.ownSlotKeys(id), [
      this.keys.prefix,
      runAtNow(),
      lockTtlMs ?? '',
      queues.length,
      queues,
      id,
      ack?.raw ?? '',
      ack?.failure ?? '',
    ])) as unknown[];
    await this.replicate(sentOn);
    const r = parseReserved(res[0], res[1], res[2]);
    if (r.next.kind === 'job') r.next = { ...r.next, raw: (await this.exactPayloads(id, [r.next.raw]))[0]! };
    return r;
  }

  /** `reserve` for several slots of this process in one round trip (and one script run); queue order is slot order. */
  async reserveMany(slots: ReadonlyArray<{ id: string; ack: Ack | undefined }>, queues: readonly string[], lockTtlMs: number | undefined): Promise<Reserved[]> {
    const keys: string[] = [];
    const args: ScriptArg[] = [this.keys.prefix, runAtNow(), lockTtlMs ?? '', queues.length, queues];
    for (const s of slots) {
      const k = this.ownSlotKeys(s.id);
      keys.push(k[0]!, k[1]!, k[2]!);
      args.push(s.id, s.ack?.raw ?? '', s.ack?.failure ?? '');
    }
    const sentOn = this.#connection;
    const res = (await runScript(this.redis, 'reserveMany', keys, args)) as unknown[];
    await this.replicate(sentOn);
    return await Promise.all(
      slots.map(async (s, i) => {
        const r = parseReserved(res[3 * i], res[3 * i + 1], res[3 * i + 2]);
        if (r.next.kind === 'job') r.next = { ...r.next, raw: (await this.exactPayloads(s.id, [r.next.raw]))[0]! };
        return r;
      }),
    );
  }

  /**
   * For a slot that holds several jobs (prefetch): acknowledge the first `acks.length` of the
   * `held` jobs, keep the next `keep`, give the rest back to the head of their queues, and, if the
   * list is then empty, reserve up to `want` jobs from `queues` (see lua/settle-3.lua).
   */
  async settle(
    id: string,
    queues: readonly string[],
    lockTtlMs: number | undefined,
    o: { held: number; acks: readonly Ack[]; keep: number; want: number },
  ): Promise<Settled> {
    const args: ScriptArg[] = [this.keys.prefix, runAtNow(), lockTtlMs ?? '', queues.length, queues, id, o.held, o.acks.length];
    for (const a of o.acks) args.push(a.raw, a.failure ?? '');
    args.push(o.keep, o.want);
    const sentOn = this.#connection;
    const res = (await runScript(this.redis, 'settle', this.ownSlotKeys(id), args)) as unknown[];
    await this.replicate(sentOn);
    // The same {ack, next, payload…} shape as the one-job script's reply, with every payload.
    const r = parseReserved(res[0], res[1], res[2]);
    if (r.next.kind !== 'job') return { ...r, jobs: [] };
    const jobs = await this.exactPayloads(id, res.slice(2) as string[]);
    return { acked: r.acked, next: { ...r.next, raw: jobs[0]! }, jobs };
  }

  /**
   * Script replies are read as text, which turns bytes that are not valid UTF-8 into U+FFFD.
   * Only a payload that reads U+FFFD can be such a one: those are read again, as bytes, from
   * the slot's in-flight list, where the script has just appended the batch (`queue, payload`
   * pairs, in order), so every payload is acknowledged and given back byte for byte.
   */
  private async exactPayloads(id: string, texts: readonly Payload[]): Promise<Payload[]> {
    if (!texts.some((t) => typeof t === 'string' && t.includes('\uFFFD'))) return [...texts];
    const pairs = await this.redis.lrangeBuffer(this.ownSlotKeys(id)[0]!, -2 * texts.length, -1);
    return texts.map((t, i) => {
      const bytes = pairs.length === 2 * texts.length ? pairs[2 * i + 1] : undefined;
      // Recovered meanwhile (the list changed): the text is all there is; its ack will fail.
      if (typeof t !== 'string' || !t.includes('\uFFFD') || !bytes) return t;
      return bytes.equals(Buffer.from(t)) ? t : bytes;
    });
  }

  async requeue(id: string, raw: string | Buffer): Promise<boolean> {
    const sentOn = this.#connection;
    const res = await runScript(this.redis, 'requeue', this.slotKeys(id), [this.keys.prefix, raw]);
    await this.replicate(sentOn);
    return res === 1;
  }

  /** Recovers a dead slot; `undefined` when its owner lock is still held (and `force` is false). */
  async recover(id: string, force: boolean, maxRecoveries: number): Promise<{ requeued: number; failed: number } | undefined> {
    const sentOn = this.#connection;
    const res = await runScript(this.redis, 'recover', this.slotKeys(id), [this.keys.prefix, id, force ? '1' : '0', maxRecoveries, formatFailedAt(new Date())]);
    if (!Array.isArray(res)) return undefined;
    await this.replicate(sentOn);
    return { requeued: Number(res[0]), failed: Number(res[1]) };
  }

  /** The ids of every slot of the process behind `id` (`host:pid:q` and `host:pid+N:q`). */
  async slotIdsOf(id: string): Promise<string[]> {
    const me = parseWorkerId(id);
    if (!me) return [id];
    const ids = new Set([id]);
    for (const other of await this.redis.smembers(this.keys.batonWorkers)) {
      const o = parseWorkerId(other);
      if (o && o.host === me.host && o.queues.join(',') === me.queues.join(',') && o.pid.split('+')[0] === me.pid) ids.add(other);
    }
    return [...ids];
  }

  /** Baton worker ids whose owner lock is gone (their process is dead or frozen). */
  async deadBatonWorkers(exclude: ReadonlySet<string>): Promise<string[]> {
    const ids = (await this.redis.smembers(this.keys.batonWorkers)).filter((id) => !exclude.has(id));
    if (ids.length === 0) return [];
    const m = this.redis.multi();
    for (const id of ids) m.exists(this.keys.ownerLock(id));
    const res = (await m.exec()) ?? [];
    return ids.filter((_, i) => res[i]?.[1] === 0);
  }


  private slotKeys(id: string): string[] {
    return [this.keys.inflight(id), this.keys.worker(id), this.keys.ownerLock(id)];
  }

  /** The slot keys of this process's own workers, built once (reserve is the hot path). */
  private ownSlotKeys(id: string): string[] {
    let keys = this.slotKeyCache.get(id);
    if (!keys) this.slotKeyCache.set(id, (keys = this.slotKeys(id)));
    return keys;
  }
}

/** Entries a bulk action on the failed list reads or writes per round trip. */
const FAILED_BATCH = 500;

/** A failure record that requeue(i) can enqueue again (Resque's needs a job class and a queue); undefined otherwise. */
function parseRetriable(raw: string): ({ queue: string; payload: { class: string; args?: unknown[] } } & Record<string, unknown>) | undefined {
  const v = parseJsonObject(raw);
  if (!v) return undefined;
  const r = v as { queue?: unknown; payload?: { class?: unknown } };
  if (typeof r.queue !== 'string' || r.queue === '' || typeof r.payload !== 'object' || r.payload === null || typeof r.payload.class !== 'string') return undefined;
  return v as { queue: string; payload: { class: string; args?: unknown[] } } & Record<string, unknown>;
}

// run_at has whole seconds: format it once per second, not once per job (hot path).
let runAtCache = { second: -1, text: '' };
function runAtNow(): string {
  const ms = Date.now();
  const second = Math.floor(ms / 1000);
  if (second !== runAtCache.second) runAtCache = { second, text: formatRunAt(new Date(second * 1000)) };
  return runAtCache.text;
}

export const EMPTY: ReserveResult = Object.freeze({ kind: 'empty' });
const PAUSED: ReserveResult = Object.freeze({ kind: 'paused' });
const BUSY: ReserveResult = Object.freeze({ kind: 'busy' });

/** One slot's three entries of the reserve script's reply (see its header). */
function parseReserved(ack: unknown, next: unknown, payload: unknown): Reserved {
  if (ack === -1) return { acked: false, next: EMPTY };
  if (typeof next === 'string') return { acked: true, next: { kind: 'job', queue: next, raw: payload as string } };
  return { acked: true, next: next === -1 ? PAUSED : next === -2 ? BUSY : EMPTY };
}

