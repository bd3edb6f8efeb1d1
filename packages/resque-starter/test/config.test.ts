import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineConfig, describeRedis, DURATION_RANGES, parseFileMode, resolveConfig, redactUrl, type ResqueStarterConfig, type WorkerHandle } from '../src/config.js';
import { redisSecrets } from '../src/config-logs.js';
import { ConfigError } from '../src/errors.js';
import { describeReadError, loadConfigFile } from '../src/load-config.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const ctx = { path: '/srv/app/conf.ts', env: {} };
const jobs = { A: () => undefined };

describe('defineConfig', () => {
  it('is the identity and keeps the handlers\' types', () => {
    const c = defineConfig({ concurrency: 3, queues: ['a', 'b'], jobs: { A: (id: number, name: string) => `${id}:${name}` } });
    expect(c.concurrency).toBe(3);
    expectTypeOf(c.jobs.A).parameters.toEqualTypeOf<[id: number, name: string]>();
    expectTypeOf(c.jobs.A).returns.toEqualTypeOf<string>();
  });

  it('types hooks and rejects unknown shapes', () => {
    defineConfig({
      jobs,
      beforeFork: (master, nr) => {
        expectTypeOf(master.pid).toBeNumber();
        expectTypeOf(nr).toBeNumber();
      },
      afterFork: async (worker: WorkerHandle) => {
        expectTypeOf(worker.retireOldWorker).toEqualTypeOf<() => boolean>();
        expectTypeOf(worker.oldMasterPid).toEqualTypeOf<number | undefined>();
      },
    });
    // @ts-expect-error concurrency must be a number
    defineConfig({ jobs, concurrency: 'two' });
    // @ts-expect-error jobs is required
    defineConfig({ concurrency: 1 });
    // @ts-expect-error a misspelled field is an excess property (issue 11)
    defineConfig({ jobs, concurency: 2 });
    expectTypeOf<ResqueStarterConfig['redis']>().toMatchTypeOf<string | object | undefined>();
  });

  // Issue 11 item 3: the fixtures under test/types are compiled here, so `npm test` fails when
  // the types go loose (an unused @ts-expect-error is a compile error).
  it('test/types: every wrong config is a type error, every right one compiles', async () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const project = fileURLToPath(new URL('./types/tsconfig.json', import.meta.url));
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', project], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 150_000);
});

describe('resolveConfig', () => {
  it('applies the documented defaults', () => {
    const c = resolveConfig({ jobs }, { ...ctx, env: { REDIS_URL: 'redis://r:1' } });
    expect(c).toMatchObject({
      concurrency: 1,
      queues: ['*'],
      redis: 'redis://r:1',
      namespace: 'resque',
      dequeueInterval: undefined,
      jobConcurrency: 1,
      prefetch: 16,
      stopTimeoutMs: 60_000,
      termTimeoutMs: 4000,
      readyTimeoutMs: 30_000,
      statusIntervalMs: 1000,
      crashLoop: { deaths: 4, windowMs: 60_000, delayMs: 1000, maxDelayMs: 60_000 },
      logLevel: 'info',
    });
    expect(resolveConfig({ jobs }, ctx).redis).toBe('redis://127.0.0.1:6379');
    expect(c.logFormat).toBe('text');
    expect(c.jobLog).toEqual({ sample: 1 });
    expect(resolveConfig({ jobs, jobLog: false }, ctx).jobLog).toEqual({ sample: 0 });
    expect(resolveConfig({ jobs, jobLog: { sample: 0.25 } }, ctx).jobLog).toEqual({ sample: 0.25 });
    expect(resolveConfig({ jobs }, { ...ctx, env: { BATON_LOG_FORMAT: 'json' } }).logFormat).toBe('json');
    expect(resolveConfig({ jobs, logFormat: 'text' }, { ...ctx, env: { BATON_LOG_FORMAT: 'json' } }).logFormat).toBe('text');
    expect(typeof c.afterFork).toBe('function');
  });

  it('resolves paths against the config file, converts units', () => {
    const c = resolveConfig(
      { jobs, pidFile: 'tmp/m.pid', statusFile: '/abs/s.json', maxMemory: 1.5, maxLifetime: 0.5, jobTimeout: 2, queues: 'a, b ,c', stopTimeout: Infinity },
      ctx,
    );
    expect(c.pidFile).toBe('/srv/app/tmp/m.pid');
    expect(c.statusFile).toBe('/abs/s.json');
    expect(c.maxMemoryKb).toBe(1536);
    expect(c.maxLifetimeMs).toBe(500);
    expect(c.jobTimeoutMs).toBe(2000);
    expect(c.queues).toEqual(['a', 'b', 'c']);
    expect(c.stopTimeoutMs).toBe(0);
  });

  it.each([
    [{ jobs, concurrency: -1 }, /Expected `concurrency` to be an integer ≥ 0, got `-1` \(number\)/],
    [{ jobs, prefetch: 0 }, /Expected `prefetch` to be an integer ≥ 1, got `0` \(number\)/],
    [{ jobs, prefetch: 5000 }, /Expected `prefetch` to be an integer from 1 to 1000, got `5000` \(number\)/],
    [{ jobs, concurrency: 1.5 }, /`concurrency`/],
    [{ concurrency: 1 }, /Missing `jobs`/],
    [{ jobs: { A: 'nope' } }, /handler of job `A` to be a function/],
    [{ jobs, queues: [] }, /at least one queue/],
    [{ jobs, queues: ['a b'] }, /without spaces/],
    [{ jobs, redis: 'http://x' }, /redis:\/\/ or rediss:\/\//],
    [{ jobs, redis: 42 }, /URL, ioredis options/],
    [{ jobs, stopTimeout: 0 }, /Expected `stopTimeout` to be between 0.1 and 86400 seconds, got `0`$/],
    [{ jobs, logLevel: 'loud' }, /`logLevel` to be one of/],
    [{ jobs, logFormat: 'xml' }, /Expected `logFormat` to be 'text' or 'json', got `xml` \(string\)/],
    [{ jobs, format: 'json' }, /Unknown config field `format`; did you mean `logFormat`\?/],
    [{ jobs, jobLog: 'yes' }, /Expected `jobLog` to be true, false or `\{ sample: 0.1 \}`/],
    [{ jobLog: { sample: 1.5 }, jobs }, /Expected `jobLog.sample` to be a number from 0 to 1, got `1.5` \(number\)/],
    [{ jobs, jobLog: { rate: 0.1 } }, /Unknown field `jobLog.rate`/],
    [{ jobs, crashLoop: { deaths: -1 } }, /crashLoop.deaths/],
    [{ jobs, crashLoop: { dealy: 1 } }, /Unknown field `crashLoop.dealy`/],
    [{ jobs, concurency: 2 }, /Unknown config field `concurency`/],
    [{ jobs, PidFile: 'x' }, /did you mean `pidFile`/],
    [{ jobs, afterFork: 'x' }, /`afterFork` to be a function/],
    [{ jobs, user: -3 }, /`user` to be a name or a numeric id/],
    [null, /export default defineConfig/],
  ])('%o → ConfigError %s', (raw, message) => {
    expect(() => resolveConfig(raw, ctx)).toThrow(message);
  });

  it('points a validation error at the line of the field', () => {
    const source = "export default defineConfig({\n  jobs,\n  concurrency: -1,\n});\n";
    try {
      resolveConfig({ jobs, concurrency: -1 }, { ...ctx, source });
      expect.fail('should throw');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).shortMessage).toBe('/srv/app/conf.ts:3:3: Expected `concurrency` to be an integer ≥ 0, got `-1` (number)');
    }
  });

  it('never shows a Redis password', () => {
    expect(redactUrl('redis://:s3cret@host:6379/0')).toBe('redis://:***@host:6379/0');
    expect(redactUrl('redis://user:s3cret@host')).toBe('redis://user:***@host');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
    expect(() => resolveConfig({ jobs, redis: 'http://:pw@x' }, ctx)).toThrow(/:\*\*\*@x/);
  });

  // Issue 10 item 22: the password is whatever ioredis takes it to be (up to the last `@`).
  it.each([
    ['redis://u:Pa@ssW0rdX@127.0.0.1:6390/0', 'redis://u:***@127.0.0.1:6390/0'],
    ['redis://127.0.0.1:6390/0?password=S3cret', 'redis://127.0.0.1:6390/0?password=***'],
    ['redis://u@127.0.0.1:6390/0?db=1&password=S3cret&x=1', 'redis://***@127.0.0.1:6390/0?db=1&password=***&x=1'],
    // A user info without `:` is the legacy password-only form: hidden as a whole.
    ['redis://S3cret@127.0.0.1:6390/0', 'redis://***@127.0.0.1:6390/0'],
    ['rediss://S3cret@host', 'rediss://***@host'],
    ['redis://S3cr%40t@host', 'redis://***@host'],
    ['rediss://:p%2Fw@host', 'rediss://:***@host'],
    ['/tmp/redis.sock?password=S3cret', '/tmp/redis.sock?password=***'],
    ['redis://u:pa/ss@127.0.0.1:6390', 'redis://***@127.0.0.1:6390'],
    ['redis://u:pa?ss@host', 'redis://***@host'],
  ])('redactUrl(%s) → %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
    expect(describeRedis(url)).toBe(redacted);
  });

  it.each([['redis://u:pa/ss@127.0.0.1:6390/0'], ['redis://u:pa#ss@127.0.0.1:6390/0'], ['redis://u:pa?ss@127.0.0.1:6390/0']])(
    'a password with / # ? (%s) is a ConfigError that says to percent-encode it, without the password',
    (url) => {
      let err: unknown;
      try {
        resolveConfig({ jobs, redis: url }, ctx);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toMatch(/^Expected `redis` to be a valid URL, got `redis:\/\/\*\*\*@127\.0\.0\.1:6390\/0`; percent-encode/);
      expect((err as ConfigError).message).not.toMatch(/pa.ss/);
    },
  );
});

