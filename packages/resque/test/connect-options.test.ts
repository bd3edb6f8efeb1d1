import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  assertClusterNamespace,
  createRedis,
  defaultReconnectOnError,
  describeRedis,
  hashTagOf,
  isClusterInput,
  RedisInputError,
  validateRedisInput,
} from '../src/connect-options.js';

const lazy = { lazyConnect: true };

describe('validateRedisInput', () => {
  it.each([
    ['a URL', 'redis://127.0.0.1:6379'],
    ['a rediss URL', 'rediss://u:p@h:6380/2'],
    ['a socket path', '/tmp/redis.sock'],
    ['options', { host: '127.0.0.1', port: 6380 }],
    ['sentinel options', { sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' }],
    ['a cluster spec', { cluster: [{ host: '127.0.0.1', port: 7000 }, '127.0.0.1:7001'], options: {} }],
    ['undefined', undefined],
  ])('accepts %s', (_, input) => {
    expect(() => validateRedisInput(input)).not.toThrow();
  });

  it.each([
    ['an ioredis Cluster client', () => new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true }), /got an ioredis Cluster client: pass `\{ cluster: \[\{ host, port \}, \.\.\.\], options \}`/],
    ['a Cluster-looking object', () => ({ isCluster: true, nodes: () => [] }), /ioredis Cluster client/],
    ['a class instance', () => new (class Pool {})(), /got an object of class Pool/],
    ['a Map', () => new Map(), /got an object of class Map/],
    ['a number', () => 6379, /got `6379` \(number\)/],
    ['a host:port string', () => '127.0.0.1:6379', /redis:\/\/ or rediss:\/\/ URL/],
    ['startupNodes', () => ({ startupNodes: [] }), /`redis.startupNodes` is not an ioredis option/],
    ['url key', () => ({ url: 'redis://x' }), /pass the URL itself/],
    ['sentinels without name', () => ({ sentinels: [{ host: 'h', port: 1 }] }), /`redis.name`/],
    ['empty sentinels', () => ({ sentinels: [], name: 'm' }), /non-empty list/],
    ['a bad port', () => ({ port: 'x' }), /`redis.port` to be a TCP port/],
    ['an empty cluster', () => ({ cluster: [] }), /non-empty list/],
    ['a bad cluster node', () => ({ cluster: ['nohost'] }), /each node/],
    ['cluster with extra keys', () => ({ cluster: ['h:1'], redisOptions: {} }), /takes `cluster` and `options` only, got `redisOptions`/],
  ])('refuses %s with a clear RedisInputError', (_, make, message) => {
    const input = make();
    let thrown: unknown;
    try {
      validateRedisInput(input);
    } catch (err) {
      thrown = err;
    }
    if (input instanceof Cluster) input.disconnect();
    expect(thrown).toBeInstanceOf(RedisInputError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).not.toContain('\n');
  });

  it('refuses in createRedis too (never a silent fall-back to 127.0.0.1:6379)', () => {
    expect(() => createRedis({ isCluster: true } as never, 'x')).toThrow(RedisInputError);
  });
});

describe('describeRedis', () => {
  it.each([
    ['redis://:s3cret@10.0.0.1:6380/2', 'redis://:***@10.0.0.1:6380/2'],
    ['redis://user:s3cret@h:1', 'redis://user:***@h:1'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
  ])('%s → %s', (url, want) => {
    expect(describeRedis(url)).toBe(want);
  });

  it('names the sentinel set, the cluster nodes, sockets and host:port', () => {
    expect(describeRedis({ sentinels: [{ host: '127.0.0.1', port: 26379 }, { host: '127.0.0.2', port: 26380 }], name: 'mymaster', password: 'x' })).toBe(
      'sentinel mymaster via 127.0.0.1:26379,127.0.0.2:26380',
    );
    expect(describeRedis({ cluster: [{ host: 'a', port: 7000 }, 'b:7001'] })).toBe('cluster a:7000,b:7001');
    expect(describeRedis({ path: '/tmp/r.sock' })).toBe('/tmp/r.sock');
    expect(describeRedis({ host: 'h', port: 6380, db: 3 })).toBe('h:6380 db 3');
    const r = new Redis({ host: 'h2', port: 6390, ...lazy });
    expect(describeRedis(r)).toBe('h2:6390');
    r.disconnect();
  });
});

describe('createRedis', () => {
  it('sets the failover defaults and keeps a user reconnectOnError', () => {
    const r = createRedis({ host: '127.0.0.1', port: 1, ...lazy }, 'n');
    expect(r.options.maxRetriesPerRequest).toBeNull();
    expect(r.options.reconnectOnError!(new Error('READONLY x'))).toBe(2);
    expect(r.options.reconnectOnError!(new Error('ERR x'))).toBe(false);
    expect(r.options.connectionName).toBe('n');
    const delays = Array.from({ length: 20 }, (_, i) => r.options.retryStrategy!(i + 1) as number);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1250);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(37);
    r.disconnect();
    const mine = (err: Error) => (err.message === 'MINE' ? 1 : false);
    const u = createRedis({ port: 1, reconnectOnError: mine, ...lazy }, 'n');
    expect(u.options.reconnectOnError!(new Error('MINE'))).toBe(1);
    expect(u.options.reconnectOnError!(new Error('READONLY x'))).toBe(false);
    u.disconnect();
  });

  it('copies a Redis client by its options (yours stays yours)', () => {
    const mine = new Redis({ host: '127.0.0.1', port: 7777, db: 2, ...lazy });
    const r = createRedis(mine, 'copy');
    expect(r).not.toBe(mine);
    expect(r.options.port).toBe(7777);
    expect(r.options.db).toBe(2);
    r.disconnect();
    mine.disconnect();
  });

  it('turns on the Sentinel failover detector', () => {
    const r = createRedis({ sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'm', ...lazy }, 'n');
    expect((r.options as { failoverDetector?: boolean }).failoverDetector).toBe(true);
    r.disconnect();
  });

  it('opens a Cluster for a cluster spec', () => {
    const c = createRedis({ cluster: ['127.0.0.1:7000'], options: lazy }, 'n') as unknown as Cluster;
    expect(c).toBeInstanceOf(Cluster);
    expect(isClusterInput({ cluster: [] })).toBe(true);
    c.disconnect();
  });
});

describe('defaultReconnectOnError', () => {
  it.each([
    ["READONLY You can't write against a read only replica.", 2],
    ['MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.', 2],
    ['LOADING Redis is loading the dataset in memory', 2],
    ['NOREPLICAS Not enough good replicas to write.', false],
    ['ERR unknown command', false],
  ])('%s → %s', (message, want) => {
    expect(defaultReconnectOnError(new Error(message))).toBe(want);
  });
});

describe('cluster namespaces', () => {
  it.each([
    ['{resque}', 'resque'],
    ['app:{jobs}', 'jobs'],
    ['{}resque', undefined],
    ['resque', undefined],
    ['{resque', undefined],
  ])('hash tag of %s is %s', (ns, tag) => {
    expect(hashTagOf(ns)).toBe(tag);
  });

  it('refuses an untagged namespace saying why', () => {
    expect(() => assertClusterNamespace('resque')).toThrow(/must be hash-tagged, e.g. `\{resque\}`.*share one slot.*failover, not sharding.*separate namespaces/);
    expect(() => assertClusterNamespace('{resque}')).not.toThrow();
  });
});
