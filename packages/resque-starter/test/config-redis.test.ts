import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { describeRedis, namespaceHashTag, resolveConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

const ctx = { path: '/srv/app/conf.ts', env: {} };
const jobs = { A: () => undefined };

/** The one-line messages of the ConfigError `resolveConfig` throws for `raw`. */
function errorsOf(raw: Record<string, unknown>, source?: string): string[] {
  try {
    resolveConfig({ jobs, ...raw }, { ...ctx, source });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => i.message);
  }
  return [];
}

describe('config: redis topologies', () => {
  const sentinel = { sentinels: [{ host: '127.0.0.1', port: 26379 }, { host: '127.0.0.1', port: 26380 }], name: 'mymaster' };
  const cluster = { cluster: [{ host: '127.0.0.1', port: 7000 }, '127.0.0.1:7001'], options: { scaleReads: 'master' } };

  it.each([
    ['a URL', 'redis://:pw@10.0.0.1:6380/2'],
    ['a socket path', '/run/redis.sock'],
    ['ioredis options', { host: '10.0.0.1', port: 6380, password: 'pw' }],
    ['a Sentinel set', sentinel],
    ['a Sentinel set with its own password', { ...sentinel, sentinelPassword: 's', password: 'p' }],
  ])('accepts %s as is', (_, redis) => {
    expect(resolveConfig({ jobs, redis }, ctx).redis).toEqual(redis);
  });

  it('accepts a Cluster node list with a hash-tagged namespace', () => {
    const c = resolveConfig({ jobs, redis: cluster, namespace: '{resque}' }, ctx);
    expect(c.redis).toEqual(cluster);
    expect(c.namespace).toBe('{resque}');
    expect(resolveConfig({ jobs, redis: cluster, namespace: 'app:{jobs}:x' }, ctx).namespace).toBe('app:{jobs}:x');
  });

  it('refuses a Cluster without a hash-tagged namespace, saying why and what to write', () => {
    expect(errorsOf({ redis: cluster })).toEqual([
      "Expected `namespace` to carry a hash tag with Redis Cluster, got `resque`: Resque's keys are used together (Lua scripts, MULTI) and Cluster " +
        'refuses keys on different slots (CROSSSLOT); a tag puts them all on one slot; did you mean `{resque}`?',
    ]);
    expect(errorsOf({ redis: cluster, namespace: 'jobs' })[0]).toMatch(/got `jobs`.*did you mean `\{jobs\}`\?$/);
    // `{}` is no tag (Redis hashes the whole key), nor is an unclosed brace.
    expect(errorsOf({ redis: cluster, namespace: '{}jobs' })[0]).toMatch(/did you mean `\{resque\}`\?$/);
    expect(errorsOf({ redis: cluster, namespace: '{jobs' })).toHaveLength(1);
  });

  it('points the namespace error at the namespace line, or at redis when namespace is left out', () => {
    const source = "export default defineConfig({\n  jobs,\n  redis: { cluster: ['h:1'] },\n  namespace: 'app',\n});\n";
    try {
      resolveConfig({ jobs, redis: { cluster: ['h:1'] }, namespace: 'app' }, { ...ctx, source });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).location).toBe('/srv/app/conf.ts:4:3');
    }
    try {
      resolveConfig({ jobs, redis: { cluster: ['h:1'] } }, { ...ctx, source: source.replace("  namespace: 'app',\n", '') });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).location).toBe('/srv/app/conf.ts:3:3');
    }
  });

  it('refuses ioredis client objects with one line that says what to give instead', () => {
    const redis = new Redis({ lazyConnect: true });
    const cl = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true });
    try {
      const [forRedis] = errorsOf({ redis });
      expect(forRedis).toBe(
        'Expected `redis` to be a URL or options, got an ioredis Redis client: the master opens its own connections in every worker process, ' +
          'so give what the client is made from (a URL, `{ host, port }`, `{ sentinels, name }` or `{ cluster: [{ host, port }], options }`)',
      );
      expect(errorsOf({ redis: cl })[0]).toMatch(/^Expected `redis` to be a URL or options, got an ioredis Cluster client: /);
      expect(errorsOf({ redis: new (class Pool {})() })[0]).toMatch(/got a Pool object: /);
      expect(errorsOf({ redis: new Map() })[0]).toMatch(/got a Map object: /);
    } finally {
      redis.disconnect();
      cl.disconnect();
    }
  });

  it.each([
    [{ sentinels: [{ host: 'h', port: 26379 }] }, 'Missing `redis.name` beside `redis.sentinels`: the name of the master the Sentinels monitor (e.g. `mymaster`)'],
    [{ sentinels: [], name: 'm' }, 'Expected `redis.sentinels` to list the Sentinels, e.g. `[{ host: \'10.0.0.1\', port: 26379 }]`, got an array'],
    [{ sentinels: ['h:26379'], name: 'm' }, 'Expected each of `redis.sentinels` to be `{ host, port }`, got `h:26379` (string)'],
    [{ sentinels: [{ host: 'h', port: 26379 }], name: 3 }, 'Expected `redis.name` to be the master name the Sentinels monitor, got `3` (number)'],
    [{ sentinel: [{ host: 'h', port: 26379 }], name: 'm' }, 'Unknown Redis option `redis.sentinel`; did you mean `redis.sentinels`?'],
    [{ sentinels: [{ host: 'h', port: 26379 }], masterName: 'm', name: 'm' }, undefined],
    [{ startupNodes: [{ host: 'h', port: 1 }] }, 'Unknown Redis option `redis.startupNodes`; did you mean `redis.cluster`?'],
    [{ url: 'redis://h' }, "`redis.url` is not an ioredis option: give the URL itself, `redis: 'redis://…'`"],
    [{ cluster: [] }, "Expected `redis.cluster` to list at least one node, e.g. `[{ host: '10.0.0.1', port: 7000 }]`"],
    [{ cluster: [7000] }, "Expected each node of `redis.cluster` to be `{ host, port }` or `'host:port'`, got `7000` (number)"],
    [{ cluster: ['h'] }, "Expected each node of `redis.cluster` to be `{ host, port }` or `'host:port'`, got `h`"],
    [{ cluster: ['h:1'], option: {} }, 'Unknown field `redis.option` beside `redis.cluster`; did you mean `redis.options`?: Cluster options go in `redis.options` (and per-node ones, such as the password, in `redis.options.redisOptions`)'],
    [{ cluster: ['h:1'], options: 'x' }, 'Expected `redis.options` to be ioredis Cluster options, got `x` (string)'],
  ])('%j → one line', (redis, message) => {
    const errors = errorsOf({ redis, namespace: '{r}' });
    expect(errors).toEqual(message === undefined ? [] : [message]);
  });

  it('reports a redis mistake together with every other mistake of the file', () => {
    const errors = errorsOf({ redis: { sentinels: [{ host: 'h', port: 1 }] }, concurrency: -1, durability: { replica: 1 } });
    expect(errors).toHaveLength(4);
    expect(errors).toContain('Unknown field `durability.replica`; did you mean `durability.replicas`?');
    expect(errors).toContain('Missing `durability.replicas`: how many replicas must have a write before it counts (e.g. 1)');
  });
});

