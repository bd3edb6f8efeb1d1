// The reserve scripts (lua/reserve-3n.lua for several slots, lua/reserve-3.lua for one, same
// contract) through DataStore, and the batched reserve of a Worker with concurrency, against a
// private redis-server (an integration test: it needs a real Redis).
import { describe, expect, it } from 'vitest';
import type { Ack, Reserved } from '../packages/resque/src/data-store.js';
import { Queue } from '../packages/resque/src/queue.js';
import { Worker } from '../packages/resque/src/worker.js';
import { storeSuite } from './helpers/store-suite.js';

const suite = storeSuite();
const key = suite.key;
const job = (n: number) => `{"class":"J","args":[${n}]}`;
const ids = ['h:1:q', 'h:1+1:q', 'h:1+2:q'];
async function push(queue: string, ...raws: string[]): Promise<void> {
  for (const raw of raws) await suite.store.push(queue, raw);
}

/** Payload bytes from the scripts as text, to compare with the JSON pushed (valid UTF-8 here). */
function asText<T>(v: T): T {
  if (Buffer.isBuffer(v)) return v.toString() as T;
  if (Array.isArray(v)) return v.map(asText) as T;
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asText(x)])) as T;
  return v;
}

type ReserveAll = (slots: Array<{ id: string; ack: Ack | undefined }>, queues: string[], lockTtlMs: number | undefined) => Promise<Reserved[]>;
const oneCall: ReserveAll = async (slots, queues, ttl) => asText(await suite.store.reserveMany(slots, queues, ttl));
const callPerSlot: ReserveAll = async (slots, queues, ttl) => {
  const out: Reserved[] = [];
  for (const s of slots) out.push(asText(await suite.store.reserve(s.id, queues, ttl, s.ack)));
  return out;
};

