import { describe, expect, it } from 'vitest';
import { nextTicks, parsePeriod, resolveSchedule, ScheduleError } from '../src/schedule.js';
import { decodeDelayed, encodeDelayed } from '../src/delayed.js';

describe('resolveSchedule', () => {
  it('every: ticks on multiples of the period since the epoch', () => {
    const [e] = resolveSchedule({ beat: { every: '5m', class: 'Beat', queue: 'q' } });
    const t = Date.UTC(2026, 0, 1, 10, 7, 30);
    expect(e!.prev(t)).toBe(Date.UTC(2026, 0, 1, 10, 5));
    expect(e!.next(t)).toBe(Date.UTC(2026, 0, 1, 10, 10));
    expect(e!.prev(Date.UTC(2026, 0, 1, 10, 10))).toBe(Date.UTC(2026, 0, 1, 10, 10));
    expect(e!.args).toEqual([]);
  });

  it('cron: the latest tick at or before a time and the first after it, in the entry time zone', () => {
    const [utc, ny] = resolveSchedule({
      utc: { cron: '0 3 * * *', class: 'Nightly', queue: 'q', args: [1] },
      ny: { cron: '0 3 * * *', class: 'Nightly', queue: 'q', tz: 'America/New_York' },
    });
    const t = Date.UTC(2026, 5, 10, 12, 0);
    expect(utc!.prev(t)).toBe(Date.UTC(2026, 5, 10, 3, 0));
    expect(utc!.next(t)).toBe(Date.UTC(2026, 5, 11, 3, 0));
    expect(utc!.prev(Date.UTC(2026, 5, 11, 3, 0))).toBe(Date.UTC(2026, 5, 11, 3, 0));
    expect(ny!.prev(t)).toBe(Date.UTC(2026, 5, 10, 7, 0)); // 03:00 EDT
    expect(utc!.args).toEqual([1]);
  });

  it('names every problem at once, one per line', () => {
    let err: unknown;
    try {
      resolveSchedule({
        a: { cron: 'every monday', class: 'A', queue: 'q' },
        b: { every: '5 parsecs', class: '', queue: 'q' },
        c: { class: 'C', queue: 'q', every: 10, cron: '* * * * *' },
        d: { every: 10, class: 'D', queue: 'q', tz: 'Mars/Olympus', quue: 1 },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScheduleError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/schedule\.a\.cron: `every monday` is not a cron expression/);
    expect(msg).toMatch(/schedule\.b\.class: must be a non-empty string/);
    expect(msg).toMatch(/schedule\.b\.every: expected milliseconds .* got `5 parsecs`/);
    expect(msg).toMatch(/schedule\.c: needs exactly one of cron and every/);
    expect(msg).toMatch(/schedule\.d\.tz: unknown time zone `Mars\/Olympus`/);
    expect(msg).toMatch(/schedule\.d\.quue: unknown field/);
  });

  it.each([
    [1500, 1500],
    ['30s', 30_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    [0, undefined],
    ['-1s', undefined],
    [1.5, undefined],
  ])('parsePeriod(%j) = %j', (v, ms) => expect(parsePeriod(v)).toBe(ms));
});

describe('delayed payloads', () => {
  it("are Ruby's job_to_hash_with_queue: class, args, queue in that order", () => {
    expect(encodeDelayed('q', 'Mailer', [1, 'a'])).toBe('{"class":"Mailer","args":[1,"a"],"queue":"q"}');
  });

  it("decode node-resque's key order too, and refuse what is not a job", () => {
    expect(decodeDelayed('{"class":"X","queue":"q","args":[2]}', 5000)).toMatchObject({ class: 'X', queue: 'q', args: [2], at: new Date(5000) });
    expect(decodeDelayed('nope', 0)).toBeUndefined();
    expect(decodeDelayed('{"args":[]}', 0)).toBeUndefined();
  });
});

describe('ScheduleError.issues and nextTicks', () => {
  it('gives each problem as { name, field, message }', () => {
    try {
      resolveSchedule({ a: { every: 0, class: 'A', queue: 'q' }, b: { class: 'B', queue: 'q' } });
      expect.unreachable();
    } catch (err) {
      expect((err as ScheduleError).issues).toEqual([
        { name: 'a', field: 'every', message: "expected milliseconds (a positive integer) or a period like '30s', '5m', '2h', '1d', got `0`" },
        { name: 'b', message: 'needs exactly one of cron and every' },
      ]);
    }
  });

  it('lists the next ticks the Scheduler will enqueue', () => {
    const [cron, every] = resolveSchedule({ c: { cron: '*/15 * * * *', class: 'C', queue: 'q' }, e: { every: '1h', class: 'E', queue: 'q' } });
    const from = new Date(Date.UTC(2026, 0, 1, 10, 7));
    expect(nextTicks(cron!, from, 3).map((d) => d.toISOString())).toEqual(['2026-01-01T10:15:00.000Z', '2026-01-01T10:30:00.000Z', '2026-01-01T10:45:00.000Z']);
    expect(nextTicks(every!, from, 2).map((d) => d.toISOString())).toEqual(['2026-01-01T11:00:00.000Z', '2026-01-01T12:00:00.000Z']);
  });
});
