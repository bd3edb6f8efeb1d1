import { describe, expect, it } from 'vitest';
import {
  lockTimeoutFor,
  parseClusterSlots,
  parseInfoReplication,
  parseSentinelMaster,
  renderTopology,
  topologyWarnings,
  type TopologyReport,
} from '../src/redis-topology.js';

describe('parsers', () => {
  it('INFO replication: role and connected replicas', () => {
    expect(parseInfoReplication('# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=…\r\n')).toEqual({ role: 'master', replicas: 2 });
    expect(parseInfoReplication('# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nconnected_slaves:0\r\n')).toEqual({ role: 'slave', replicas: 0 });
    expect(parseInfoReplication('')).toEqual({ role: undefined, replicas: undefined });
  });

  it('SENTINEL MASTER: down-after, failover-timeout, quorum, Sentinels', () => {
    const reply = ['name', 'mymaster', 'ip', '127.0.0.1', 'port', '7101', 'down-after-milliseconds', '30000', 'failover-timeout', '180000', 'num-other-sentinels', '2', 'quorum', '2'];
    expect(parseSentinelMaster(reply, 'h:26379')).toEqual({ name: 'mymaster', via: 'h:26379', downAfterMs: 30_000, failoverTimeoutMs: 180_000, quorum: 2, sentinels: 3 });
    expect(parseSentinelMaster(null, 'h:1')).toMatchObject({ name: '?', downAfterMs: undefined, sentinels: undefined });
  });

  it('CLUSTER SLOTS: the owner of a slot, its replicas, the primaries', () => {
    const reply = [
      [0, 5460, ['127.0.0.1', 7000, 'a'], ['127.0.0.1', 7003, 'd']],
      [5461, 10922, ['127.0.0.1', 7001, 'b']],
      [10923, 16383, ['127.0.0.1', 7002, 'c'], ['127.0.0.1', 7004, 'e'], ['127.0.0.1', 7005, 'f']],
    ];
    expect(parseClusterSlots(reply, 42)).toEqual({ owner: '127.0.0.1:7000', replicas: 1, primaries: 3 });
    expect(parseClusterSlots(reply, 16383)).toEqual({ owner: '127.0.0.1:7002', replicas: 2, primaries: 3 });
    expect(parseClusterSlots([], 1)).toEqual({ owner: undefined, replicas: undefined, primaries: 0 });
  });
});

describe('renderTopology', () => {
  it.each<[string, TopologyReport, string]>([
    ['standalone', { kind: 'standalone', reached: '127.0.0.1:6379', role: 'master', replicas: 0 }, 'Redis at W: reached the primary at 127.0.0.1:6379, 0 replica(s) connected'],
    ['INFO refused', { kind: 'standalone', reached: undefined, role: undefined, replicas: undefined }, 'Redis at W: reached a node (role unknown: INFO refused)'],
    [
      'sentinel',
      {
        kind: 'sentinel',
        reached: '127.0.0.1:7101',
        role: 'master',
        replicas: 1,
        sentinel: { name: 'mymaster', via: '127.0.0.1:26379', downAfterMs: 5000, failoverTimeoutMs: 60000, quorum: 2, sentinels: 3 },
      },
      'Redis at W: reached the primary at 127.0.0.1:7101, 1 replica(s) connected; Sentinel 127.0.0.1:26379 on mymaster: down-after-milliseconds 5000, failover-timeout 60000, quorum 2, 3 Sentinel(s) monitor it',
    ],
    [
      'sentinel not answering',
      { kind: 'sentinel', reached: '127.0.0.1:7101', role: 'master', replicas: 1, sentinel: { error: '127.0.0.1:26379: NOAUTH' } },
      'Redis at W: reached the primary at 127.0.0.1:7101, 1 replica(s) connected; Sentinel not asked: 127.0.0.1:26379: NOAUTH',
    ],
    [
      'cluster',
      { kind: 'cluster', reached: '127.0.0.1:7001', role: 'master', replicas: 1, cluster: { slot: 8041, tag: 'resque', owner: '127.0.0.1:7001', primaries: 3 } },
      'Redis at W: namespace tag {resque} is slot 8041, owned by 127.0.0.1:7001, 1 replica(s) connected; 3 primaries in the cluster; one namespace lives on one slot (failover, not sharding)',
    ],
  ])('%s', (_, report, line) => {
    expect(renderTopology('W', report)).toBe(line);
  });
});

describe('topologyWarnings', () => {
  const sentinel = (downAfterMs: number): TopologyReport => ({
    kind: 'sentinel',
    reached: 'h:1',
    role: 'master',
    replicas: 1,
    sentinel: { name: 'mymaster', via: 'h:2', downAfterMs, failoverTimeoutMs: 1, quorum: 2, sentinels: 3 },
  });

  it('lockTimeout must outlast a failover: down-after + 3 s', () => {
    expect(lockTimeoutFor(30_000)).toBe(33);
    expect(lockTimeoutFor(5000)).toBe(8);
    expect(lockTimeoutFor(1000)).toBe(4);
    expect(topologyWarnings({ lockTimeoutMs: 10_000, durability: undefined }, sentinel(7000))).toEqual([]);
    const [w] = topologyWarnings({ lockTimeoutMs: 10_000, durability: undefined }, sentinel(30_000));
    expect(w).toBe(
      'lockTimeout (10 s) is shorter than a failover of mymaster can take: Sentinel waits down-after-milliseconds (30 seconds) and up to 3 s more to promote a replica, ' +
        'and a failover longer than lockTimeout can run a job twice; set `lockTimeout: 33` or more (or lower down-after-milliseconds)',
    );
    expect(topologyWarnings({ lockTimeoutMs: 33_000, durability: undefined }, sentinel(30_000))).toEqual([]);
  });

  it('durability.replicas above the replicas connected', () => {
    const t: TopologyReport = { kind: 'standalone', reached: 'h:1', role: 'master', replicas: 0 };
    expect(topologyWarnings({ lockTimeoutMs: 10_000, durability: { replicas: 1, timeoutMs: 500 } }, t)).toEqual([
      'durability.replicas is 1 but 0 replica(s) are connected to h:1: every write waits 0.5 s and is then reported short of replicas',
    ]);
    expect(topologyWarnings({ lockTimeoutMs: 10_000, durability: { replicas: 1, timeoutMs: 500 } }, { ...t, replicas: 1 })).toEqual([]);
  });
});