describe('config: durability', () => {
  it('is off by default; timeout in seconds, 1 s by default', () => {
    expect(resolveConfig({ jobs }, ctx).durability).toBeUndefined();
    expect(resolveConfig({ jobs, durability: { replicas: 1 } }, ctx).durability).toEqual({ replicas: 1, timeoutMs: 1000 });
    expect(resolveConfig({ jobs, durability: { replicas: 2, timeout: 0.25 } }, ctx).durability).toEqual({ replicas: 2, timeoutMs: 250 });
  });

  it.each([
    [{ replicas: 0 }, 'Expected `durability.replicas` to be an integer from 1 to 16, got `0`'],
    [{ replicas: 1.5 }, 'Expected `durability.replicas` to be an integer from 1 to 16, got `1.5`'],
    [{ replicas: 1, timeout: 0 }, 'Expected `durability.timeout` to be between 0.01 and 60 seconds, got `0`'],
    [{ replicas: 1, timeoutMs: 500 }, 'Unknown field `durability.timeoutMs`; did you mean `durability.timeout` (in seconds, like every duration of the config)?'],
    [true, 'Expected `durability` to be `{ replicas, timeout }`, got `true` (boolean)'],
  ])('%j → one line', (durability, message) => {
    expect(errorsOf({ durability })).toEqual([message]);
  });

  it('a timeout in milliseconds is out of range, and the error says durations are in seconds', () => {
    expect(errorsOf({ durability: { replicas: 1, timeout: 5000 } })).toEqual([
      'Expected `durability.timeout` to be between 0.01 and 60 seconds, got `5000` (durations are in seconds, not milliseconds: `timeout: 5`?)',
    ]);
  });
});

it('durability with a Cluster is refused with the reason', () => {
  expect(errorsOf({ durability: { replicas: 1 }, redis: { cluster: ['h:1'] }, namespace: '{r}' })).toEqual([
    'Expected no `durability` with Redis Cluster: WAIT must reach the shard that took the write, and a Cluster connection sends it to any node; use Sentinel or a replicated primary, or drop `durability`',
  ]);
});

