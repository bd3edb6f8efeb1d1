import { EMPTY, type Ack, type Payload, type Reserved, type Settled } from './data-store.js';
import type { AbortJobError, Context, Failure, InFlightJob, ReservedJob } from './job.js';
import { noop } from './_utils.js';

/** A job the slot holds in its inflight list: its queue and its payload as reserved. */
export interface Held {
  queue: string;
  raw: Payload;
}

/** One running job: its public view (built once, emitted as is), its context, and how it is being stopped. */
export interface Running {
  readonly pub: ReservedJob;
  /** Undefined for a payload that does not decode (no handler runs). */
  readonly ctx: Context | undefined;
  /** A fast stop or a lapsed lease aborted it: what its handler throws then is not the job's failure. */
  readonly interrupted: boolean;
  /** A stop's grace ran out: the job went back to its queue and its late outcome is dropped. */
  readonly abandoned: boolean;
  /** The handler is done; the job waits for its acknowledgement (it stays the slot's job until then). */
  readonly finished: boolean;
}

/** A job that ran and waits for its acknowledgement (sent with the slot's next call). */
export interface Finished {
  ack: Ack;
  job: InFlightJob;
  failure: Failure | undefined;
  result: unknown;
  /** The failed attempt went to the delayed queue (its `retry` options): when it runs again. */
  retryAt?: Date;
}

/** How many jobs a settle call acknowledges, keeps and gives back, and how many it reserves (lua/settle-3.lua). */
export interface SettleArgs {
  held: number;
  acks: readonly Ack[];
  keep: number;
  want: number;
}

/** The Redis calls a slot makes (the worker's reserve batcher; a fake in unit tests). */
export interface SlotCalls {
  /** The one-job script: acknowledge `ack` (if any) and, when `want` > 0, reserve one job. */
  reserve(id: string, ack: Ack | undefined, want: number): Promise<Reserved>;
  /** lua/settle-3.lua: acknowledge, keep, give back, and reserve up to `want` jobs once the list is empty. */
  settle(id: string, o: SettleArgs): Promise<Settled>;
  /** Puts the slot's one job back at the head of its queue; false when the slot no longer holds it. */
  requeue(id: string, raw: string | Buffer): Promise<boolean>;
}

/** What a slot tells its worker. */
export interface SlotEvents {
  /** A finished job's acknowledgement landed (`acked`), or the job had been recovered by another worker meanwhile. */
  settled(f: Finished, acked: boolean): void;
  /** The jobs of a batch not started in time go back to their queues (one of its jobs ran long). */
  gaveBackUnstarted(): void;
  error(err: Error): void;
}

/**
 * Why: the one owner of what a worker slot holds. Every change of its held, finished and next
 * jobs, its running job, its hold timer and its give-back in flight is a named transition here
 * (take, start, finish, settle, give back, abandon, release), so two of them cannot interleave
 * unseen: the races of this area were between writers of these fields.
 *
 * The slot's inflight list holds, in run order: finished jobs awaiting their acknowledgement, the
 * running one, jobs reserved but not started. `#held` mirrors it, `#done` is its finished head,
 * `#held[#next]` the next job to start.
 */
export class Slot {
  #held: Held[] = [];
  #done: Finished[] = [];
  #next = 0;
  #job: JobRecord | undefined;
  /** Gives the jobs of a batch that did not start in time back to their queue. */
  #holdTimer: NodeJS.Timeout | undefined;
  /** A give-back in flight: nothing else of the slot runs or calls Redis before it lands. */
  #giving: Promise<void> | undefined;
  #loop: Promise<void> | undefined;

