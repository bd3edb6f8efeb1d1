import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Renewed } from '../src/data-store.js';
import { Lease, type LeaseContext } from '../src/lease.js';

// Lapse detection against a fake store and clock (no Redis, no timers).

const TTL = 1000;
const IDS = ['h:1:q', 'h:1+1:q'];

function createLease(o: { heldByMaster?: boolean; renew?: () => Promise<Renewed> } = {}) {
  let now = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  const interrupted: Array<[number, readonly string[] | undefined]> = [];
  const registered: string[] = [];
  const ctx: LeaseContext = {
    id: IDS[0]!,
    ids: IDS,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    store: {
      renew: o.renew ?? (async () => ({ lapsed: [], unregistered: [], heldByOther: false })),
      registerWorkers: async (ids: readonly string[]) => void registered.push(...ids),
    },
    isRunning: () => true,
    interruptLapsed: (ms, ids) => void interrupted.push([ms, ids]),
  };
  const lease = new Lease(ctx, { lockTtlMs: TTL, heartbeatMs: 30_000, heldByMaster: o.heldByMaster ?? false });
  lease.registered(0);
  const ac = new AbortController();
  lease.run(ac.signal, () => {});
  ac.abort(); // renewals are driven by hand below
  return { lease, interrupted, registered, advance: (ms: number) => void (now += ms) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Lease', () => {
  it('is fresh within the lock lifetime; sets the lock TTL on reserve only past half of it', async () => {
    const { lease, advance } = createLease();
    expect([lease.fresh, lease.lockTtlArg()]).toEqual([true, undefined]);
    advance(TTL / 2);
    expect([lease.fresh, lease.lockTtlArg()]).toEqual([true, TTL]);
    advance(TTL / 2);
    expect(lease.fresh).toBe(false);
    await lease.renew();
    expect([lease.fresh, lease.lockTtlArg()]).toEqual([true, undefined]);
  });

  it('a renewal later than the lock lifetime interrupts every job before it asks Redis', async () => {
    const order: string[] = [];
    const { lease, interrupted, advance } = createLease({
      renew: async () => (order.push(`renew after ${interrupted.length} interrupt(s)`), { lapsed: [], unregistered: [], heldByOther: false }),
    });
    advance(TTL);
    await lease.renew();
    expect(interrupted).toEqual([[TTL, undefined]]);
    expect(order).toEqual(['renew after 1 interrupt(s)']);
  });

  it('with the locks held by a master, a late renewal interrupts only the slots found recovered, and registers them again', async () => {
    const { lease, interrupted, registered, advance } = createLease({
      heldByMaster: true,
      renew: async () => ({ lapsed: [IDS[0]!], unregistered: [IDS[1]!], heldByOther: true }),
    });
    advance(TTL * 2);
    await lease.renew();
    expect(interrupted).toEqual([[TTL * 2, [IDS[1]]]]);
    expect(registered).toEqual(IDS);
  });

  it('a renewal that fails past the lock lifetime interrupts every job, and the failure propagates', async () => {
    const { lease, interrupted, advance } = createLease({ heldByMaster: true, renew: async () => Promise.reject(new Error('down')) });
    advance(TTL - 1);
    await expect(lease.renew()).rejects.toThrow('down');
    expect(interrupted).toEqual([]);
    advance(1);
    await expect(lease.renew()).rejects.toThrow('down');
    expect(interrupted).toEqual([[TTL, undefined]]);
  });
});
