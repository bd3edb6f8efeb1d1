import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineConfig, resolveConfig, redactUrl, type ResqueStarterConfig, type WorkerHandle } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { loadConfigFile } from '../src/load-config.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const ctx = { path: '/srv/app/conf.ts', env: {} };
const jobs = { A: () => undefined };

describe('defineConfig', () => {
  it('is the identity and keeps literal types', () => {
    const c = defineConfig({ concurrency: 3, queues: ['a', 'b'], jobs });
    expect(c.concurrency).toBe(3);
    expectTypeOf(c.concurrency).toEqualTypeOf<3>();
    expectTypeOf(c.queues).toEqualTypeOf<readonly ['a', 'b']>();
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
    expectTypeOf<ResqueStarterConfig['redis']>().toMatchTypeOf<string | object | undefined>();
  });
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
    [{ jobs, redis: 42 }, /URL or ioredis options/],
    [{ jobs, stopTimeout: 0 }, /`stopTimeout` to be a positive number/],
    [{ jobs, logLevel: 'loud' }, /`logLevel` to be one of/],
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
});

describe('loadConfigFile (jiti)', () => {
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
  ])('%s → one line with file:line', async (name, message) => {
    const err = await loadConfigFile(fixture(name)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).shortMessage).toMatch(message);
    expect((err as ConfigError).shortMessage).not.toContain('\n');
  });
});