  /** `holdMs`: how long a batch's jobs may wait to start; `signal`: the worker's, which ends the hold timer. */
  constructor(
    readonly id: string,
    private readonly calls: SlotCalls,
    private readonly events: SlotEvents,
    private readonly o: { holdMs: number; signal: AbortSignal },
  ) {
    o.signal.addEventListener('abort', () => clearTimeout(this.#holdTimer), { once: true });
  }

  /** The running job, or the last finished one until its acknowledgement lands. */
  get job(): Running | undefined {
    return this.#job;
  }

  /** A give-back in flight: wait for it before running a job or calling Redis. */
  get giving(): Promise<void> | undefined {
    return this.#giving;
  }

  /** How many jobs the slot's inflight list holds. */
  get held(): number {
    return this.#held.length;
  }

  /** How many finished jobs wait for their acknowledgement. */
  get finished(): number {
    return this.#done.length;
  }

  /** A reserved job waits to start. */
  get hasNext(): boolean {
    return this.#next < this.#held.length;
  }

  /** The slot's loop, once the worker runs it. */
  get loop(): Promise<void> | undefined {
    return this.#loop;
  }

  run(loop: (slot: Slot) => Promise<void>): void {
    this.#loop = loop(this);
  }

  /** Start: the next reserved job is the one to run now. */
  startNext(): Held {
    return this.#held[this.#next++]!;
  }

  /** Start: the job now running, as its worker sees it. */
  begin(pub: ReservedJob, ctx: Context | undefined): Running {
    return (this.#job = { pub, ctx, interrupted: false, abandoned: false, finished: false });
  }

  /** Finish: `job`'s handler is done; its acknowledgement goes with the slot's next call. */
  finish(job: Running, f: Finished): void {
    (job as JobRecord).finished = true;
    this.#done.push(f);
  }

  /** Release: the running job ended without an acknowledgement (given back, abandoned, or recovered elsewhere). */
  release(): void {
    this.#job = undefined;
  }

  /** Interrupt: abort the running job (a fast stop, a lapsed lease); false when there is none or it already was. */
  interrupt(reason: AbortJobError): boolean {
    const job = this.#job;
    if (!job || job.interrupted) return false;
    job.interrupted = true;
    job.ctx?.abort(reason);
    return true;
  }

  /**
   * The slot's one Redis call between jobs: acknowledge what finished, give back what was
   * reserved but not started, reserve up to `want` jobs; then settle the finished jobs and take
   * the reserved ones. A slot that holds at most one job uses the one-job script (batched across
   * slots at concurrency > 1), else lua/settle-3.lua. Nothing changes when the call fails.
   */
  async sync(want: number): Promise<Settled> {
    clearTimeout(this.#holdTimer);
    const held = this.#held.length;
    const done = this.#done;
    let res: Settled;
    if (held === done.length && held <= 1 && want <= 1) {
      const r = await this.calls.reserve(this.id, done[0]?.ack, want);
      res = { acked: r.acked, next: r.next, jobs: r.next.kind === 'job' ? [r.next.raw] : [] };
    } else if (held === 1 && done.length === 0 && want === 0) {
      // Reserved just as pause() or stop() came: straight back to the head of its queue.
      await this.calls.requeue(this.id, this.#held[0]!.raw);
      res = { acked: true, next: EMPTY, jobs: [] };
    } else {
      res = await this.calls.settle(this.id, { held, acks: done.map((f) => f.ack), keep: 0, want });
    }
    this.#settle(res.acked);
    if (res.next.kind === 'job') this.#take(res.next.queue, res.jobs);
    return res;
  }

  /**
   * Give back: the running job (the last started, whose payload is `raw`) and every job not
   * started go back to the head of their queues; finished ones are acknowledged in the same call.
   * False when the slot's jobs had been recovered by another worker meanwhile (nothing written).
   */
  giveBack(raw: string | Buffer): Promise<boolean> {
    const result = (this.#giving ?? Promise.resolve()).then(async () => {
      clearTimeout(this.#holdTimer);
      if (this.#held.length <= 1) {
        const ok = await this.calls.requeue(this.id, raw);
        this.#held = [];
        this.#next = 0;
        return ok;
      }
      const r = await this.calls.settle(this.id, { held: this.#held.length, acks: this.#done.map((f) => f.ack), keep: 0, want: 0 });
      this.#settle(r.acked);
      return r.acked;
    });
    // The slot's loop waits for it (it may come back from an abandoned handler meanwhile).
    this.#setGiving(result);
    return result;
  }

  /** Abandon: a stop's grace ran out on the running job; it goes back (see giveBack) and its late outcome is dropped. */
  abandon(): Promise<boolean> {
    const job = this.#job!;
    job.abandoned = true;
    return this.giveBack(job.pub.bytes);
  }

  // --- internal ---

  /** Settle: after a call, the finished jobs are acknowledged (or were lost), and the slot holds nothing. */
  #settle(acked: boolean): void {
    const done = this.#done;
    this.#held = [];
    this.#done = [];
    this.#next = 0;
    if (done.length > 0) this.#job = undefined;
    for (const f of done) this.events.settled(f, acked);
  }

  /** Take: a call reserved `jobs` from `queue`; a batch must start within the hold time, or what did not goes back. */
  #take(queue: string, jobs: readonly Payload[]): void {
    this.#held = jobs.map((raw) => ({ queue, raw }));
    if (this.#held.length > 1 && !this.o.signal.aborted) this.#holdTimer = setTimeout(this.#giveBackUnstarted, this.o.holdMs);
  }

  /**
   * A job of a batch ran long: the jobs not started yet go back to the head of their queue, so
   * other workers take them, and this slot reserves one job at a time again.
   */
  readonly #giveBackUnstarted = (): void => {
    const held = this.#held.length;
    const keep = this.#next;
    if (keep >= held || this.#giving) return;
    this.events.gaveBackUnstarted();
    this.#setGiving(
      this.calls
        .settle(this.id, { held, acks: [], keep, want: 0 })
        // Given back, or recovered by another worker (then they are not ours to run either).
        .then(() => void (this.#held = this.#held.slice(0, keep)))
        .catch((err) => this.events.error(err as Error)),
    );
  };

  /** Makes `p` the slot's give-back in flight until it settles. */
  #setGiving(p: Promise<unknown>): void {
    const giving: Promise<void> = p.then(noop, noop).finally(() => {
      if (this.#giving === giving) this.#giving = undefined;
    });
    this.#giving = giving;
  }
}

type JobRecord = { -readonly [K in keyof Running]: Running[K] };
