import { afterEach, describe, expect, it, vi } from 'vitest';
import { EMPTY, type Ack, type Reserved, type Settled } from '../src/data-store.js';
import { AbortJobError, Context, ReservedJob } from '../src/job.js';
import { Slot, type Finished, type SettleArgs, type SlotCalls } from '../src/slot.js';

// The Slot's transitions against a fake of the Redis calls it makes (no Redis): each test names
// what the slot holds before, the transition, and the calls and events that must follow.

const ID = 'host:1:q';
const HOLD_MS = 20;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

type Call = ['reserve', Ack | undefined, number] | ['settle', SettleArgs] | ['requeue', string | Buffer];

/** Records every call; each answers with the next reply queued for its kind. */
function fakeCalls() {
  const calls: Call[] = [];
  type Reply<T> = T | Error | Promise<T>;
  const replies = { reserve: [] as Array<Reply<Reserved>>, settle: [] as Array<Reply<Settled>>, requeue: [] as Array<Reply<boolean>> };
  const answer = <T>(queue: Array<Reply<T>>, kind: string): Promise<T> => {
    const r = queue.shift();
    if (r === undefined) return Promise.reject(new Error(`no ${kind} reply queued`));
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
  };
  const fake: SlotCalls = {
    reserve: (id, ack, want) => (expect(id).toBe(ID), calls.push(['reserve', ack, want]), answer(replies.reserve, 'reserve')),
    settle: (id, o) => (expect(id).toBe(ID), calls.push(['settle', { ...o, acks: [...o.acks] }]), answer(replies.settle, 'settle')),
    requeue: (id, raw) => (expect(id).toBe(ID), calls.push(['requeue', raw]), answer(replies.requeue, 'requeue')),
  };
  return { fake, calls, replies };
}

function createSlot() {
  const { fake, calls, replies } = fakeCalls();
  const settled: Array<[Finished, boolean]> = [];
  const errors: Error[] = [];
  let gaveBack = 0;
  const ac = new AbortController();
  const slot = new Slot(
    ID,
    fake,
    { settled: (f, acked) => settled.push([f, acked]), gaveBackUnstarted: () => gaveBack++, error: (e) => errors.push(e) },
    { holdMs: HOLD_MS, signal: ac.signal },
  );
  return { slot, calls, replies, settled, errors, gaveBack: () => gaveBack, ac };
}

const job = (n: number) => `{"class":"J","args":[${n}]}`;
const reserved = (queue: string, raw: string): Reserved => ({ acked: true, next: { kind: 'job', queue, raw } });
const batch = (queue: string, raws: string[]): Settled => ({ acked: true, next: { kind: 'job', queue, raw: raws[0]! }, jobs: raws });
const none: Settled = { acked: true, next: EMPTY, jobs: [] };

