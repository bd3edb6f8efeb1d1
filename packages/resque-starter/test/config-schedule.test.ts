import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineConfig, resolveConfig, type ResqueStarterConfig } from '../src/config.js';
import { renderScheduleLines } from '../src/config-schedule.js';
import { ConfigError } from '../src/errors.js';

const ctx = { path: '/srv/app/conf.ts', env: {} };
const jobs = { A: () => 1 };
const issuesOf = (raw: unknown, source?: string, parseSchedule?: (i: Record<string, unknown>) => unknown): string[] => {
  try {
    resolveConfig(raw, { ...ctx, ...(source ? { source } : {}), ...(parseSchedule ? { parseSchedule } : {}) });
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.location}: ${i.message}`);
    throw e;
  }
  return [];
};

describe('schedule (issue 14)', () => {
  it('resolves entries in config order, `every` from seconds (or a period) to milliseconds', () => {
    const c = resolveConfig(
      {
        jobs,
        schedule: {
          nightly: { cron: '0 3 * * *', tz: 'Europe/Paris', class: 'Cleanup', queue: 'low', args: [1], description: 'purge' },
          often: { every: 30, class: 'Ping', queue: 'high' },
          hourly: { every: '1h', class: 'Ping', queue: 'high' },
          half: { every: 1.5, class: 'Ping', queue: 'high' },
        },
      },
      ctx,
    );
    expect(c.schedule).toEqual([
      { name: 'nightly', entry: { cron: '0 3 * * *', tz: 'Europe/Paris', class: 'Cleanup', queue: 'low', args: [1], description: 'purge' } },
      { name: 'often', entry: { every: 30_000, class: 'Ping', queue: 'high', args: [] } },
      { name: 'hourly', entry: { every: 3_600_000, class: 'Ping', queue: 'high', args: [] } },
      { name: 'half', entry: { every: 1500, class: 'Ping', queue: 'high', args: [] } },
    ]);
    expect(resolveConfig({ jobs }, ctx).schedule).toEqual([]);
  });

  it('every mistake at once, each at its line, with did-you-mean', () => {
    const source = [
      'export default defineConfig({',
      '  jobs,',
      '  schedule: {',
      "    a: { cron: '* * * * *', every: 5, class: 'A', queue: 'q' },",
      "    b: { evry: 5, class: 'B', queue: 'q' },",
      "    c: { every: 0.5, class: '', queue: 'has space' },",
      "    d: { every: '5 minutes', class: 'D' },",
      "    e: { every: 60, tz: 'UTC', class: 'E', queue: 'q', args: 'x' },",
      '  },',
      '});',
    ].join('\n');
    const raw = {
      jobs,
      schedule: {
        a: { cron: '* * * * *', every: 5, class: 'A', queue: 'q' },
        b: { evry: 5, class: 'B', queue: 'q' },
        c: { every: 0.5, class: '', queue: 'has space' },
        d: { every: '5 minutes', class: 'D' },
        e: { every: 60, tz: 'UTC', class: 'E', queue: 'q', args: 'x' },
      },
    };
    expect(issuesOf(raw, source)).toEqual([
      '/srv/app/conf.ts:4:29: Expected `schedule.a` to have exactly one of `cron` and `every`, got both',
      '/srv/app/conf.ts:5:10: Unknown field `schedule.b.evry`; did you mean `schedule.b.every`?',
      "/srv/app/conf.ts:5:10: Expected `schedule.b` to have exactly one of `cron` and `every`, got neither",
      "/srv/app/conf.ts:6:10: Expected `schedule.c.every` to be seconds from 1 to 2592000 (30 days), or a period like '30s', '5m', '2h', '1d', got `0.5`",
      '/srv/app/conf.ts:6:22: Expected `schedule.c.class` to be a non-empty string, got `` (string)',
      '/srv/app/conf.ts:6:33: Expected `schedule.c.queue` to be a queue name without spaces or colons, got `has space`',
      '/srv/app/conf.ts:7:10: Missing `schedule.d.queue`',
      '/srv/app/conf.ts:7:10: Expected `schedule.d.every` to be seconds from 1 to 2592000 (30 days), or a period like \'30s\', \'5m\', \'2h\', \'1d\', got `5 minutes` (string)',
      '/srv/app/conf.ts:8:21: `schedule.e.tz` applies to `cron`; `every` runs on multiples of its period since the epoch',
      '/srv/app/conf.ts:8:56: Expected `schedule.e.args` to be an array, got `x` (string)',
    ]);
  });

  it("the cron expression and time zone are checked by the library's parser, each problem at its field", () => {
    const parse = (input: Record<string, unknown>) => {
      const [name, entry] = Object.entries(input)[0]! as [string, { cron?: string; tz?: string }];
      const problems: string[] = [];
      if (entry.cron === 'nope') problems.push(`schedule.${name}.cron: \`nope\` is not a cron expression (bad)`);
      if (entry.tz === 'Mars/Base') problems.push(`schedule.${name}.tz: unknown time zone \`Mars/Base\``);
      if (problems.length) throw Object.assign(new Error(problems.join('\n')), { issues: problems.map((p) => ({ name, field: /^schedule\.[^.]+\.(\w+):/.exec(p)![1], message: p.replace(/^[^:]+: /, '') })) });
      return [];
    };
    const raw = { jobs, schedule: { x: { cron: 'nope', tz: 'Mars/Base', class: 'X', queue: 'q' }, ok: { cron: '* * * * *', class: 'Y', queue: 'q' } } };
    expect(issuesOf(raw, undefined, parse)).toEqual([
      '/srv/app/conf.ts: `schedule.x.cron`: `nope` is not a cron expression (bad)',
      '/srv/app/conf.ts: `schedule.x.tz`: unknown time zone `Mars/Base`',
    ]);
  });

  it('scheduler: on by default with a 10 s lock; enabled and lockTtl (seconds) checked', () => {
    expect(resolveConfig({ jobs }, ctx).scheduler).toEqual({ enabled: true, lockTtlMs: 10_000, catchUpMs: 60_000 });
    expect(resolveConfig({ jobs, scheduler: { enabled: false, lockTtl: 2.5 } }, ctx).scheduler).toEqual({ enabled: false, lockTtlMs: 2500, catchUpMs: 60_000 });
    expect(issuesOf({ jobs, scheduler: { enable: false, lockTtl: 0.1 } })).toEqual([
      '/srv/app/conf.ts: Unknown field `scheduler.enable`; did you mean `scheduler.enabled`?',
      '/srv/app/conf.ts: Expected `scheduler.lockTtl` to be between 1 and 3600 seconds, got `0.1`',
    ]);
    expect(issuesOf({ jobs, scheduler: true })).toEqual(['/srv/app/conf.ts: Expected `scheduler` to be an object (`scheduler: { enabled: false }`), got `true` (boolean)']);
  });
});

