import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Ack, Reserved } from '../src/data-store.js';
import { ReserveBatcher, type ReserveContext } from '../src/reserve-batcher.js';

// The batcher against a fake store (no Redis): which script call each slot request becomes.

type Store = ReserveContext['store'];
const job = (raw: string): Reserved => ({ acked: true, next: { kind: 'job', queue: 'q', raw } });

function createBatcher(slots: number, o: { queues?: () => readonly string[] | Promise<readonly string[]>; prefetch?: number } = {}) {
  const calls: unknown[][] = [];
  const store = {
    reserve: async (...a: unknown[]) => (calls.push(['reserve', ...a]), job('one')),
    reserveMany: async (batch: ReadonlyArray<{ id: string; ack: Ack | undefined }>, ...a: unknown[]) => {
      calls.push(['reserveMany', batch.map((b) => b.id), ...a]);
      return batch.map((b) => job(b.id));
    },
    settle: async (...a: unknown[]) => (calls.push(['settle', ...a]), { acked: true, next: { kind: 'empty' as const }, jobs: [] }),
    requeue: async (...a: unknown[]) => (calls.push(['requeue', ...a]), true),
  } as unknown as Store;
  const batcher = new ReserveBatcher({ store, queues: o.queues ?? (() => ['high', 'low']), lockTtlArg: () => 900 }, { slots, prefetch: o.prefetch ?? 16 });
  return { batcher, calls };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('ReserveBatcher', () => {
  it('at concurrency > 1, the reserves of slots freed in the same tick are one script call, answered in slot order', async () => {
    const { batcher, calls } = createBatcher(3);
    const ack: Ack = { raw: 'done', failure: undefined };
    const replies = await Promise.all([batcher.reserve('s0', undefined, 1), batcher.reserve('s1', ack, 1), batcher.reserve('s2', undefined, 1)]);
    expect(calls).toEqual([['reserveMany', ['s0', 's1', 's2'], ['high', 'low'], 900]]);
    expect(replies.map((r) => r.next.kind === 'job' && r.next.raw)).toEqual(['s0', 's1', 's2']);
    await batcher.reserve('s0', undefined, 1);
    expect(calls.length).toBe(2); // a later tick: a new call
  });

  it('one call serves at most 64 slots; a failed call fails each of its requests', async () => {
    const { batcher, calls } = createBatcher(100);
    await Promise.all(Array.from({ length: 100 }, (_, i) => batcher.reserve(`s${i}`, undefined, 1)));
    expect(calls.map((c) => (c[1] as string[]).length)).toEqual([64, 36]);

    const failing = createBatcher(2, { queues: () => Promise.reject(new Error('down')) });
    const results = await Promise.allSettled([failing.batcher.reserve('a', undefined, 1), failing.batcher.reserve('b', undefined, 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('at concurrency 1, reserves directly; with nothing wanted, from no queue', async () => {
    const { batcher, calls } = createBatcher(1, { queues: async () => ['dyn'] });
    await batcher.reserve('s0', undefined, 1);
    await batcher.reserve('s0', undefined, 0);
    expect(calls).toEqual([
      ['reserve', 's0', ['dyn'], 900, undefined],
      ['reserve', 's0', [], 900, undefined],
    ]);
  });

  it('a settle that reserves nothing names no queue and leaves the lock alone', async () => {
    const { batcher, calls } = createBatcher(1);
    const o = { held: 2, acks: [], keep: 1, want: 0 };
    await batcher.settle('s0', o);
    await batcher.settle('s0', { ...o, keep: 0, want: 4 });
    expect(calls).toEqual([
      ['settle', 's0', [], undefined, o],
      ['settle', 's0', ['high', 'low'], 900, { ...o, keep: 0, want: 4 }],
    ]);
  });

  it('prefetch doubles while the jobs of a batch average under 1 ms, up to `prefetch`, and drops to 1 otherwise', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const { batcher } = createBatcher(1, { prefetch: 5 });
    const sizes = [];
    for (const [jobs, ms] of [[1, 0.5], [2, 1], [4, 2], [5, 1], [5, 5], [1, 0.1]] as const) {
      batcher.reserved();
      now += ms;
      sizes.push(batcher.want(jobs));
    }
    expect(sizes).toEqual([2, 4, 5, 5, 1, 2]);
    batcher.shrink();
    expect(batcher.want(0)).toBe(1);
  });

  it('at concurrency > 1, every slot reserves one job at a time', () => {
    const { batcher } = createBatcher(4);
    batcher.reserved();
    expect(batcher.want(3)).toBe(1);
  });
});