/** Starts the slot's next job and finishes it (success), as the worker does. */
function runNext(slot: Slot): Finished {
  const h = slot.startNext();
  const raw = h.raw as string;
  const pub = new ReservedJob(h.queue, JSON.parse(raw), raw, h.raw, ID);
  const running = slot.begin(pub, new Context(h.queue, JSON.parse(raw), ID, silent));
  const f: Finished = { ack: { raw, failure: undefined }, job: pub, failure: undefined, result: raw };
  slot.finish(running, f);
  return f;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Slot: take, start, finish, settle', () => {
  it('takes one reserved job, runs it, and acknowledges it with the next one-job reserve', async () => {
    const { slot, calls, replies, settled } = createSlot();
    replies.reserve.push(reserved('q', job(1)));
    await slot.sync(1);
    expect(calls).toEqual([['reserve', undefined, 1]]);
    expect([slot.held, slot.hasNext, slot.finished]).toEqual([1, true, 0]);

    const f = runNext(slot);
    expect(slot.job?.finished).toBe(true);
    expect([slot.hasNext, slot.finished]).toEqual([false, 1]);

    replies.reserve.push({ acked: true, next: EMPTY });
    const res = await slot.sync(1);
    expect(res).toEqual(none);
    expect(calls[1]).toEqual(['reserve', { raw: job(1), failure: undefined }, 1]);
    expect(settled).toEqual([[f, true]]);
    expect([slot.job, slot.held, slot.finished, slot.hasNext]).toEqual([undefined, 0, 0, false]);
  });

  it('a batch is settled in one call: every finished job acknowledged, then the next batch taken in order', async () => {
    vi.useFakeTimers();
    const { slot, calls, replies, settled } = createSlot();
    replies.settle.push(batch('q', [job(1), job(2), job(3)]));
    await slot.sync(3); // the slot holds nothing and wants 3: the settle script reserves them
    expect(calls).toEqual([['settle', { held: 0, acks: [], keep: 0, want: 3 }]]);
    const done = [runNext(slot), runNext(slot), runNext(slot)];
    expect([slot.held, slot.finished, slot.hasNext]).toEqual([3, 3, false]);

    replies.settle.push(batch('low', [job(4), job(5)]));
    await slot.sync(2);
    expect(calls[1]).toEqual(['settle', { held: 3, acks: done.map((f) => f.ack), keep: 0, want: 2 }]);
    expect(settled).toEqual(done.map((f) => [f, true]));
    expect(slot.job).toBeUndefined();
    expect([slot.held, slot.finished]).toEqual([2, 0]);
    expect(slot.startNext()).toEqual({ queue: 'low', raw: job(4) });
  });

  it('finished jobs whose list was recovered meanwhile are settled as not acknowledged (lost)', async () => {
    const { slot, replies, settled } = createSlot();
    replies.reserve.push(reserved('q', job(1)));
    await slot.sync(1);
    const f = runNext(slot);
    replies.reserve.push({ acked: false, next: EMPTY });
    await slot.sync(1);
    expect(settled).toEqual([[f, false]]);
    expect([slot.job, slot.held]).toEqual([undefined, 0]);
  });

  it('a failed call changes nothing: the same acknowledgement goes with the retry', async () => {
    const { slot, calls, replies, settled } = createSlot();
    replies.reserve.push(reserved('q', job(1)));
    await slot.sync(1);
    const f = runNext(slot);
    replies.reserve.push(new Error('connection lost'));
    await expect(slot.sync(1)).rejects.toThrow('connection lost');
    expect([slot.held, slot.finished, slot.job?.pub]).toEqual([1, 1, f.job]);
    expect(settled).toEqual([]);
    replies.reserve.push({ acked: true, next: EMPTY });
    await slot.sync(1);
    expect(calls.slice(1)).toEqual([
      ['reserve', f.ack, 1],
      ['reserve', f.ack, 1],
    ]);
    expect(settled).toEqual([[f, true]]);
  });

  it('a job reserved just as the worker paused goes straight back to its queue (requeue), nothing reserved', async () => {
    const { slot, calls, replies } = createSlot();
    replies.reserve.push(reserved('q', job(1)));
    await slot.sync(1);
    replies.requeue.push(true);
    expect(await slot.sync(0)).toEqual(none);
    expect(calls[1]).toEqual(['requeue', job(1)]);
    expect([slot.held, slot.hasNext]).toEqual([0, false]);
  });
});