describe('jobs with retry options (issue 14)', () => {
  const perform = () => undefined;

  it('a handler, or { perform, retry } with its delays turned from seconds into milliseconds', () => {
    const c = resolveConfig(
      {
        jobs: {
          Plain: perform,
          Fixed: { perform, retry: { limit: 3, backoff: 2 } },
          Listed: { perform, retry: { limit: 3, backoff: [1, 5, 30], jitter: 0.2, retryOn: ['Net::Timeout', TypeError] } },
          Exp: { perform, retry: { limit: 5, backoff: { exponential: 0.5, max: 60 } } },
          NoRetry: { perform },
        },
      },
      ctx,
    );
    expect(c.jobs.Plain).toBe(perform);
    expect(c.jobs.Fixed).toEqual({ perform, retry: { limit: 3, backoff: 2000 } });
    expect(c.jobs.Listed).toEqual({ perform, retry: { limit: 3, backoff: [1000, 5000, 30_000], jitter: 0.2, retryOn: ['Net::Timeout', TypeError] } });
    expect(c.jobs.Exp).toEqual({ perform, retry: { limit: 5, backoff: { exponential: 500, max: 60_000 } } });
    expect(c.jobs.NoRetry).toEqual({ perform });
    // Groups' own jobs take the same forms.
    const g = resolveConfig({ jobs: { Plain: perform }, groups: { mail: { jobs: { Mail: { perform, retry: { limit: 1, backoff: 1 } } } } } }, ctx);
    expect(g.groups[0]!.jobs.Mail).toEqual({ perform, retry: { limit: 1, backoff: 1000 } });
  });

  it('every mistake at once, with did-you-mean', () => {
    expect(
      issuesOf({
        jobs: {
          A: { perfom: perform },
          B: { perform, retry: { limt: 3 } },
          C: { perform, retry: { limit: -1, backoff: 'soon', jitter: 2, retryOn: 'Timeout' } },
          D: { perform, retry: { limit: 1, backoff: { exponential: 0, maxx: 1 } } },
          E: { perform, retry: 3 },
          F: 42,
        },
      }),
    ).toEqual([
      '/srv/app/conf.ts: Unknown field `jobs.A.perfom`; did you mean `jobs.A.perform`?',
      '/srv/app/conf.ts: Expected `jobs.A.perform` to be a function, got nothing',
      '/srv/app/conf.ts: Unknown field `jobs.B.retry.limt`; did you mean `jobs.B.retry.limit`?',
      '/srv/app/conf.ts: Missing `jobs.B.retry.limit`: the number of retries after the first attempt',
      '/srv/app/conf.ts: Expected `jobs.C.retry.limit` to be an integer from 0 to 10000, got `-1`',
      '/srv/app/conf.ts: Expected `jobs.C.retry.jitter` to be a fraction from 0 to 1, got `2`',
      '/srv/app/conf.ts: Expected `jobs.C.retry.retryOn` to be a list of error names or classes, or a function, got `Timeout` (string)',
      "/srv/app/conf.ts: Expected `jobs.C.retry.backoff` to be seconds (0 to 2592000), a list of them, or `{ exponential: seconds, max?: seconds }`, got `soon` (string)",
      '/srv/app/conf.ts: Unknown field `jobs.D.retry.backoff.maxx`; did you mean `jobs.D.retry.backoff.max`?',
      '/srv/app/conf.ts: Expected `jobs.D.retry.backoff.exponential` to be the first delay in seconds (above 0, at most 2592000), got `0`',
      '/srv/app/conf.ts: Expected `jobs.E.retry` to be an object (`retry: { limit: 5, backoff: { exponential: 2 } }`), got `3` (number)',
      '/srv/app/conf.ts: Expected the handler of job `F` to be a function or `{ perform, retry }`, got `42` (number)',
    ]);
  });

  it('types: defineConfig takes { perform, retry } and a schedule; misspellings are type errors', () => {
    const config = defineConfig({
      jobs: { Mail: { perform: async (to: string) => to, retry: { limit: 3, backoff: { exponential: 1, max: 60 } } }, Plain: (n: number) => n },
      schedule: { nightly: { cron: '0 3 * * *', class: 'Plain', args: [1], queue: 'low' } },
      scheduler: { lockTtl: 5 },
    });
    expectTypeOf(config.jobs.Plain).parameters.toEqualTypeOf<[n: number]>();
    expectTypeOf(config).toMatchTypeOf<ResqueStarterConfig>();
    // @ts-expect-error `limt` is not a retry option
    defineConfig({ jobs: { M: { perform: () => 1, retry: { limt: 3 } } } });
    // @ts-expect-error `evry` is not a schedule field
    defineConfig({ jobs, schedule: { x: { evry: 5, class: 'A', queue: 'q' } } });
  });
});