// Issue 10 item 13: every duration has a range; Node timers overflow above 2³¹−1 ms.
describe('duration ranges', () => {
  const cases = Object.entries(DURATION_RANGES).map(([label, [min, max]]) => {
    const [outer, inner] = label.split('.') as [string, string | undefined];
    const raw = (v: unknown) => (inner ? { jobs, [outer]: { [inner]: v } } : { jobs, [outer]: v });
    return { label, min, max, raw };
  });

  it('covers every duration field of the config', () => {
    expect(cases.map((c) => c.label).sort()).toEqual(
      ['crashLoop.delay', 'crashLoop.maxDelay', 'crashLoop.window', 'dequeueInterval', 'jobTimeout', 'lockTimeout', 'maxLifetime', 'readyTimeout', 'redisTimeout', 'scheduler.catchUp', 'scheduler.lockTtl', 'statusInterval', 'stopTimeout', 'termTimeout'].sort(),
    );
    // The largest allowed value (maxLifetime with its 10 % jitter) still fits a Node timer.
    for (const c of cases) expect(c.max * 1000 * 1.1).toBeLessThan(2 ** 31 - 1);
  });

  it.each(cases)('$label accepts $min and $max', ({ min, max, raw }) => {
    expect(() => resolveConfig(raw(min), ctx)).not.toThrow();
    expect(() => resolveConfig(raw(max), ctx)).not.toThrow();
  });

  it.each(cases.flatMap((c) => [
    { ...c, value: c.min / 2 },
    { ...c, value: c.max + 1 },
    { ...c, value: 3e6 },
    { ...c, value: -1 },
    { ...c, value: Number.NaN },
  ]).filter((c) => !(c.value >= c.min && c.value <= c.max)))('$label: $value → ConfigError', ({ label, min, max, raw, value }) => {
    expect(() => resolveConfig(raw(value), ctx)).toThrow(`Expected \`${label}\` to be between ${min} and ${max} seconds, got \`${String(value)}\``);
  });

  it('gives the message of the issue for lockTimeout 0.001, and keeps stopTimeout: Infinity', () => {
    expect(() => resolveConfig({ jobs, lockTimeout: 0.001 }, ctx)).toThrow('Expected `lockTimeout` to be between 1 and 3600 seconds, got `0.001`');
    expect(() => resolveConfig({ jobs, readyTimeout: '30' }, ctx)).toThrow('Expected `readyTimeout` to be between 0.1 and 3600 seconds, got `30` (string)');
    expect(resolveConfig({ jobs, stopTimeout: Infinity }, ctx).stopTimeoutMs).toBe(0);
    expect(resolveConfig({ jobs, lockTimeout: 1, dequeueInterval: 0.5 }, ctx)).toMatchObject({ lockTimeoutMs: 1000, dequeueInterval: 0.5 });
  });
});

