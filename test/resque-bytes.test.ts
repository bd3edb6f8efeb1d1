// Payloads are bytes (issue 10, item 5): one that is not valid UTF-8 runs once, is acknowledged
// once, and goes back or into `failed` byte for byte, with and without prefetch, against a
// private redis-server.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue } from '../packages/resque/src/queue.js';
import { Worker, type WorkerOptions } from '../packages/resque/src/worker.js';
import { storeSuite } from './helpers/store-suite.js';
import { pollUntil } from './helpers/wait.js';

const suite = storeSuite();
const key = suite.key;
let queue: Queue;
const workers: Worker[] = [];
const bytes = (s: string) => Buffer.from(s, 'latin1'); // one byte per char: "\xff" is the byte 0xff

beforeEach(() => {
  queue = new Queue({ redis: suite.redis.url, namespace: suite.ns });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceful: false, graceMs: 100 }).catch(() => undefined)));
  await queue.close();
});

function worker(options: Partial<WorkerOptions> & Pick<WorkerOptions, 'jobs'>): Worker {
  const w = new Worker({ redis: suite.redis.url, namespace: suite.ns, queues: ['q'], lockTtlMs: 1000, ...options });
  workers.push(w);
  return w;
}

describe.each([
  { prefetch: 16, label: 'prefetch 16' },
  { prefetch: 1, label: 'no prefetch' },
])('a payload that is not valid UTF-8 ($label)', ({ prefetch }) => {
  it('runs once and is acknowledged once, and so are its batch-mates; nothing lost, nothing failed', async () => {
    const runs: Array<[string, number]> = [];
    const lost: unknown[] = [];
    const w = worker({ prefetch, jobs: { Rec: (s: string, i: number) => void runs.push([s, i]) } });
    w.on('lost', (job) => lost.push(job.payload?.args));
    // Warm up so that a batch is reserved around the bad one (prefetch grows with fast jobs).
    for (let i = 0; i < 8; i++) await queue.enqueue('q', 'Rec', 'ok', i);
    for (let i = 8; i < 24; i++) await queue.enqueueRaw('q', i === 12 ? bytes(`{"class":"Rec","args":["x\xff",${i}]}`) : `{"class":"Rec","args":["ok",${i}]}`);
    await w.start();
    await pollUntil(async () => (await suite.client.get(key('stat:processed'))) === '24' && w.state === 'idle', { what: '24 jobs processed' });
    expect(runs.map(([, i]) => i)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(runs[12]).toEqual(['x\ufffd', 12]);
    expect(lost).toEqual([]);
    expect(await suite.client.llen(key('failed'))).toBe(0);
    expect(await suite.client.llen(key('queue:q'))).toBe(0);
    expect(await suite.client.keys(key('baton:*'))).not.toContain(key(`baton:inflight:${w.id}`));
  });

  it('fails once; its failure record holds the payload byte for byte (Ruby field order)', async () => {
    const raw = bytes('{"class":"Boom","args":["x\xff\xfe/\\"q\\"",1],"extra":{"a":[]}}');
    const w = worker({
      prefetch,
      jobs: {
        Boom() {
          throw new Error('boom');
        },
        Ok: () => undefined,
      },
    });
    let failures = 0;
    w.on('failure', () => failures++);
    await queue.enqueue('q', 'Ok');
    await queue.enqueueRaw('q', raw);
    await queue.enqueue('q', 'Ok');
    await w.start();
    await pollUntil(async () => (await suite.client.get(key('stat:processed'))) === '3' && w.state === 'idle', { what: '3 jobs processed' });
    expect(failures).toBe(1);
    const records = await suite.client.lrangeBuffer(key('failed'), 0, -1);
    expect(records.length).toBe(1);
    const record = records[0]!;
    const at = record.indexOf('"payload":') + '"payload":'.length;
    expect(record.subarray(0, at).toString()).toMatch(/^\{"failed_at":"\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC","payload":$/);
    expect(record.subarray(at, at + raw.length).equals(raw)).toBe(true);
    expect(record.subarray(at + raw.length).toString()).toMatch(/^,"exception":"Error","error":"boom","backtrace":\[.*\],"worker":"[^"]+","queue":"q"\}$/);
    expect(await suite.client.mget(key('stat:processed'), key('stat:failed'))).toEqual(['3', '1']);
    expect(await suite.client.llen(key('queue:q'))).toBe(0);
  });

  it('a payload that is not JSON either fails cleanly once (JSON::ParserError), kept byte for byte as a JSON string', async () => {
    const raw = bytes('{"class":"Rec","args":["x\xff"');
    const w = worker({ prefetch, jobs: { Rec: () => undefined } });
    await queue.enqueue('q', 'Rec', 'a');
    await queue.enqueueRaw('q', raw);
    await queue.enqueue('q', 'Rec', 'b');
    await w.start();
    await pollUntil(async () => (await suite.client.get(key('stat:processed'))) === '3' && w.state === 'idle', { what: '3 jobs processed' });
    const records = await suite.client.lrangeBuffer(key('failed'), 0, -1);
    expect(records.length).toBe(1);
    expect(records[0]!.includes(bytes('"payload":"{\\"class\\":\\"Rec\\",\\"args\\":[\\"x\xff\\"","exception":"JSON::ParserError"'))).toBe(true);
    expect(await suite.client.mget(key('stat:processed'), key('stat:failed'))).toEqual(['3', '1']);
  });

  it('given back by a fast stop, it returns to the head of its queue byte for byte', async () => {
    const raw = bytes('{"class":"Hold","args":["x\xff"]}');
    let started = false;
    const w = worker({ prefetch, jobs: { Hold: () => ((started = true), new Promise(() => undefined)) } });
    await queue.enqueueRaw('q', raw);
    await queue.enqueue('q', 'Hold', 'next');
    await w.start();
    await pollUntil(() => started, { what: 'the job to start' });
    await w.stop({ graceful: false, graceMs: 50 });
    expect(await suite.client.lrangeBuffer(key('queue:q'), 0, -1)).toEqual([raw, Buffer.from('{"class":"Hold","args":["next"]}')]);
  });
});
