import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@baton/process-kit';
import { resolveConfig, type ResolvedConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { describeDashboard, describeMetrics, isLoopback } from '../src/config-metrics.js';
import { MasterMetrics, METRIC_NAMES, type MetricsPush } from '../src/master/metrics.js';
import { dedupeParts, foldParts, MetricsStore, parseParts, sumParts, type MetricsPart } from '../src/master/metrics-store.js';
import { initialState, reduce, type MasterEvent, type MasterState } from '../src/state/index.js';
import type { QueueClients } from '../src/master/queue-client.js';
import type { JobCounts } from '../src/ipc.js';
import { reportJobOutcomes } from '../src/worker-metrics.js';

const ctx = { path: '/srv/app/conf.ts', env: {} };
const jobs = { A: () => undefined };
const resolve = (metrics: unknown) => resolveConfig({ jobs, metrics }, ctx).metrics;
const errorOf = (metrics: unknown) => {
  try {
    resolve(metrics);
  } catch (err) {
    return (err as ConfigError).shortMessage;
  }
  return undefined;
};
const PROCESSED = 'resque_starter_jobs_processed_total';
const key = (...labels: string[]) => JSON.stringify(labels);

describe('metrics config', () => {
  it.each([
    [undefined, undefined],
    [{ port: 9394 }, { port: 9394, host: '127.0.0.1' }],
    [{ port: 9394, host: '::1' }, { port: 9394, host: '::1' }],
    [{ port: 9394, host: '0.0.0.0', allowRemote: true }, { port: 9394, host: '0.0.0.0' }],
    [{ path: 'run/metrics.sock' }, { path: '/srv/app/run/metrics.sock' }],
    [{ port: 9394, dashboard: true }, { port: 9394, host: '127.0.0.1', dashboard: true }],
    [{ port: 9394, dashboard: false }, { port: 9394, host: '127.0.0.1' }],
    [{ port: 9394, host: '0.0.0.0', allowRemote: true, dashboard: true, token: 't0k' }, { port: 9394, host: '0.0.0.0', dashboard: true, token: 't0k' }],
    [{ path: 'run/metrics.sock', dashboard: true }, { path: '/srv/app/run/metrics.sock', dashboard: true }],
  ])('%j → %j', (raw, want) => {
    expect(resolve(raw)).toEqual(want);
  });

  it.each([
    [9394, /Expected `metrics` to be `\{ port, host \}` or `\{ path \}`, got `9394` \(number\)/],
    [{ port: 0 }, /Expected `metrics.port` to be an integer from 1 to 65535, got `0` \(number\)/],
    [{ port: '9394' }, /Expected `metrics.port` to be an integer from 1 to 65535, got `9394` \(string\)/],
    [{ port: 9394, host: '0.0.0.0' }, /`metrics.host` 0.0.0.0 is not a loopback address: .*set `metrics.allowRemote: true`/],
    [{ port: 9394, host: '10.1.2.3', allowRemote: 'yes' }, /Expected `metrics.allowRemote` to be true or false/],
    [{ port: 9394, path: '/x.sock' }, /either `path` \(a unix socket\) or `port` and `host`, not both/],
    [{ port: 9394, prot: 1 }, /Unknown field `metrics.prot`/],
    [{ port: 9394, host: '0.0.0.0', allowRemote: true, dashboard: true }, /`metrics.dashboard` on 0.0.0.0 \(not a loopback address\) needs `metrics.token`/],
    [{ port: 9394, dashboard: 'yes' }, /Expected `metrics.dashboard` to be true or false/],
    [{ port: 9394, dashboard: true, token: ' ' }, /Expected `metrics.token` to be a non-empty string/],
  ])('%j is refused', (raw, message) => {
    expect(errorOf(raw)).toMatch(message);
  });

  it('describes the endpoint and knows loopback', () => {
    expect(describeMetrics({ port: 9394, host: '127.0.0.1' })).toBe('http://127.0.0.1:9394/metrics');
    expect(describeMetrics({ port: 9394, host: '::1' })).toBe('http://[::1]:9394/metrics');
    expect(describeMetrics({ path: '/run/m.sock' })).toBe('unix:/run/m.sock /metrics');
    expect(describeDashboard({ port: 9394, host: '127.0.0.1', dashboard: true })).toBe('http://127.0.0.1:9394/');
    expect(['127.0.0.1', '127.9.9.9', '::1', 'localhost'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.com'].map(isLoopback)).toEqual([false, false, false, false]);
  });
});

describe('metrics store', () => {
  it('counts and buckets', () => {
    const s = new MetricsStore();
    s.inc(PROCESSED, ['default', 'q', 'A']);
    s.inc(PROCESSED, ['default', 'q', 'A'], 2);
    s.observe('resque_starter_job_duration_seconds', ['default', 'q', 'A'], 0.0005);
    s.observe('resque_starter_job_duration_seconds', ['default', 'q', 'A'], 0.02);
    s.observe('resque_starter_job_duration_seconds', ['default', 'q', 'A'], 5000);
    expect(s.data.counters[PROCESSED]).toEqual({ [key('default', 'q', 'A')]: 3 });
    const h = s.data.histograms.resque_starter_job_duration_seconds![key('default', 'q', 'A')]!;
    expect(h.count).toBe(3);
    expect(h.b[0]).toBe(1); // ≤ 1 ms
    expect(h.b[3]).toBe(1); // ≤ 25 ms
    expect(h.b.at(-1)).toBe(1); // +Inf
    expect(s.version).toBe(5);
  });

  const part = (covers: number[], version: number, n: number): MetricsPart => ({
    covers,
    version,
    data: { counters: { [PROCESSED]: { [key('default', 'q', 'A')]: n } }, histograms: {} },
  });

  it('sums parts, counting a master once when it is heard of twice', () => {
    // gen 3 hears of gen 1 directly (version 7) and inside gen 2's folded part (gen 1's final 9).
    const parts = [part([3], 1, 1), part([1], 7, 70), part([2], 4, 20), part([1, 2], 0, 95)];
    expect(dedupeParts(parts).map((p) => p.covers)).toEqual([[1, 2], [3]]);
    expect(sumParts(parts).counters[PROCESSED]).toEqual({ [key('default', 'q', 'A')]: 96 });
    // Of two parts covering the same master, the newer one.
    expect(sumParts([part([1], 3, 30), part([1], 5, 50)]).counters[PROCESSED]![key('default', 'q', 'A')]).toBe(50);
  });

  it('folds gone predecessors into one part', () => {
    const folded = foldParts([part([1], 2, 10), part([2], 3, 5)])!;
    expect(folded.covers.sort()).toEqual([1, 2]);
    expect(folded.data.counters[PROCESSED]![key('default', 'q', 'A')]).toBe(15);
    expect(foldParts([])).toBeUndefined();
  });

  it('drops anything malformed from another process', () => {
    const ok = part([1], 1, 3);
    const bad = [
      null,
      { covers: 'x', version: 1, data: {} },
      { covers: [1], version: 1, data: { counters: { evil_total: { a: 1 }, [PROCESSED]: { [key('a', 'b', 'c')]: -5, [key('d', 'e', 'f')]: 2 } } } },
      { covers: [2], version: 1, data: { histograms: { resque_starter_job_duration_seconds: { k: { b: [1], sum: 1, count: 1 } } } } },
    ];
    const parsed = parseParts([ok, ...bad]);
    expect(parsed[0]).toEqual(ok);
    expect(parsed[1]!.data.counters).toEqual({ [PROCESSED]: { [key('d', 'e', 'f')]: 2 } });
    expect(parsed[2]!.data.histograms.resque_starter_job_duration_seconds).toEqual({});
    expect(parseParts('nope')).toEqual([]);
  });
});

/** A MasterMetrics fed by the real reducer, without a server or Redis. */
function harness(pid = 100, generation: number | undefined = 2) {
  let state: MasterState = initialState({
    readyTimeoutMs: 1000,
    stopTimeoutMs: 1000,
    termTimeoutMs: 1000,
    jobTimeoutMs: undefined,
    maxMemoryKb: undefined,
    crashLoop: { deaths: 4, windowMs: 60_000, delayMs: 1000, maxDelayMs: 60_000 },
    maxConcurrency: 8,
    maxStarting: 8,
    reapJobProcesses: false,
  });
  const pushes: Array<{ push: MetricsPush; links: readonly number[] }> = [];
  const config = resolveConfig({ jobs, queues: ['q'], metrics: { port: 9394 } }, ctx) as ResolvedConfig;
  const queues: QueueClients = {
    forGroup: () => ({ get: () => Promise.reject(new Error('no Redis here')), close: async () => undefined }),
    all: () => [],
    close: async () => undefined,
  };
  const m = new MasterMetrics({
    host: { pid, now: () => now },
    settings: config.metrics!,
    generation,
    state: () => state,
    config: () => config,
    queues,
    logger: createLogger({ tag: 'test', level: 'silent' }),
    push: (push, links) => pushes.push({ push, links }),
    channelsClosed: async () => undefined,
  });
  let now = 1000;
  const step = (event: MasterEvent) => {
    now += 10;
    const prev = state;
    const next = reduce(prev, event, now);
    m.observe(prev, event, next, now);
    state = next.state;
    return next;
  };
  return { m, step, pushes, state: () => state };
}

/** What a worker sends for these jobs (class, queue, outcome, ms), as worker-metrics.ts adds them up. */
function sums(jobs: Array<[string, string, 'success' | 'failure' | 'retry', number]>): JobCounts[] {
  const w = new EventEmitter();
  const sent: JobCounts[] = [];
  const out = reportJobOutcomes(w as never, (m) => void (m.t === 'done' && sent.push(...m.jobs)));
  let clock = 0;
  const realNow = performance.now;
  performance.now = () => clock;
  try {
    for (const [cls, queue, outcome, ms] of jobs) {
      const job = { queue, payload: { class: cls, args: [] }, workerId: 'h:1:q' };
      w.emit('job', job);
      clock += ms;
      w.emit('finished', job, outcome === 'success' ? undefined : { exception: 'Error', error: 'x', thrown: new Error('x') });
    }
  } finally {
    performance.now = realNow;
  }
  out.flush();
  return sent;
}

const metricLine = (text: string, re: RegExp) => text.split('\n').find((l) => re.test(l));

describe('MasterMetrics', () => {
  it('counts jobs, starts, deaths and recycles from the reducer steps, and renders them with prom-client', async () => {
    const { m, step, state } = harness();
    step({ type: 'start', desired: 2, predecessors: [] });
    step({ type: 'spawned', key: 1, pid: 11 });
    step({ type: 'spawned', key: 2, pid: 12 });
    step({ type: 'hello', pid: 11, id: 'h:11:q' });
    step({ type: 'ready', pid: 11 });
    step({ type: 'ready', pid: 12 });
    m.jobsDone('default', sums([
      ['A', 'q', 'success', 0.4],
      ['A', 'q', 'failure', 2],
      ['A', 'q', 'retry', 30],
    ]));
    step({ type: 'recycling', pid: 11, reason: 'maxJobs 100 reached' });
    step({ type: 'exit', pid: 11, code: 0, signal: null });
    step({ type: 'exit', pid: 12, code: 1, signal: null }); // not asked: a death
    m.recovered('default', 2);
    expect(state().workers.length).toBe(2); // both replaced
    const { body, contentType } = await m.render();
    expect(contentType).toMatch(/^text\/plain; version=0.0.4/);
    expect(metricLine(body, /^resque_starter_jobs_processed_total\{/)).toBe('resque_starter_jobs_processed_total{group="default",queue="q",class="A"} 3');
    expect(metricLine(body, /^resque_starter_jobs_failed_total\{/)).toBe('resque_starter_jobs_failed_total{group="default",queue="q",class="A"} 2');
    expect(metricLine(body, /^resque_starter_worker_starts_total/)).toBe('resque_starter_worker_starts_total{group="default"} 4');
    expect(metricLine(body, /^resque_starter_worker_deaths_total/)).toBe('resque_starter_worker_deaths_total{group="default"} 1');
    expect(metricLine(body, /^resque_starter_worker_recycles_total/)).toBe('resque_starter_worker_recycles_total{group="default",reason="max_jobs"} 1');
    expect(metricLine(body, /^resque_starter_jobs_recovered_total/)).toBe('resque_starter_jobs_recovered_total{group="default"} 2');
    expect(metricLine(body, /^resque_starter_job_duration_seconds_bucket\{.*le="0.001"\}/)).toMatch(/ 1$/);
    expect(metricLine(body, /^resque_starter_job_duration_seconds_bucket\{.*le="0.05"\}/)).toMatch(/ 3$/);
    expect(metricLine(body, /^resque_starter_job_duration_seconds_count/)).toMatch(/ 3$/);
    expect(metricLine(body, /^resque_starter_workers\{group="default",state="starting",generation="2"\}/)).toMatch(/ 2$/);
    expect(metricLine(body, /^resque_starter_master_info/)).toBe('resque_starter_master_info{pid="100",generation="2"} 1');
    // Redis is away in this harness: said, not fatal.
    expect(metricLine(body, /^resque_starter_redis_up/)).toBe('resque_starter_redis_up{group="default"} 0');
    for (const name of METRIC_NAMES) expect(body).toContain(`# TYPE ${name} `);
  });

  it('a new master adds what its predecessor pushed, and its gauges, until that one is gone', async () => {
    const old = harness(50, 1);
    old.step({ type: 'start', desired: 1, predecessors: [] });
    old.step({ type: 'spawned', key: 1, pid: 51 });
    old.step({ type: 'ready', pid: 51 });
    old.m.jobsDone('default', sums([['A', 'q', 'success', 1]]));
    const fresh = harness(100, 2);
    fresh.step({ type: 'start', desired: 1, predecessors: [{ pid: 50, generation: 1, live: 1, linked: true }] });
    // The old master, linked by its successor, pushes at once and on every change after.
    old.step({ type: 'successorLinked', link: 1, by: 100, generation: 2 });
    await new Promise((r) => setImmediate(r));
    expect(old.pushes.length).toBe(1);
    fresh.m.seed(50, JSON.parse(JSON.stringify(old.pushes[0]!.push)));
    fresh.m.jobsDone('default', sums([['A', 'q', 'success', 1]]));
    expect(fresh.m.totals().counters[PROCESSED]).toEqual({ [key('default', 'q', 'A')]: 2 });
    old.m.jobsDone('default', sums([['A', 'q', 'success', 1]]));
    await old.m.close(); // the last push
    fresh.m.seed(50, JSON.parse(JSON.stringify(old.pushes.at(-1)!.push)));
    expect(fresh.m.totals().counters[PROCESSED]).toEqual({ [key('default', 'q', 'A')]: 3 });
    const during = (await fresh.m.render()).body;
    expect(during).toMatch(/resque_starter_workers\{group="default",state="idle",generation="1"\} 1/);
    expect(during).toMatch(/resque_starter_workers\{group="default",state="starting",generation="2"\} 1/);
    fresh.step({ type: 'predecessorGone', pid: 50 });
    const after = (await fresh.m.render()).body;
    expect(after).not.toMatch(/generation="1"/);
    expect(metricLine(after, /^resque_starter_jobs_processed_total\{/)).toMatch(/ 3$/); // folded, not lost
    // And the next generation hears of generation 1 only through generation 2's folded part.
    fresh.step({ type: 'successorLinked', link: 1, by: 200, generation: 3 });
    await new Promise((r) => setImmediate(r));
    const parts = fresh.pushes.at(-1)!.push.parts;
    expect(parts.map((p) => p.covers).sort()).toEqual([[100], [50]]);
    expect(sumParts(parts).counters[PROCESSED]).toEqual({ [key('default', 'q', 'A')]: 3 });
  });

  it('a successor that gives up hands its counts back: the old master counts them once, and its own counts win over the copy', async () => {
    const old = harness(50, 1);
    old.step({ type: 'start', desired: 1, predecessors: [] });
    old.m.jobsDone('default', sums([['A', 'q', 'success', 1]]));
    const fresh = harness(100, 2);
    fresh.m.seed(50, { event: 'metrics', parts: [old.m.store.part(50)].map((p) => JSON.parse(JSON.stringify(p))), gauges: [] });
    fresh.m.jobsDone('default', sums([['A', 'q', 'success', 1], ['A', 'q', 'success', 1]]));
    old.m.jobsDone('default', sums([['A', 'q', 'success', 1]])); // its own workers went on meanwhile
    old.m.fromSuccessor(1, JSON.parse(JSON.stringify(await fresh.m.handBack())));
    expect(old.m.totals().counters[PROCESSED]).toEqual({ [key('default', 'q', 'A')]: 4 });
  });
});