// Issue 10 item 14: a configurable ceiling on workers.
describe('maxConcurrency', () => {
  it('defaults to 128 and bounds concurrency', () => {
    expect(resolveConfig({ jobs }, ctx).maxConcurrency).toBe(128);
    expect(resolveConfig({ jobs, concurrency: 128 }, ctx).concurrency).toBe(128);
    expect(resolveConfig({ jobs, concurrency: 300, maxConcurrency: 300 }, ctx)).toMatchObject({ concurrency: 300, maxConcurrency: 300 });
  });

  it.each([
    [{ jobs, concurrency: 1e9 }, 'Expected `concurrency` to be at most `maxConcurrency` (128), got `1000000000`'],
    [{ jobs, concurrency: 129 }, 'Expected `concurrency` to be at most `maxConcurrency` (128), got `129`'],
    [{ jobs, concurrency: 9, maxConcurrency: 8 }, 'Expected `concurrency` to be at most `maxConcurrency` (8), got `9`'],
    [{ jobs, maxConcurrency: 0 }, 'Expected `maxConcurrency` to be an integer ≥ 1, got `0` (number)'],
    [{ jobs, maxConcurrency: 4097 }, 'Expected `maxConcurrency` to be an integer from 1 to 4096, got `4097`'],
    [{ jobs, maxConcurrency: 2.5 }, '`maxConcurrency` to be an integer'],
  ])('%o → %s', (raw, message) => {
    expect(() => resolveConfig(raw, ctx)).toThrow(message);
  });
});

