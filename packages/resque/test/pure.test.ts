import { describe, expect, it } from 'vitest';
import { createKeys } from '../src/keys.js';
import { createHash } from 'node:crypto';
import { decodeJob, describeThrown, encodeFailure, encodeJob, encodeWorkingOn, jobIdOf } from '../src/payload.js';
import { fnmatch, isDynamic, resolveQueues } from '../src/queues.js';
import { dateFromRedisTime, formatFailedAt, formatHeartbeat, formatRunAt, formatStarted } from '../src/time.js';
import { formatWorkerId, parseWorkerId } from '../src/worker-id.js';

const at = new Date(Date.UTC(2026, 10, 22, 9, 27, 49, 123));

describe('payloads', () => {
  it('encodes {"class","args"} in Ruby key order', () => {
    expect(encodeJob('GoodJob', [1, { k: 'v' }])).toBe('{"class":"GoodJob","args":[1,{"k":"v"}]}');
    expect(encodeJob('NoArgs', [])).toBe('{"class":"NoArgs","args":[]}');
  });

  it('decodes and keeps extra keys (node-resque adds "queue")', () => {
    expect(decodeJob('{"class":"X","queue":"low","args":[1]}')).toEqual({ ok: true, payload: { class: 'X', queue: 'low', args: [1] } });
    expect(decodeJob('{"class":"X"}')).toEqual({ ok: true, payload: { class: 'X', args: [] } });
  });

  it.each([
    ['not json', 'JSON::ParserError', /invalid job payload/],
    ['[1,2]', 'TypeError', /not a JSON object/],
    ['"str"', 'TypeError', /not a JSON object/],
    ['{"args":[]}', 'NameError', /no class/],
    ['{"class":"","args":[]}', 'NameError', /no class/],
    ['{"class":"X","args":{"a":1}}', 'TypeError', /args of X must be an array, got object/],
    ['{"class":"X","args":"a"}', 'TypeError', /must be an array, got string/],
  ])('bad payload %s → %s', (raw, exception, error) => {
    const r = decodeJob(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.exception).toBe(exception);
      expect(r.error).toMatch(error);
    }
  });

  it('failure record: Ruby field order, raw payload spliced byte for byte', () => {
    const raw = '{"class":"BadJob","args":["z",12345678901234567890]}';
    const rec = encodeFailure({ failedAt: at, raw, exception: 'ArgumentError', error: 'boom z', backtrace: ['a.rb:1'], worker: 'vm:1:high,low', queue: 'low' });
    expect(rec).toBe(
      '{"failed_at":"2026/11/22 09:27:49 UTC","payload":{"class":"BadJob","args":["z",12345678901234567890]},"exception":"ArgumentError","error":"boom z","backtrace":["a.rb:1"],"worker":"vm:1:high,low","queue":"low"}',
    );
    expect(Object.keys(JSON.parse(rec))).toEqual(['failed_at', 'payload', 'exception', 'error', 'backtrace', 'worker', 'queue']);
  });

  it('a payload that is not JSON is stored as a JSON string, so the failed list stays parseable', () => {
    const rec = encodeFailure({ failedAt: at, raw: 'oops{', exception: 'JSON::ParserError', error: 'e', backtrace: [], worker: 'w:1:q', queue: 'q' });
    expect(JSON.parse(rec).payload).toBe('oops{');
  });

  it('working record {"queue","run_at","payload"}', () => {
    expect(encodeWorkingOn('high', '2026-11-22T09:27:49Z', '{"class":"G","args":[]}')).toBe(
      '{"queue":"high","run_at":"2026-11-22T09:27:49Z","payload":{"class":"G","args":[]}}',
    );
  });

  it('describes Errors and non-Errors', () => {
    expect(describeThrown(new TypeError('bad'))).toMatchObject({ exception: 'TypeError', error: 'bad' });
    class QuotaExceeded extends Error {}
    expect(describeThrown(new QuotaExceeded('q')).exception).toBe('QuotaExceeded');
    expect(describeThrown('just a string')).toEqual({ exception: 'RuntimeError', error: 'non-Error thrown: just a string', backtrace: [] });
    expect(describeThrown({ code: 7 })).toEqual({ exception: 'RuntimeError', error: 'non-Error thrown: {"code":7}', backtrace: [] });
    expect(describeThrown(undefined).error).toBe('non-Error thrown: undefined');
  });
});