describe('check: the schedule and its next runs', () => {
  const now = Date.parse('2026-12-03T04:00:10Z');
  const c = resolveConfig(
    {
      jobs,
      schedule: {
        nightly: { cron: '0 3 * * *', tz: 'Europe/Paris', class: 'Cleanup', queue: 'low', args: [1, 'x'] },
        often: { every: 90, class: 'Ping', queue: 'high' },
      },
    },
    ctx,
  );
  // Stands in for the library's parser: every entry ticks on whole minutes.
  const parse = (input: Record<string, unknown>) => Object.keys(input).map((name) => ({ name, next: (ms: number) => (Math.floor(ms / 60_000) + 1) * 60_000 }));

  it('one line for the scheduler, one per entry with its next runs (UTC)', () => {
    expect(renderScheduleLines(c, parse, now, 2)).toEqual([
      '  scheduler: on (lock 10 s, catch-up 60 s; one master on this Redis leads: moves delayed jobs and retries, enqueues the schedule)',
      "  schedule nightly: Cleanup(1,\"x\") on low, cron '0 3 * * *' Europe/Paris; next 2026-12-03 04:01:00 UTC, 2026-12-03 04:02:00 UTC",
      '  schedule often: Ping on high, every 90s; next 2026-12-03 04:01:00 UTC, 2026-12-03 04:02:00 UTC',
    ]);
    expect(renderScheduleLines({ ...c, schedule: [] }, undefined, now)).toEqual([]);
    expect(renderScheduleLines({ schedule: [], scheduler: { enabled: false, lockTtlMs: 10_000, catchUpMs: 60_000 } }, undefined, now)).toEqual([
      '  scheduler: off (this master moves no delayed jobs; another master or resque-scheduler must)',
    ]);
  });
});

describe("with the library's own parser (@baton/resque resolveSchedule)", () => {
  it('a bad cron expression and an unknown time zone, each at its line; a good entry gets its next runs', async () => {
    const { resolveSchedule } = await import('@baton/resque');
    const parse = resolveSchedule as unknown as (i: Record<string, unknown>) => unknown;
    const source = ['export default defineConfig({', '  jobs,', '  schedule: {', "    x: { cron: '61 * * * *', tz: 'Mars/Base', class: 'X', queue: 'q' },", '  },', '});'].join('\n');
    const raw = { jobs, schedule: { x: { cron: '61 * * * *', tz: 'Mars/Base', class: 'X', queue: 'q' } } };
    const issues = issuesOf(raw, source, parse);
    expect(issues, JSON.stringify(issues)).toHaveLength(2);
    expect(issues).toContain('/srv/app/conf.ts:4:30: `schedule.x.tz`: unknown time zone `Mars/Base`');
    expect(issues.find((i) => i.includes('.cron`'))).toMatch(/^\/srv\/app\/conf\.ts:4:10: `schedule\.x\.cron`: `61 \* \* \* \*` is not a cron expression/);
    const c = resolveConfig({ jobs, schedule: { q: { cron: '*/15 * * * *', class: 'Q', queue: 'q' }, e: { every: '1h', class: 'E', queue: 'q' } } }, { ...ctx, parseSchedule: parse });
    expect(renderScheduleLines(c, parse, Date.parse('2026-12-03T04:07:00Z'), 2).slice(1)).toEqual([
      "  schedule q: Q on q, cron '*/15 * * * *' UTC; next 2026-12-03 04:15:00 UTC, 2026-12-03 04:30:00 UTC",
      '  schedule e: E on q, every 1h; next 2026-12-03 05:00:00 UTC, 2026-12-03 06:00:00 UTC',
    ]);
  });
});