describe('Slot: interrupt, give back, abandon, release', () => {
  it('interrupt aborts the running job once, through its context signal', async () => {
    const { slot, replies } = createSlot();
    expect(slot.interrupt(new AbortJobError('x'))).toBe(false); // no job
    replies.reserve.push(reserved('q', job(1)));
    await slot.sync(1);
    const h = slot.startNext();
    const ctx = new Context(h.queue, JSON.parse(h.raw as string), ID, silent);
    const running = slot.begin(new ReservedJob(h.queue, undefined, h.raw as string, h.raw, ID), ctx);
    const reason = new AbortJobError('TERM');
    expect(slot.interrupt(reason)).toBe(true);
    expect(running.interrupted).toBe(true);
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBe(reason);
    expect(slot.interrupt(new AbortJobError('again'))).toBe(false);
    slot.release();
    expect(slot.job).toBeUndefined();
  });

  it('gives back the one running job with requeue; the slot then holds nothing', async () => {
    const { slot, calls, replies } = createSlot();
    replies.reserve.push(reserved('q', job(1)));
    await slot.sync(1);
    slot.startNext();
    replies.requeue.push(true);
    expect(await slot.giveBack(job(1))).toBe(true);
    expect(calls[1]).toEqual(['requeue', job(1)]);
    expect([slot.held, slot.hasNext]).toEqual([0, false]);
    await slot.giving;
    expect(slot.giving).toBeUndefined();
  });

  it('abandons the running job of a batch: finished ones acknowledged, the running and unstarted ones back, in one call', async () => {
    vi.useFakeTimers();
    const { slot, calls, replies, settled } = createSlot();
    replies.settle.push(batch('q', [job(1), job(2), job(3)]));
    await slot.sync(3);
    const f1 = runNext(slot);
    const h = slot.startNext();
    const running = slot.begin(new ReservedJob(h.queue, undefined, h.raw as string, h.raw, ID), undefined);
    replies.settle.push({ acked: true, next: EMPTY, jobs: [] });
    expect(await slot.abandon()).toBe(true);
    expect(running.abandoned).toBe(true);
    expect(calls[1]).toEqual(['settle', { held: 3, acks: [f1.ack], keep: 0, want: 0 }]);
    expect(settled).toEqual([[f1, true]]);
    expect([slot.held, slot.finished, slot.job]).toEqual([0, 0, undefined]);
  });

  it('a give-back waits for the one in flight: the calls never overlap', async () => {
    vi.useFakeTimers();
    const { slot, calls, replies } = createSlot();
    replies.settle.push(batch('q', [job(1), job(2), job(3)]));
    await slot.sync(3);
    slot.startNext();
    let land!: (s: Settled) => void;
    replies.settle.push(new Promise<Settled>((r) => (land = r)));
    await vi.advanceTimersByTimeAsync(HOLD_MS); // the batch's hold time runs out with one job started
    const back = slot.giveBack(job(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.length).toBe(2); // the unstarted give-back only: the running job waits for it
    land({ acked: true, next: EMPTY, jobs: [] });
    replies.requeue.push(true);
    expect(await back).toBe(true);
    expect(calls.slice(1)).toEqual([
      ['settle', { held: 3, acks: [], keep: 1, want: 0 }],
      ['requeue', job(1)],
    ]);
  });
});

describe('Slot: the hold time of a batch', () => {
  it('jobs of a batch not started within the hold time go back; the started ones stay', async () => {
    vi.useFakeTimers();
    const { slot, calls, replies, gaveBack } = createSlot();
    let land!: (s: Settled) => void;
    replies.settle.push(batch('q', [job(1), job(2), job(3)]), new Promise<Settled>((r) => (land = r)));
    await slot.sync(3);
    slot.startNext();
    await vi.advanceTimersByTimeAsync(HOLD_MS - 1);
    expect(calls.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(gaveBack()).toBe(1);
    expect(slot.giving).toBeDefined(); // the slot's loop waits for it before it runs or calls again
    land({ acked: true, next: EMPTY, jobs: [] });
    await slot.giving;
    expect(calls[1]).toEqual(['settle', { held: 3, acks: [], keep: 1, want: 0 }]);
    expect([slot.held, slot.hasNext, slot.giving]).toEqual([1, false, undefined]);
  });

  it('no give-back when every job of the batch started, after the slot called Redis, or once the worker stopped', async () => {
    vi.useFakeTimers();
    for (const end of ['all started', 'called', 'stopped'] as const) {
      const { slot, calls, replies, gaveBack, ac } = createSlot();
      replies.settle.push(batch('q', [job(1), job(2)]));
      await slot.sync(2);
      if (end === 'all started') (runNext(slot), runNext(slot));
      if (end === 'called') {
        replies.settle.push(none);
        await slot.sync(0); // gives both back
      }
      if (end === 'stopped') ac.abort();
      await vi.advanceTimersByTimeAsync(HOLD_MS * 2);
      expect(gaveBack()).toBe(0);
      expect(calls.some((c) => c[0] === 'settle' && c[1].keep > 0)).toBe(false);
    }
  });

  it('a failed give-back of unstarted jobs is reported, and the slot may call again', async () => {
    vi.useFakeTimers();
    const { slot, replies, errors } = createSlot();
    replies.settle.push(batch('q', [job(1), job(2)]), new Error('down'));
    await slot.sync(2);
    slot.startNext();
    await vi.advanceTimersByTimeAsync(HOLD_MS);
    await slot.giving;
    expect(errors.map((e) => e.message)).toEqual(['down']);
    expect([slot.held, slot.giving]).toEqual([2, undefined]);
  });
});