describe('payload bytes', () => {
  const at = new Date(Date.UTC(2026, 11, 2, 9, 5, 7));
  const base = { failedAt: at, exception: 'E', error: 'e', backtrace: [], worker: 'h:1:q', queue: 'q' };
  const latin1 = (s: string) => Buffer.from(s, 'latin1');

  it('jobIdOf is the sha1 hex of the bytes (what Lua redis.sha1hex gives)', () => {
    const raw = latin1('{"class":"J","args":["x\xff"]}');
    expect(jobIdOf(raw)).toBe(createHash('sha1').update(raw).digest('hex'));
    expect(jobIdOf('{"class":"J","args":[]}')).toBe(jobIdOf(Buffer.from('{"class":"J","args":[]}')));
  });

  it.each([
    ['JSON with invalid UTF-8: spliced as is', '{"class":"J","args":["x\xff"]}', '{"class":"J","args":["x\xff"]}'],
    ['not JSON: a JSON string of the same bytes', '{"class":"J\\"\x01\xff', '"{\\"class\\":\\"J\\\\\\"\\u0001\xff"'],
  ])('a failure record from bytes: %s', (_, raw, payload) => {
    const record = encodeFailure({ ...base, raw: latin1(raw) });
    expect(Buffer.isBuffer(record)).toBe(true);
    expect(record.toString('latin1')).toBe(
      `{"failed_at":"2026/12/02 09:05:07 UTC","payload":${payload},"exception":"E","error":"e","backtrace":[],"worker":"h:1:q","queue":"q"}`,
    );
  });

  it('a failure record from valid bytes is the one from their text', () => {
    const raw = '{"class":"J","args":["é",[],{"a":1e400}]}';
    expect(encodeFailure({ ...base, raw: Buffer.from(raw) }).toString()).toBe(encodeFailure({ ...base, raw }));
  });
});

describe('worker ids', () => {
  it('host:pid:queues with !skips removed and globs unexpanded', () => {
    expect(formatWorkerId('vm', 13119, ['critical', '*', '!low'])).toBe('vm:13119:critical,*');
    expect(formatWorkerId('vm', 13119, ['*'])).toBe('vm:13119:*');
    expect(formatWorkerId('vm', 7, ['a'], 2)).toBe('vm:7+2:a');
  });
  it('parses like Ruby split(":", 3)', () => {
    expect(parseWorkerId('vm:13119:critical,*')).toEqual({ host: 'vm', pid: '13119', queues: ['critical', '*'] });
    expect(parseWorkerId('vm:1:a:b')).toEqual({ host: 'vm', pid: '1', queues: ['a:b'] });
    expect(parseWorkerId('worker1:high')).toBeUndefined();
  });
});

describe('keys', () => {
  it('namespaced Resque keys, baton additions under baton:', () => {
    const k = createKeys('resque');
    expect([k.queues, k.queue('high'), k.workers, k.worker('w:1:q'), k.workerStarted('w:1:q'), k.heartbeat]).toEqual([
      'resque:queues',
      'resque:queue:high',
      'resque:workers',
      'resque:worker:w:1:q',
      'resque:worker:w:1:q:started',
      'resque:workers:heartbeat',
    ]);
    expect([k.statProcessed, k.statFailed, k.statProcessedOf('w'), k.statFailedOf('w'), k.failed, k.pauseAll]).toEqual([
      'resque:stat:processed',
      'resque:stat:failed',
      'resque:stat:processed:w',
      'resque:stat:failed:w',
      'resque:failed',
      'resque:pause-all-workers',
    ]);
    expect([k.inflight('w'), k.ownerLock('w'), k.batonWorkers]).toEqual(['resque:baton:inflight:w', 'resque:baton:lock:w', 'resque:baton:workers']);
    expect(createKeys('app').queue('x')).toBe('app:queue:x');
  });
});

describe('queue priority and globs (Ruby File.fnmatch, no flags)', () => {
  const known = ['a', 'b', 'critical', 'low', 'file_x', '.dot'];
  it.each([
    [['critical', '*', '!low', '!file_*'], ['critical', 'a', 'b']],
    [['*'], ['a', 'b', 'critical', 'file_x', 'low']],
    [['!low', '*'], ['a', 'b', 'critical', 'file_x']],
    [['low', 'critical'], ['low', 'critical']],
    [['missing', 'a'], ['missing', 'a']],
    [['file_?', 'f*'], ['file_x']],
    [['[ab]', 'c*'], ['a', 'b', 'critical']],
    [['[!ab]*'], ['critical', 'file_x', 'low']],
    [['{a,b}'], []],
  ])('%j → %j', (list, expected) => {
    expect(resolveQueues(list, known)).toEqual(expected);
  });
  it('fnmatch details', () => {
    expect(fnmatch('*', '.dot')).toBe(false);
    expect(fnmatch('.*', '.dot')).toBe(true);
    expect(fnmatch('a*', 'a/b')).toBe(true);
    expect(fnmatch('A*', 'abc')).toBe(false);
  });
  it('dynamic lists', () => {
    expect(isDynamic(['a', 'b'])).toBe(false);
    expect(isDynamic(['a', '!b'])).toBe(true);
    expect(isDynamic(['a*'])).toBe(true);
  });
});

describe('time formats', () => {
  it('are Ruby-parseable and UTC', () => {
    expect(formatRunAt(at)).toBe('2026-11-22T09:27:49Z');
    expect(formatStarted(at)).toBe('2026-11-22 09:27:49 +0000');
    expect(formatHeartbeat(at)).toBe('2026-11-22T09:27:49+00:00');
    expect(formatFailedAt(at)).toBe('2026/11/22 09:27:49 UTC');
    expect(dateFromRedisTime(['1795339669', '123456']).toISOString()).toBe('2026-11-22T09:27:49.123Z');
  });
});