describe('describeRedis', () => {
  it.each([
    ['redis://:s3cret@10.0.0.1:6379/0', 'redis://:***@10.0.0.1:6379/0'],
    [{ host: '10.0.0.1', port: 6380, password: 'x' }, '10.0.0.1:6380'],
    [{ host: '10.0.0.1', db: 3 }, '10.0.0.1:6379 db 3'],
    [{ path: '/run/redis.sock' }, '/run/redis.sock'],
    [{ sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }], name: 'mymaster', sentinelPassword: 'x' }, 'sentinel mymaster via 10.0.0.1:26379,10.0.0.2:26379'],
    [{ cluster: [{ host: '10.0.0.1', port: 7000 }, '10.0.0.2:7000'], options: { redisOptions: { password: 'x' } } }, 'cluster 10.0.0.1:7000,10.0.0.2:7000'],
  ])('%j → %s', (redis, described) => {
    expect(describeRedis(redis)).toBe(described);
  });
});

describe('namespaceHashTag', () => {
  it.each([
    ['{resque}', 'resque'],
    ['app:{jobs}', 'jobs'],
    ['{a}{b}', 'a'],
    ['resque', undefined],
    ['{}x', undefined],
    ['{x', undefined],
    ['x}{', undefined],
  ])('%s → %s', (ns, tag) => {
    expect(namespaceHashTag(ns)).toBe(tag);
  });
});

describe('config: Cluster per worker group', () => {
  const cluster = { cluster: ['127.0.0.1:7000'] };
  it('each group on a Cluster needs its own tagged namespace; the error names the group and points at its field', () => {
    const source = "export default defineConfig({\n  jobs,\n  groups: {\n    a: { redis: { cluster: ['127.0.0.1:7000'] }, namespace: '{a}' },\n    b: { redis: { cluster: ['127.0.0.1:7000'] }, namespace: 'b' },\n  },\n});\n";
    try {
      resolveConfig({ jobs, groups: { a: { redis: cluster, namespace: '{a}' }, b: { redis: cluster, namespace: 'b' } } }, { ...ctx, source });
      expect.unreachable();
    } catch (err) {
      const e = err as ConfigError;
      expect(e.issues).toHaveLength(1);
      expect(e.location).toBe('/srv/app/conf.ts:5:50');
      expect(e.issues[0]!.message).toMatch(/^group `b`: Expected `namespace` to carry a hash tag with Redis Cluster, got `b`: .*did you mean `\{b\}`\?$/);
    }
  });

  it('groups inheriting a top-level Cluster and namespace: one error at the top-level field', () => {
    expect(errorsOf({ redis: cluster, namespace: 'x', groups: { a: { queues: ['a'] }, b: { queues: ['b'] } } })).toEqual([
      expect.stringMatching(/^the top level \(where the scheduler runs\): Expected `namespace` to carry a hash tag with Redis Cluster, got `x`/),
    ]);
    expect(errorsOf({ redis: cluster, namespace: 'x', scheduler: { enabled: false }, groups: { a: { queues: ['a'] }, b: { queues: ['b'] } } })).toEqual([
      expect.stringMatching(/^group `a`: Expected `namespace` to carry a hash tag with Redis Cluster, got `x`/),
    ]);
    // Every group tagged, the top level not: the scheduler would run on an untagged namespace.
    expect(errorsOf({ redis: cluster, groups: { a: { namespace: '{a}' } } })).toEqual([expect.stringMatching(/^the top level \(where the scheduler runs\): .*got `resque`/)]);
    expect(errorsOf({ redis: cluster, scheduler: { enabled: false }, groups: { a: { namespace: '{a}' } } })).toEqual([]);
    expect(resolveConfig({ jobs, redis: cluster, namespace: '{x}', groups: { a: { queues: ['a'] } } }, ctx).groups[0]!.redis).toEqual(cluster);
  });
});

describe('config and @baton/resque agree on what `redis` can be', () => {
  it.each([
    ['redis://127.0.0.1:6379'],
    [{ host: '127.0.0.1', port: 6380 }],
    [{ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' }],
    [{ sentinels: [{ host: '127.0.0.1', port: 26379 }] }],
    [{ sentinels: [], name: 'm' }],
    [{ cluster: ['127.0.0.1:7000', { host: '127.0.0.1', port: 7001 }] }],
    [{ cluster: [] }],
    [{ cluster: ['nohost'] }],
    [{ cluster: ['h:1'], extra: 1 }],
    [{ url: 'redis://x' }],
    [{ startupNodes: [] }],
    ['http://x'],
  ])('%j', async (redis) => {
    const validate: (input: unknown) => void = (await import('@baton/resque')).validateRedisInput;
    let library = true;
    try {
      validate(redis);
    } catch {
      library = false;
    }
    expect(errorsOf({ redis, namespace: '{r}' }).length === 0).toBe(library);
  });
});