// Issue 10 item 23: the mode of the status and log files.
describe('fileMode', () => {
  it('defaults to 0o640', () => {
    expect(resolveConfig({ jobs }, ctx).fileMode).toBe(0o640);
  });

  it.each([
    [0o600, 0o600],
    [0o640, 0o640],
    [0o664, 0o664],
    ['0640', 0o640],
    ['640', 0o640],
    ['0o644', 0o644],
    [' 0600 ', 0o600],
  ])('%o → %o', (value, mode) => {
    expect(parseFileMode(value)).toBe(mode);
    expect(resolveConfig({ jobs, fileMode: value }, ctx).fileMode).toBe(mode);
  });

  it.each([[0o666], ['0666'], [0o400], ['0440'], [0o1640], [-1], ['rw-r-----'], ['0648'], [6.4], [null], [true]])('%o is refused', (value) => {
    expect(parseFileMode(value)).toBeUndefined();
    expect(() => resolveConfig({ jobs, fileMode: value }, ctx)).toThrow(/Expected `fileMode` to be a file mode such as 0o640 or '0640'/);
  });
});

// The first load starts jiti and transpiles the fixture and the package: seconds on a busy machine
// (a CI run at load 12 passed 5 s); the file's later loads reuse it.
describe('loadConfigFile (jiti)', { timeout: 30_000 }, () => {
  it('loads a TypeScript config that imports defineConfig from the package', async () => {
    const { config } = await loadConfigFile(fixture('good.ts'));
    expect(config.concurrency).toBe(2);
    expect(config.queues).toEqual(['high', 'low']);
    expect(config.pidFile).toBe(fixture('tmp/master.pid'));
    expect(Object.keys(config.jobs)).toEqual(['Echo']);
  });

  it.each([
    ['syntax.ts', /syntax\.ts:3:\d+: syntax error: Unexpected token/],
    ['invalid.ts', /invalid\.ts:5:3: Expected `concurrency` to be an integer ≥ 0/],
    ['throws.ts', /throws\.ts:3:\d+: the config file threw: PORT is not a number/],
    ['missing-import.ts', /missing-import\.ts:1: cannot import `no-such-package-anywhere`: not found/],
    ['nope.ts', /nope\.ts: config file not found/],
    ['', /fixtures: the config path is a directory, not a file/],
  ])('%s → one line with file:line', async (name, message) => {
    const err = await loadConfigFile(fixture(name)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).shortMessage).toMatch(message);
    expect((err as ConfigError).shortMessage).not.toContain('\n');
  });

  // Issue 10 item 15: a top-level await that never settles.
  it('times out on a config that never finishes loading, with a ConfigError', async () => {
    const t0 = performance.now();
    const err = await loadConfigFile(fixture('hangs.ts'), { RESQUE_STARTER_CONFIG_TIMEOUT: '0.3' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).shortMessage).toMatch(
      /hangs\.ts: the config file did not finish loading within 0\.3 s \(a top-level await that never settles\?\); RESQUE_STARTER_CONFIG_TIMEOUT sets the limit in seconds$/,
    );
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it.each([['0'], ['abc'], ['-1'], ['99999']])('RESQUE_STARTER_CONFIG_TIMEOUT=%s is a ConfigError', async (value) => {
    const err = await loadConfigFile(fixture('good.ts'), { RESQUE_STARTER_CONFIG_TIMEOUT: value }).catch((e: unknown) => e);
    expect((err as ConfigError).message).toBe(`Expected RESQUE_STARTER_CONFIG_TIMEOUT to be between 0.1 and 3600 seconds, got \`${value}\``);
  });

  // Issue 10 item 17: an unreadable config is not "not found".
  it.each([
    ['ENOENT', /^config file not found$/],
    ['ENOTDIR', /^config file not found$/],
    ['EACCES', /^cannot read the config file: permission denied \(EACCES, running as uid \d+\)$/],
    ['EPERM', /^cannot read the config file: permission denied \(EPERM/],
    ['EIO', /^cannot read the config file: EIO boom$/],
  ])('describeReadError(%s)', (code, message) => {
    expect(describeReadError(Object.assign(new Error('boom\nmore'), { code }))).toMatch(message);
  });
});

// Issue 11 item 4: every mistake of a config in one run.
describe('resolveConfig reports every mistake at once', () => {
  const source = [
    "export default defineConfig({", //                  1
    "  jobs: { A: () => 1, B: 'nope' },", //             2
    "  concurency: 2,", //                                3
    "  queue: ['a'],", //                                 4
    "  pidfile: 'm.pid',", //                             5
    "  crashloop: { deaths: 1 },", //                     6
    "  stopTimeout: 0,", //                               7
    "  crashLoop: { dealy: 1, window: 0 },", //           8
    "  hooks: { beforPerform() {} },", //                 9
    "});",
  ].join('\n');
  const raw = {
    jobs: { A: () => 1, B: 'nope' },
    concurency: 2,
    queue: ['a'],
    pidfile: 'm.pid',
    crashloop: { deaths: 1 },
    stopTimeout: 0,
    crashLoop: { dealy: 1, window: 0 },
    hooks: { beforPerform() {} },
  };

  it('one ConfigError, one line per mistake with file:line:col, in file order, with "did you mean"', () => {
    let err: unknown;
    try {
      resolveConfig(raw, { ...ctx, source });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.issues.map((i) => `${i.location}: ${i.message}`)).toEqual([
      '/srv/app/conf.ts:2:23: Expected the handler of job `B` to be a function or `{ perform, retry }`, got `nope` (string)',
      '/srv/app/conf.ts:3:3: Unknown config field `concurency`; did you mean `concurrency`?',
      '/srv/app/conf.ts:4:3: Unknown config field `queue`; did you mean `queues`?',
      '/srv/app/conf.ts:5:3: Unknown config field `pidfile`; did you mean `pidFile`?',
      '/srv/app/conf.ts:6:3: Unknown config field `crashloop`; did you mean `crashLoop`?',
      '/srv/app/conf.ts:7:3: Expected `stopTimeout` to be between 0.1 and 86400 seconds, got `0`',
      '/srv/app/conf.ts:8:16: Unknown field `crashLoop.dealy`; did you mean `crashLoop.delay`?',
      // A nested field is located by its first `name:` in the file (as before).
      '/srv/app/conf.ts:8:26: Expected `crashLoop.window` to be between 1 and 86400 seconds, got `0`',
      '/srv/app/conf.ts:9:12: Unknown hook `hooks.beforPerform`; did you mean `hooks.beforePerform`?',
    ]);
    expect(e.shortMessage).toBe(`/srv/app/conf.ts: 9 errors:\n${e.issues.map((i) => `  ${i.location}: ${i.message}`).join('\n')}`);
  });

  it('a single mistake stays the one-line error it was', () => {
    const err = (() => {
      try {
        resolveConfig({ jobs, concurrency: -1 }, ctx);
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err?.shortMessage).toBe('/srv/app/conf.ts: Expected `concurrency` to be an integer ≥ 0, got `-1` (number)');
    expect(err?.issues).toHaveLength(1);
  });

  it('a field that fails reads as its default, so no mistake is reported twice or caused by another', () => {
    // `concurrency: 'x'` is not then also "above maxConcurrency"; a bad maxConcurrency does not fail concurrency.
    expect(() => resolveConfig({ jobs, concurrency: 'x', maxConcurrency: 0 }, ctx)).toThrow(
      /^2 errors:\n {2}\/srv\/app\/conf\.ts: Expected `maxConcurrency` to be an integer ≥ 1, got `0` \(number\)\n {2}\/srv\/app\/conf\.ts: Expected `concurrency` to be an integer ≥ 0, got `x` \(string\)$/,
    );
    expect(() => resolveConfig({ jobs: 5, queues: 7, redis: 42, logLevel: 'loud', fileMode: 0o777, crashLoop: 3, hooks: 1, prefetch: 0 }, ctx)).toThrow(/^8 errors:/);
  });

  it('a misspelled hook name is an error; a hook that is not a function too', () => {
    expect(() => resolveConfig({ jobs, hooks: { afterPerform: 1 } }, ctx)).toThrow('Expected `hooks.afterPerform` to be a function, got `1` (number)');
    expect(() => resolveConfig({ jobs, hooks: { onFail() {} } }, ctx)).toThrow(/Unknown hook `hooks.onFail`; did you mean `hooks.onFailure`\?/);
    expect(() => resolveConfig({ jobs, hooks: { zzz() {} } }, ctx)).toThrow(/Unknown hook `hooks.zzz`; known: `hooks.beforePerform`, /);
    expect(resolveConfig({ jobs, hooks: { beforePerform() {}, workerExit() {} } }, ctx).hooks).toBeDefined();
  });
});

describe('loadConfigFile: no default export', () => {
  it('`export const config = defineConfig(...)` says "no default export" at that line', async () => {
    const err = await loadConfigFile(fixture('named-export.ts')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).shortMessage).toMatch(
      /named-export\.ts:3:1: no default export: the config file exports `config` but not `default`; end it with `export default defineConfig\(\{ \.\.\. \}\)`$/,
    );
  });

  it('a file that exports nothing says so', async () => {
    const err = await loadConfigFile(fixture('no-export.ts')).catch((e: unknown) => e);
    expect((err as ConfigError).shortMessage).toMatch(/no-export\.ts: no default export: the config file exports nothing; end it with `export default defineConfig/);
  });
});

describe('groups (issue 13)', () => {
  const jobsAB = { A: () => undefined, B: () => undefined };

  it('a config without groups is one group `default` made of the top-level fields', () => {
    const c = resolveConfig({ jobs: jobsAB, concurrency: 3, queues: 'a,b', jobConcurrency: 2, maxMemory: 100 }, ctx);
    expect(c.groups).toHaveLength(1);
    expect(c.groups[0]).toMatchObject({ name: 'default', concurrency: 3, queues: ['a', 'b'], jobConcurrency: 2, maxMemoryKb: 102400, namespace: 'resque' });
    expect(Object.keys(c.groups[0]!.jobs)).toEqual(['A', 'B']);
    expect(c.version).toBeUndefined();
  });

  it('groups inherit every top-level field they do not set, in config order', () => {
    const c = resolveConfig(
      {
        jobs: jobsAB,
        concurrency: 2,
        jobTimeout: 30,
        redis: 'redis://127.0.0.1:7000',
        version: 42,
        groups: {
          critical: { queues: ['critical'], concurrency: 4, maxMemory: 200 },
          mail: { queues: 'mail', jobConcurrency: 8, jobs: ['B'] },
          reports: { queues: ['reports'], concurrency: 1, redis: 'redis://127.0.0.1:7001/2', namespace: 'rep', jobTimeout: 600, maxJobs: 5, maxLifetime: 3600 },
        },
      },
      ctx,
    );
    expect(c.version).toBe('42');
    expect(c.groups.map((g) => g.name)).toEqual(['critical', 'mail', 'reports']);
    const [critical, mail, reports] = c.groups;
    expect(critical).toMatchObject({ concurrency: 4, queues: ['critical'], maxMemoryKb: 204800, jobConcurrency: 1, jobTimeoutMs: 30_000, redis: 'redis://127.0.0.1:7000' });
    expect(mail).toMatchObject({ concurrency: 2, queues: ['mail'], jobConcurrency: 8, namespace: 'resque' });
    expect(Object.keys(mail!.jobs)).toEqual(['B']);
    expect(reports).toMatchObject({ concurrency: 1, redis: 'redis://127.0.0.1:7001/2', namespace: 'rep', jobTimeoutMs: 600_000, maxJobs: 5, maxLifetimeMs: 3_600_000 });
  });

  it('configForGroup gives the config as a worker of that group sees it', async () => {
    const { configForGroup } = await import('../src/config-groups.js');
    const c = resolveConfig({ jobs: jobsAB, groups: { mail: { queues: ['mail'], jobConcurrency: 8, jobs: ['A'] } } }, ctx);
    const m = configForGroup(c, 'mail')!;
    expect(m).toMatchObject({ queues: ['mail'], jobConcurrency: 8, concurrency: 1 });
    expect(Object.keys(m.jobs)).toEqual(['A']);
    expect(configForGroup(c, 'nope')).toBeUndefined();
  });

  it('reports every mistake in groups at once, named by group', () => {
    const bad = () =>
      resolveConfig(
        {
          jobs: jobsAB,
          groups: { 'bad name': {}, ok: { concurency: 2, jobs: ['C'] }, mail: { concurrency: -1, queues: 5 }, n: 3 },
        },
        ctx,
      );
    expect(bad).toThrow(ConfigError);
    const msg = (() => {
      try {
        bad();
      } catch (e) {
        return (e as ConfigError).message;
      }
      return '';
    })();
    expect(msg).toContain('got `bad name`');
    expect(msg).toContain('Unknown field `groups.ok.concurency`');
    expect(msg).toContain('did you mean `concurrency`?');
    expect(msg).toContain('to name jobs of the top-level `jobs`, got `C`');
    expect(msg).toContain('Expected `concurrency` to be an integer ≥ 0, got `-1`');
    expect(msg).toContain('Expected `queues` to be a list of queue names');
    expect(msg).toContain('Expected group `n` to be an object');
    expect(() => resolveConfig({ jobs: jobsAB, groups: {} }, ctx)).toThrow(/at least one worker group/);
    expect(() => resolveConfig({ jobs: jobsAB, groups: [] }, ctx)).toThrow(/`groups` to be an object of worker groups/);
    expect(() => resolveConfig({ jobs: jobsAB, version: {} }, ctx)).toThrow(/`version` to be a non-empty string or a number/);
  });

  it('autoscale: defaults, bounds, and a group starting within them', () => {
    const c = resolveConfig({ jobs: jobsAB, groups: { mail: { concurrency: 0, autoscale: { min: 1, max: 6, maxWait: 30 } }, fixed: {} } }, ctx);
    expect(c.groups[0]).toMatchObject({ concurrency: 1, autoscale: { min: 1, max: 6, jobsPerWorker: 10, maxWaitMs: 30_000, intervalMs: 2000, downAfterMs: 30_000 } });
    expect(c.groups[1]!.autoscale).toBeUndefined();
    const bad = () => resolveConfig({ jobs: jobsAB, groups: { a: { autoscale: { min: 3, max: 2, every: 1 } }, b: { maxConcurrency: 4, autoscale: { min: 1, max: 9 } }, c: { autoscale: { max: 2 } } } }, ctx);
    expect(bad).toThrow(/`autoscale.max` \(2\) to be at least `autoscale.min` \(3\)/);
    expect(bad).toThrow(/Unknown field `autoscale.every`/);
    expect(bad).toThrow(/`autoscale.max` to be at most `maxConcurrency` \(4\), got `9`/);
    expect(bad).toThrow(/`autoscale` to set both `min` and `max`/);
  });

  it('an exported array of configs points at `groups`', () => {
    expect(() => resolveConfig([{ jobs: jobsAB }, { jobs: jobsAB }], ctx)).toThrow(/got an array; to run several pools of workers from one master, make them `groups`/);
  });

  it('types groups: a misspelled group field is an excess property', () => {
    defineConfig({ jobs: jobsAB, version: 'v1', groups: { mail: { queues: ['mail'], jobConcurrency: 8, jobs: ['A'] } } });
    // @ts-expect-error a misspelled group field
    defineConfig({ jobs: jobsAB, groups: { mail: { concurency: 2 } } });
  });
});

describe('redisSecrets', () => {
  it('every password the config gives for Redis, as written and decoded; no user names', () => {
    expect(
      redisSecrets([
        'redis://app:p%40ss@h:1/0',
        'redis://default@h:2',
        'redis://h:3/?password=q1',
        '/tmp/redis.sock',
        { host: 'h', password: 'opt-pw', sentinelPassword: 'sent-pw' },
        { cluster: [{ host: 'h', port: 7000 }], options: { redisOptions: { password: 'cl-pw' } } },
      ]).sort(),
    ).toEqual(['cl-pw', 'opt-pw', 'p%40ss', 'p@ss', 'q1', 'sent-pw']);
  });
});
