import { describe, expect, it } from 'vitest';
import type { FailureRecord } from '@baton/resque';
import { matches, renderFailedEntry, renderFailedList, type FailedEntry } from '../src/commands/failed.js';
import { enqueuedAt, formatAge, queuesJson, renderQueues } from '../src/commands/queues.js';

const record = (over: Partial<FailureRecord> & { class?: string; args?: unknown[] } = {}): FailureRecord => ({
  failed_at: '2026/12/03 03:00:00 UTC',
  payload: { class: over.class ?? 'Mailer', args: over.args ?? [1, 'a'] },
  exception: 'Error',
  error: 'boom',
  backtrace: ['at perform (jobs.ts:3:9)', 'at run (worker.js:1:1)'],
  worker: 'host:123:mail',
  queue: 'mail',
  ...over,
});

describe('failed list and show', () => {
  const entries: FailedEntry[] = [
    { index: 0, record: record() },
    { index: 1, record: record({ class: 'Archive', queue: 'low', error: 'line one\nline two', retried_at: '2026/12/03 03:05:00 UTC' }) },
    { index: 2, record: undefined },
  ];

  it('list: one line per entry, its index, queue, class, error on one line, retried', () => {
    expect(renderFailedList(entries, { total: 3, matching: 3, filtered: false })).toMatchInlineSnapshot(`
      "3 failed job(s)
      #  failed at                queue  class    error
      0  2026/12/03 03:00:00 UTC  mail   Mailer   Error: boom
      1  2026/12/03 03:00:00 UTC  low    Archive  Error: line one line two  retried 2026/12/03 03:05:00 UTC
      2  -                        -      -        not a failure record
      "
    `);
  });

  it('list: says how many match a filter and that --limit cut it', () => {
    expect(renderFailedList(entries.slice(0, 1), { total: 9, matching: 4, filtered: true }).split('\n')[0]).toBe('4 of 9 failed job(s) match; the first 1 shown (--limit 0 for all)');
    expect(renderFailedList([], { total: 0, matching: 0, filtered: false })).toBe('no failed jobs\n');
    expect(renderFailedList([], { total: 5, matching: 0, filtered: true })).toBe('0 of 5 failed job(s) match\n');
  });

  it('show: the whole record, one backtrace frame a line', () => {
    expect(renderFailedEntry(entries[0]!)).toBe(
      [
        'failed job 0',
        '  class:      Mailer',
        '  args:       [1,"a"]',
        '  queue:      mail',
        '  failed at:  2026/12/03 03:00:00 UTC',
        '  worker:     host:123:mail',
        '  exception:  Error',
        '  error:      boom',
        '  backtrace:',
        '    at perform (jobs.ts:3:9)',
        '    at run (worker.js:1:1)',
        '',
      ].join('\n'),
    );
    expect(renderFailedEntry(entries[2]!)).toBe('failed job 2: not a Resque failure record\n');
  });

  it('filters by queue, class and error class', () => {
    expect(entries.filter((e) => matches(e, { queue: 'mail' })).map((e) => e.index)).toEqual([0]);
    expect(entries.filter((e) => matches(e, { className: 'Archive' })).map((e) => e.index)).toEqual([1]);
    expect(entries.filter((e) => matches(e, { queue: 'low', className: 'Mailer' }))).toEqual([]);
    expect(entries.filter((e) => matches(e, {}))).toHaveLength(3);
    expect(entries.filter((e) => matches(e, { exception: 'Error' })).map((e) => e.index)).toEqual([0, 1]);
    expect(entries.filter((e) => matches(e, { exception: 'TypeError' }))).toEqual([]);
  });
});

describe('queues', () => {
  const now = new Date('2026-12-03T04:00:00Z');

  it.each([
    [{ enqueued_at: 1796270400 }, '2026-12-03T04:00:00.000Z'],
    [{ enqueued_at: 1796270400.5 }, '2026-12-03T04:00:00.500Z'],
    [{ enqueued_at: 1796270400123 }, '2026-12-03T04:00:00.123Z'],
    [{ enqueued_at: '1796270400' }, '2026-12-03T04:00:00.000Z'],
    [{ enqueued_at: '2026-12-03T03:59:00Z' }, '2026-12-03T03:59:00.000Z'],
    [{ class: 'A', args: [] }, undefined],
    [{ enqueued_at: 'yesterday' }, undefined],
    ['not json', undefined],
    [null, undefined],
  ])('enqueuedAt(%j) → %s', (payload, iso) => {
    expect(enqueuedAt(payload)?.toISOString()).toBe(iso);
  });

  it.each([
    [0, '0s'],
    [59_999, '59s'],
    [61_000, '1m 1s'],
    [3_600_000 * 5 + 120_000, '5h 2m'],
    [86_400_000 * 3 + 3_600_000 * 4, '3d 4h'],
    [-5, '0s'],
  ])('formatAge(%d) → %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });

  it('a table of queues, then the failed count; JSON with ages in seconds', () => {
    const report = {
      queues: [
        { name: 'high', depth: 0, oldestEnqueuedAt: undefined, delayed: 3 },
        { name: 'mail', depth: 12, oldestEnqueuedAt: new Date('2026-12-03T03:58:30Z'), delayed: 0 },
      ],
      failed: 2,
    };
    expect(renderQueues(report, now)).toBe('queue  jobs  oldest  delayed\nhigh   0     -       3\nmail   12    1m 30s  0\nfailed: 2\n');
    expect(renderQueues({ queues: [], failed: 0 }, now)).toBe('no queues\nfailed: 0\n');
    expect(JSON.parse(queuesJson(report, now))).toEqual({
      queues: [
        { name: 'high', depth: 0, delayed: 3, oldestEnqueuedAt: null, oldestAgeSeconds: null },
        { name: 'mail', depth: 12, delayed: 0, oldestEnqueuedAt: '2026-12-03T03:58:30.000Z', oldestAgeSeconds: 90 },
      ],
      failed: 2,
    });
  });
});