describe.each([
  ['reserve-3n.lua: several slots in one call', oneCall],
  ['reserve-3.lua: one call per slot', callPerSlot],
])('%s', (_, reserveAll) => {
  it('fills the slots in slot order from the queues in priority order; inflight lists and working records as one reserve each', async () => {
    await push('low', job(1), job(2), job(3));
    await push('high', job(9));
    const res = await reserveAll(
      ids.map((id) => ({ id, ack: undefined })),
      ['high', 'low'],
      5000,
    );
    expect(res.map((r) => r.next)).toEqual([
      { kind: 'job', queue: 'high', raw: job(9) },
      { kind: 'job', queue: 'low', raw: job(1) },
      { kind: 'job', queue: 'low', raw: job(2) },
    ]);
    expect(res.every((r) => r.acked)).toBe(true);
    expect(await suite.client.lrange(key('queue:low'), 0, -1)).toEqual([job(3)]);
    expect(await suite.client.lrange(key(`baton:inflight:${ids[1]}`), 0, -1)).toEqual(['low', job(1)]);
    const record = JSON.parse((await suite.client.get(key(`worker:${ids[0]}`)))!);
    expect(Object.keys(record)).toEqual(['queue', 'run_at', 'payload']);
    expect(record).toMatchObject({ queue: 'high', payload: { class: 'J', args: [9] } });
    expect(record.run_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const ttl = await suite.client.pttl(key(`baton:lock:${ids[2]}`));
    expect(ttl).toBeGreaterThan(4000);
  });

  it('acknowledges per slot: counts, failure records, and a slot that lost its job gets -1 and nothing else', async () => {
    await push('q', job(1), job(2), job(3), job(4), job(5), job(6));
    const first = await reserveAll(
      ids.map((id) => ({ id, ack: undefined })),
      ['q'],
      5000,
    );
    const raws = first.map((r) => (r.next.kind === 'job' ? r.next.raw : ''));
    // Slot 2 was recovered by someone else while "frozen": its inflight list is gone.
    await suite.client.del(key(`baton:inflight:${ids[2]}`));
    const failure = '{"failed_at":"x","payload":' + raws[1] + ',"exception":"E","error":"e","backtrace":[],"worker":"' + ids[1] + '","queue":"q"}';
    const second = await reserveAll(
      [
        { id: ids[0]!, ack: { raw: raws[0]!, failure: undefined } },
        { id: ids[1]!, ack: { raw: raws[1]!, failure } },
        { id: ids[2]!, ack: { raw: raws[2]!, failure: undefined } },
      ],
      ['q'],
      undefined,
    );
    expect(second.map((r) => r.acked)).toEqual([true, true, false]);
    expect(second.map((r) => r.next)).toEqual([
      { kind: 'job', queue: 'q', raw: job(4) },
      { kind: 'job', queue: 'q', raw: job(5) },
      { kind: 'empty' },
    ]);
    expect(await suite.client.mget(key('stat:processed'), key('stat:failed'), key(`stat:processed:${ids[0]}`), key(`stat:processed:${ids[1]}`), key(`stat:failed:${ids[1]}`))).toEqual([
      '2',
      '1',
      '1',
      '1',
      '1',
    ]);
    expect(await suite.client.exists(key(`stat:processed:${ids[2]}`))).toBe(0);
    expect(await suite.client.lrange(key('failed'), 0, -1)).toEqual([failure]);
    expect(await suite.client.lrange(key('queue:q'), 0, -1)).toEqual([job(6)]);
    // The slot that lost its job: nothing written, nothing reserved.
    expect(await suite.client.exists(key(`baton:inflight:${ids[2]}`))).toBe(0);
    // The others hold exactly their next job.
    expect(await suite.client.lrange(key(`baton:inflight:${ids[0]}`), 0, -1)).toEqual(['q', job(4)]);
    expect(await suite.client.lrange(key(`baton:inflight:${ids[1]}`), 0, -1)).toEqual(['q', job(5)]);
  });

  it('a slot whose next job comes from another queue, or that gets none: inflight list and working record follow', async () => {
    await push('high', job(1));
    await push('low', job(2));
    const [a] = await reserveAll([{ id: ids[0]!, ack: undefined }], ['high', 'low'], undefined);
    expect(a!.next).toEqual({ kind: 'job', queue: 'high', raw: job(1) });
    const [b] = await reserveAll([{ id: ids[0]!, ack: { raw: job(1), failure: undefined } }], ['high', 'low'], undefined);
    expect(b!.next).toEqual({ kind: 'job', queue: 'low', raw: job(2) });
    expect(await suite.client.lrange(key(`baton:inflight:${ids[0]}`), 0, -1)).toEqual(['low', job(2)]);
    expect(JSON.parse((await suite.client.get(key(`worker:${ids[0]}`)))!)).toMatchObject({ queue: 'low', payload: { class: 'J', args: [2] } });
    const [c] = await reserveAll([{ id: ids[0]!, ack: { raw: job(2), failure: undefined } }], ['high', 'low'], undefined);
    expect(c).toEqual({ acked: true, next: { kind: 'empty' } });
    expect(await suite.client.exists(key(`baton:inflight:${ids[0]}`), key(`worker:${ids[0]}`))).toBe(0);
    expect(await suite.client.get(key('stat:processed'))).toBe('2');
  });

  it('acknowledge only (no queues), pause-all-workers, and a slot still holding a job', async () => {
    await push('q', job(1), job(2), job(3));
    const [a] = await reserveAll([{ id: ids[0]!, ack: undefined }], ['q'], 5000);
    const [b] = await reserveAll([{ id: ids[1]!, ack: undefined }], ['q'], 5000);
    const rawA = a!.next.kind === 'job' ? a!.next.raw : '';
    const rawB = b!.next.kind === 'job' ? b!.next.raw : '';

    const [ackOnly] = await reserveAll([{ id: ids[0]!, ack: { raw: rawA, failure: undefined } }], [], 5000);
    expect(ackOnly).toEqual({ acked: true, next: { kind: 'empty' } });
    expect(await suite.client.exists(key(`baton:inflight:${ids[0]}`), key(`worker:${ids[0]}`))).toBe(0);

    await suite.store.setPauseAll(true);
    const paused = await reserveAll(
      [
        { id: ids[1]!, ack: { raw: rawB, failure: undefined } },
        { id: ids[2]!, ack: undefined },
      ],
      ['q'],
      5000,
    );
    expect(paused).toEqual([
      { acked: true, next: { kind: 'paused' } },
      { acked: true, next: { kind: 'paused' } },
    ]);
    expect(await suite.client.exists(key(`baton:inflight:${ids[1]}`), key(`worker:${ids[1]}`))).toBe(0);
    expect(await suite.client.llen(key('queue:q'))).toBe(1);
    await suite.store.setPauseAll(false);

    await suite.client.rpush(key(`baton:inflight:${ids[2]}`), 'q', job(7));
    const [busy] = await reserveAll([{ id: ids[2]!, ack: undefined }], ['q'], 5000);
    expect(busy).toEqual({ acked: true, next: { kind: 'busy' } });
    expect(await suite.client.llen(key('queue:q'))).toBe(1);
  });

  it('the owner lock is set only when asked (a recent renewal already covers the job)', async () => {
    await push('q', job(1), job(2));
    await reserveAll([{ id: ids[0]!, ack: undefined }], ['q'], undefined);
    expect(await suite.client.exists(key(`baton:lock:${ids[0]}`))).toBe(0);
    await reserveAll([{ id: ids[1]!, ack: undefined }], ['q'], 7000);
    expect(await suite.client.get(key(`baton:lock:${ids[1]}`))).toBe(ids[1]);
  });
});

describe('script loading', () => {
  it('a server without the script (new, restarted, SCRIPT FLUSH) gets it sent on the first call', async () => {
    await push('q', job(1), job(2));
    await suite.client.script('FLUSH');
    expect(asText(await suite.store.reserve(ids[0]!, ['q'], undefined)).next).toEqual({ kind: 'job', queue: 'q', raw: job(1) });
    expect(asText(await suite.store.reserve(ids[1]!, ['q'], undefined)).next).toEqual({ kind: 'job', queue: 'q', raw: job(2) });
  });
});

describe('Worker with concurrency: batched reserves', () => {
  it('runs every job exactly once, each slot holding only the job it runs, and counts each one', async () => {
    const queue = new Queue({ redis: suite.redis.url, namespace: suite.ns });
    const total = 600;
    for (let i = 0; i < total; i++) await queue.enqueue(i % 3 === 0 ? 'high' : 'low', 'Count', i);
    const seen = new Map<number, number>();
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    let mismatch = 0;
    const w = new Worker({
      redis: suite.redis.url,
      namespace: suite.ns,
      queues: ['high', 'low'],
      concurrency: 20,
      jobs: {
        async Count(n: number) {
          seen.set(n, (seen.get(n) ?? 0) + 1);
          // The slot's inflight list holds exactly this job while it runs.
          const ctx = this as unknown as { workerId: string; payload: unknown };
          const inflight = await suite.client.lrange(key(`baton:inflight:${ctx.workerId}`), 0, -1);
          if (inflight.length !== 2 || JSON.parse(inflight[1]!).args[0] !== n) mismatch++;
        },
      },
    });
    let count = 0;
    w.on('success', () => {
      if (++count === total) done();
    });
    await w.start();
    await finished;
    await w.stop();
    await queue.close();
    expect(mismatch).toBe(0);
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(await suite.client.get(key('stat:processed'))).toBe(String(total));
    expect(await suite.client.llen(key('queue:high'))).toBe(0);
  });
});
