import { createConnection } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';
import type { Logger, ProcessHost } from '@baton/process-kit';
import { describeDashboard, describeMetrics, type ResolvedMetrics } from '../config-metrics.js';
import type { ResolvedConfig } from '../config.js';
import type { ResolvedGroup } from '../config-groups.js';
import type { JobCounts } from '../ipc.js';
import { messages } from '../messages.js';
import type { MasterEvent, MasterState, Step, WorkerEntry } from '../state/index.js';
import { matchQueues } from './backlog-sampler.js';
import {
  COUNTERS,
  DURATION_BUCKETS,
  foldParts,
  HISTOGRAMS,
  MetricsStore,
  parseParts,
  sumParts,
  type CounterName,
  type HistogramName,
  type MetricsPart,
  type StoreData,
} from './metrics-store.js';
import type { QueueClients } from './queue-client.js';

/** A gauge value as one master shows it, handed to the next generation while both run. */
export interface GaugeRow {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** What an old master pushes on its hand-off link: every counter part it knows, and its workers. */
export interface MetricsPush {
  event: 'metrics';
  parts: MetricsPart[];
  gauges: GaugeRow[];
}

export interface MetricsContext {
  host: Pick<ProcessHost, 'pid' | 'now'>;
  settings: ResolvedMetrics;
  generation: number | undefined;
  /** The reducer's state (undefined before the loop opens). */
  state(): MasterState | undefined;
  config(): ResolvedConfig;
  queues: QueueClients;
  logger: Logger;
  /** Sends `push` on the hand-off links `links` (to the newer masters taking over). */
  push(push: MetricsPush, links: readonly number[]): void;
  /** Resolves once every worker's last message is in (or after `timeoutMs`). */
  channelsClosed(timeoutMs: number): Promise<void>;
  /** The dashboard served beside `/metrics` (`metrics.dashboard`): every other path goes to it. */
  dashboard?: { handle(req: IncomingMessage, res: ServerResponse): void; close(): Promise<void> } | undefined;
}

/** How long a new master waits for its linked predecessors' counters before it serves without them. */
export const SEED_WAIT_MS = 3000;
/** Pushes to a successor at most this often. */
export const PUSH_EVERY_MS = 200;
/** A scrape waits this long for Redis (queue depth, round trip); then it answers without. */
export const SAMPLE_TIMEOUT_MS = 2000;

/**
 * Why: the master owns the metrics, so they outlive every worker: workers report finished jobs
 * (batched), the reducer's steps say what happened to workers and restarts, the rest is read
 * from the state and Redis at scrape time. Across a rolling restart under start-server, the old
 * master pushes what it counted (and what its own predecessors had) over the hand-off link and
 * gives up the endpoint; the new one adds those parts to its own and serves the endpoint once it
 * has them, so no counter goes backwards.
 */
export class MasterMetrics {
  readonly store = new MetricsStore();
  /** Parts handed over by predecessors, by their pid (`0`: the folded parts of predecessors that are gone). */
  private readonly received = new Map<number, MetricsPart[]>();
  private readonly predecessorGauges = new Map<number, GaugeRow[]>();
  private readonly awaiting = new Set<number>();
  private readonly recycleReasons = new Map<number, string>();
  private readonly lastRestart = new Map<string, number>();
  private readonly heads = new Map<string, { head: string; since: number }>();
  private server: Server | undefined;
  /** Wanted: the endpoint should be served by this master now. */
  private serving = false;
  private seedTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pushTimer: NodeJS.Timeout | undefined;
  private busySince: number | undefined;
  private warnedBusy = false;
  private announced = false;
  private closed = false;
  private registry: Promise<{ metrics(): Promise<string>; contentType: string }> | undefined;
  private sample: { at: number; rows: Promise<GaugeRow[]> } | undefined;
  private current: { totals: StoreData; gauges: GaugeRow[] } = { totals: { counters: {}, histograms: {} }, gauges: [] };

  constructor(private readonly ctx: MetricsContext) {}

  /** A worker's sums of finished jobs, per class and queue. */
  jobsDone(group: string, jobs: readonly JobCounts[]): void {
    for (const [cls, queue, processed, failed, buckets, seconds] of jobs) {
      const labels = [group, String(queue), String(cls)];
      if (processed > 0) this.store.inc('resque_starter_jobs_processed_total', labels, processed);
      if (failed > 0) this.store.inc('resque_starter_jobs_failed_total', labels, failed);
      if (Array.isArray(buckets)) this.store.observeBuckets('resque_starter_job_duration_seconds', labels, buckets, seconds);
    }
  }

  /** Jobs of a dead worker put back (or failed) by the master. */
  recovered(group: string, n: number): void {
    if (n > 0) this.store.inc('resque_starter_jobs_recovered_total', [group], n);
  }

  /** After each reducer step: what happened to workers, restarts and the endpoint's owner. */
  observe(prev: MasterState | undefined, event: MasterEvent, step: Step, now: number): void {
    const next = step.state;
    for (const fx of step.effects) if (fx.type === 'spawn') this.store.inc('resque_starter_worker_starts_total', [fx.group]);
    if (prev) this.observeWorkers(prev, event);
    const aborted = step.effects.some((fx) => fx.type === 'log' && fx.level === 'error');
    const outcome = aborted ? 'aborted' : next.replacedBy ? 'superseded' : 'done';
    if (prev?.takeover && !next.takeover) this.restartEnded('takeover', outcome, now - prev.takeover.startedAt);
    if (prev?.reload && !next.reload) this.restartEnded('reload', outcome, now - prev.reload.startedAt);
    if (event.type === 'predecessorGone') this.predecessorGauges.delete(event.pid);
    if (next.predecessors.length === 0 && [...this.received.keys()].some((k) => k !== 0)) this.fold();
    // Being replaced: the endpoint goes to the successor, with what this master counted.
    if (!prev?.replacedBy && next.replacedBy) {
      this.serving = false;
      // After the hand-off reply has gone out on the link (the reply effect runs after this step).
      setImmediate(() => this.pushNow());
      this.release();
    } else if (prev?.replacedBy && !next.replacedBy && next.phase === 'running') {
      this.serving = true;
      this.listen();
    }
    if (next.successors.length > 0 && !this.pushTimer) {
      this.pushTimer = setTimeout(() => {
        this.pushTimer = undefined;
        this.pushNow();
      }, PUSH_EVERY_MS);
      this.pushTimer.unref();
    }
  }

  /** What a predecessor pushed on its hand-off link. */
  seed(pid: number, push: unknown): void {
    const p = push as Partial<MetricsPush>;
    this.received.set(pid, this.others(p.parts));
    this.predecessorGauges.set(pid, parseGauges(p.gauges));
    if (this.awaiting.delete(pid) && this.awaiting.size === 0) this.seeded();
  }

  /** Every part a successor that gave up had: kept as a part of its own (link `link`). */
  fromSuccessor(link: number, parts: unknown): void {
    this.received.set(-link, this.others(parts));
  }

  /** What this master has, for a predecessor that takes its workers back (a failed takeover): once its workers' last reports are in. */
  async handBack(): Promise<MetricsPart[]> {
    await this.ctx.channelsClosed(1000);
    return this.parts();
  }

  /** The hand-off link of predecessor `pid` closed: nothing more comes from it. */
  unlinked(pid: number): void {
    if (this.awaiting.delete(pid) && this.awaiting.size === 0) this.seeded();
  }

  /**
   * Serves the endpoint, once the linked predecessors (`linked`) have handed over their counters
   * (or after SEED_WAIT_MS: an older version that sends none). Not while replaced.
   */
  start(linked: readonly number[]): void {
    for (const pid of linked) if (!this.received.has(pid)) this.awaiting.add(pid);
    if (this.ctx.state()?.replacedBy) return;
    this.serving = true;
    if (this.awaiting.size === 0) return this.listen();
    this.seedTimer = setTimeout(() => {
      this.ctx.logger.debug(messages.metricsSeedTimeout([...this.awaiting], SEED_WAIT_MS));
      this.awaiting.clear();
      this.seeded();
    }, SEED_WAIT_MS);
    this.seedTimer.unref();
  }

  /** At exit: the workers' last batches, a last push to the successors, then the endpoint closes. */
  async close(): Promise<void> {
    await this.ctx.channelsClosed(1000);
    this.closed = true;
    this.serving = false;
    for (const t of [this.seedTimer, this.retryTimer, this.pushTimer]) if (t) clearTimeout(t);
    this.pushNow();
    await this.release();
    await this.ctx.dashboard?.close();
  }

  /** The text `/metrics` answers (for tests and the server). */
  async render(): Promise<{ body: string; contentType: string }> {
    const registry = await (this.registry ??= this.createRegistry());
    // What every collector reads, taken once per scrape (prom-client collects the metrics concurrently).
    const redis = await this.redisGauges().catch(() => []);
    this.current = {
      totals: this.totals(),
      gauges: [...this.ownGauges(), ...[...this.predecessorGauges.values()].flat(), ...this.masterGauges(), ...redis],
    };
    return { body: await registry.metrics(), contentType: registry.contentType };
  }

  /** Every counter and histogram: this master's and its predecessors'. */
  totals(): StoreData {
    return sumParts(this.parts());
  }

  // --- internal ---

  /** Parts from another master, less any that covers this one (its copy of our counts is older than ours). */
  private others(parts: unknown): MetricsPart[] {
    return parseParts(parts).filter((p) => !p.covers.includes(this.ctx.host.pid));
  }

  private parts(): MetricsPart[] {
    return [this.store.part(this.ctx.host.pid), ...[...this.received.values()].flat()];
  }

  private seeded(): void {
    if (this.seedTimer) clearTimeout(this.seedTimer);
    this.seedTimer = undefined;
    if (this.serving) this.listen();
  }

  /** Predecessors all gone: what they handed over becomes one part (it no longer changes). */
  private fold(): void {
    const folded = foldParts([...this.received.values()].flat());
    this.received.clear();
    if (folded) this.received.set(0, [folded]);
  }

  private observeWorkers(prev: MasterState, event: MasterEvent): void {
    if (event.type === 'recycling') {
      const w = prev.workers.find((x) => x.pid === event.pid);
      if (w && !w.stop) this.recycleReasons.set(event.pid, recycleReason(event.reason));
    } else if (event.type === 'exit') {
      const w = prev.workers.find((x) => x.pid === event.pid);
      const said = this.recycleReasons.get(event.pid);
      this.recycleReasons.delete(event.pid);
      if (!w) return;
      if (!w.stop) {
        if (prev.phase === 'running') this.store.inc('resque_starter_worker_deaths_total', [w.group]);
      } else if (w.stop.reason === 'recycle') {
        this.store.inc('resque_starter_worker_recycles_total', [w.group, said ?? 'other']);
      } else if (w.stop.reason === 'memory' || w.stop.reason === 'job-timeout') {
        this.store.inc('resque_starter_worker_recycles_total', [w.group, w.stop.reason === 'memory' ? 'max_memory' : 'job_timeout']);
      }
    }
  }

  private restartEnded(kind: string, outcome: string, ms: number): void {
    this.store.inc('resque_starter_rolling_restarts_total', [kind, outcome]);
    this.lastRestart.set(kind, ms / 1000);
  }

  private pushNow(): void {
    const links = this.ctx.state()?.successors ?? [];
    if (links.length === 0) return;
    this.ctx.push({ event: 'metrics', parts: this.parts(), gauges: this.ownGauges() }, links);
  }

  /** Gives the endpoint up (for a successor, or at exit). */
  private release(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    this.ctx.logger.debug(messages.metricsReleased(describeMetrics(this.ctx.settings)));
    // Scrapers keep their connection alive (Prometheus, Node's agent): on one kept to this master
    // they would go on reading it, not the successor. Idle ones close now, busy ones after their answer.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    return closed;
  }

  /** Binds the endpoint; while another process holds it (the old master letting go), tries again. */
  private listen(): void {
    if (this.server || this.closed || !this.serving || this.retryTimer) return;
    const s = this.ctx.settings;
    const server = createServer((req, res) => void this.answer(req, res, server));
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' && s.path !== undefined) return void this.staleSocket(s.path);
      this.retry(err);
    });
    server.listen(s.path !== undefined ? { path: s.path } : { port: s.port, host: s.host }, () => {
      if (!this.serving) return void server.close();
      this.server = server;
      this.busySince = undefined;
      this.warnedBusy = false;
      const where = describeMetrics(s) + (this.ctx.dashboard ? ` (and the dashboard at ${describeDashboard(s)})` : '');
      if (!this.announced) this.ctx.logger.info(messages.metricsListening(where));
      else this.ctx.logger.debug(messages.metricsListening(where));
      this.announced = true;
    });
  }

  /** A unix socket path in use: a live server (the old master) is waited for, a stale file removed. */
  private staleSocket(path: string): void {
    const probe = createConnection(path);
    probe.on('connect', () => {
      probe.destroy();
      this.retry(Object.assign(new Error('in use'), { code: 'EADDRINUSE' }));
    });
    probe.on('error', () => {
      rmSync(path, { force: true });
      this.retry(undefined, 0);
    });
  }

  private retry(err: NodeJS.ErrnoException | undefined, ms = 25): void {
    if (this.closed || !this.serving) return;
    const now = this.ctx.host.now();
    this.busySince ??= now;
    if (err && !this.warnedBusy && now - this.busySince > 10_000) {
      this.warnedBusy = true;
      this.ctx.logger.warn(messages.metricsCannotListen(describeMetrics(this.ctx.settings), err.code ?? err.message));
    }
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.listen();
      },
      this.warnedBusy ? 1000 : ms,
    );
    this.retryTimer.unref();
  }

  private async answer(req: IncomingMessage, res: ServerResponse, server: Server): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (this.server !== server) {
      // Given up (to a successor): the scraper must reconnect, to whoever serves it now.
      res.writeHead(503, { connection: 'close', 'content-type': 'text/plain' }).end('resque-starter: this master no longer serves metrics; ask again\n');
      return;
    }
    // Every other path is the dashboard's (its own access and CSRF rules apply).
    if (path !== '/metrics' && this.ctx.dashboard) return this.ctx.dashboard.handle(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('resque-starter: metrics are at /metrics\n');
      return;
    }
    try {
      const { body, contentType } = await this.render();
      // Released while this scrape was rendered: its answer is the last on this connection.
      const headers = this.server === server ? { 'content-type': contentType } : { 'content-type': contentType, connection: 'close' };
      res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error)?.message ?? String(err)}\n`);
    }
  }

  /** The gauges of this master's own workers (also pushed to a successor, which shows them beside its own). */
  private ownGauges(): GaugeRow[] {
    const s = this.ctx.state();
    if (!s) return [];
    const generation = this.ctx.generation === undefined ? 'none' : String(this.ctx.generation);
    const rows: GaugeRow[] = [];
    const counts = new Map<string, GaugeRow>();
    const inFlight = new Map<string, number>();
    for (const g of s.groups) {
      inFlight.set(g.name, 0);
      for (const state of WORKER_STATES) counts.set(`${g.name}\0${state}`, { name: 'resque_starter_workers', labels: { group: g.name, state, generation }, value: 0 });
    }
    for (const w of s.workers) {
      const state = workerState(w);
      const key = `${w.group}\0${state}`;
      const row = counts.get(key) ?? { name: 'resque_starter_workers', labels: { group: w.group, state, generation }, value: 0 };
      row.value += 1;
      counts.set(key, row);
      inFlight.set(w.group, (inFlight.get(w.group) ?? 0) + (w.running.length || (w.job ? 1 : 0)));
      if (w.rssKb !== undefined && w.pid !== undefined) {
        rows.push({ name: 'resque_starter_worker_rss_anon_bytes', labels: { group: w.group, slot: String(w.slot), pid: String(w.pid), generation }, value: w.rssKb * 1024 });
      }
    }
    rows.push(...counts.values());
    for (const [group, n] of inFlight) rows.push({ name: 'resque_starter_jobs_in_flight', labels: { group, generation }, value: n });
    return rows;
  }

  /** Gauges of this master only (not pushed): desired counts, crash loop, restarts in progress, the master itself. */
  private masterGauges(): GaugeRow[] {
    const s = this.ctx.state();
    if (!s) return [];
    const now = this.ctx.host.now();
    const generation = this.ctx.generation === undefined ? 'none' : String(this.ctx.generation);
    const rows: GaugeRow[] = [{ name: 'resque_starter_master_info', labels: { pid: String(this.ctx.host.pid), generation }, value: 1 }];
    for (const g of s.groups) rows.push({ name: 'resque_starter_workers_desired', labels: { group: g.name }, value: g.desired });
    const hold = Math.max(0, s.holdUntil - now);
    rows.push({ name: 'resque_starter_crash_loop_active', labels: {}, value: hold > 0 ? 1 : 0 });
    rows.push({ name: 'resque_starter_crash_loop_delay_seconds', labels: {}, value: hold / 1000 });
    rows.push({ name: 'resque_starter_rolling_restart_in_progress', labels: { kind: 'takeover' }, value: s.takeover ? 1 : 0 });
    rows.push({ name: 'resque_starter_rolling_restart_in_progress', labels: { kind: 'reload' }, value: s.reload ? 1 : 0 });
    for (const [kind, seconds] of this.lastRestart) rows.push({ name: 'resque_starter_rolling_restart_last_duration_seconds', labels: { kind }, value: seconds });
    return rows;
  }

  /** Queue depth, oldest job's age and the Redis round trip, per group: sampled at most once a second, at scrape time. */
  private redisGauges(): Promise<GaugeRow[]> {
    const now = this.ctx.host.now();
    if (this.sample && now - this.sample.at < 1000) return this.sample.rows;
    const rows = Promise.all(this.ctx.config().groups.map((g) => this.sampleGroup(g))).then((r) => r.flat());
    this.sample = { at: now, rows };
    return rows;
  }

  private async sampleGroup(g: ResolvedGroup): Promise<GaugeRow[]> {
    const rows: GaugeRow[] = [];
    const group = g.name;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${SAMPLE_TIMEOUT_MS} ms`)), SAMPLE_TIMEOUT_MS);
    });
    try {
      await Promise.race([
        deadline,
        (async () => {
          const q = await this.ctx.queues.forGroup(group).get();
          const t0 = performance.now();
          const known = await q.queues();
          rows.push({ name: 'resque_starter_redis_rtt_seconds', labels: { group }, value: (performance.now() - t0) / 1000 });
          for (const queue of matchQueues(g.queues, known)) {
            const depth = await q.size(queue);
            const head = depth > 0 ? (await q.peek(queue, 0, 1))[0] : undefined;
            rows.push({ name: 'resque_starter_queue_depth', labels: { group, queue }, value: depth });
            rows.push({ name: 'resque_starter_queue_oldest_job_age_seconds', labels: { group, queue }, value: this.headAge(`${group}\0${queue}`, head) / 1000 });
          }
        })(),
      ]);
      rows.push({ name: 'resque_starter_redis_up', labels: { group }, value: 1 });
    } catch (err) {
      this.ctx.logger.debug(messages.metricsSampleFailed(group, (err as Error)?.message ?? String(err)));
      return [{ name: 'resque_starter_redis_up', labels: { group }, value: 0 }];
    } finally {
      clearTimeout(timer);
    }
    return rows;
  }

  /**
   * The oldest waiting job's age (ms): from its `enqueued_at` when the payload has one; else how
   * long the same job has been at the head of its queue, as seen by these samples (a lower bound).
   */
  private headAge(key: string, head: unknown): number {
    const now = Date.now();
    if (head === undefined) {
      this.heads.delete(key);
      return 0;
    }
    const at = (head as { enqueued_at?: unknown }).enqueued_at;
    if (typeof at === 'number' && Number.isFinite(at) && at > 0) return Math.max(0, now - (at < 1e12 ? at * 1000 : at));
    const text = JSON.stringify(head);
    const seen = this.heads.get(key);
    if (seen?.head === text) return now - seen.since;
    this.heads.set(key, { head: text, since: now });
    return 0;
  }

  private async createRegistry(): Promise<{ metrics(): Promise<string>; contentType: string }> {
    const prom = await import('prom-client');
    const { Registry, Counter, Gauge } = (prom as unknown as { default?: typeof prom }).default ?? prom;
    const registry = new Registry();
    const now = () => this.current;
    for (const [name, labelNames] of Object.entries(COUNTERS) as Array<[CounterName, readonly string[]]>) {
      new Counter({
        name,
        help: HELP[name],
        labelNames: [...labelNames],
        registers: [registry],
        collect() {
          this.reset();
          for (const [key, v] of Object.entries(now().totals.counters[name] ?? {})) this.inc(labelsOf(labelNames, key), v);
        },
      });
    }
    for (const [name, labelNames] of Object.entries(HISTOGRAMS) as Array<[HistogramName, readonly string[]]>) {
      registry.registerMetric(histogramMetric(name, labelNames, () => now().totals.histograms[name] ?? {}) as never);
    }
    for (const [name, { help, labels }] of Object.entries(GAUGES)) {
      new Gauge({
        name,
        help,
        labelNames: [...labels],
        registers: [registry],
        collect() {
          this.reset();
          for (const row of now().gauges) if (row.name === name) this.set(row.labels, row.value);
        },
      });
    }
    return registry;
  }
}

// --- internal ---

const WORKER_STATES = ['starting', 'idle', 'busy', 'paused', 'stopping'] as const;

function workerState(w: WorkerEntry): string {
  if (w.stop) return 'stopping';
  if (w.phase !== 'ready') return 'starting';
  return w.activity === 'starting' ? 'starting' : w.activity;
}

/** A worker's own recycle reason (its `recycling` message) as a label value. */
function recycleReason(reason: string): string {
  if (reason.startsWith('maxJobs')) return 'max_jobs';
  if (reason.startsWith('maxLifetime')) return 'max_lifetime';
  if (reason.startsWith('memory')) return 'max_memory';
  if (/sent to the worker$/.test(reason)) return 'signal';
  return 'other';
}

function labelsOf(names: readonly string[], key: string): Record<string, string> {
  const values = JSON.parse(key) as string[];
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
}

function parseGauges(v: unknown): GaugeRow[] {
  if (!Array.isArray(v)) return [];
  return (v as Array<Partial<GaugeRow>>).filter(
    (r): r is GaugeRow =>
      typeof r?.name === 'string' && Object.hasOwn(GAUGES, r.name) && typeof r.value === 'number' && r.labels !== null && typeof r.labels === 'object',
  );
}

/** A histogram prom-client's registry renders from our bucket counts (its own Histogram only takes observations). */
function histogramMetric(name: string, labelNames: readonly string[], series: () => Record<string, { b: number[]; sum: number; count: number }>) {
  const get = async () => {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const [key, h] of Object.entries(series())) {
      const labels = labelsOf(labelNames, key);
      let cum = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cum += h.b[i] ?? 0;
        values.push({ labels: { ...labels, le }, value: cum, metricName: `${name}_bucket` });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` });
      values.push({ labels, value: h.sum, metricName: `${name}_sum` });
      values.push({ labels, value: h.count, metricName: `${name}_count` });
    }
    return { name, help: HELP[name as HistogramName], type: 'histogram', aggregator: 'sum', values };
  };
  return { name, help: HELP[name as HistogramName], type: 'histogram', aggregator: 'sum', get, reset: () => undefined };
}

const HELP: Record<CounterName | HistogramName, string> = {
  resque_starter_jobs_processed_total: 'Jobs finished (succeeded, failed or failed to be retried), by worker group, queue and class; counted across restarts',
  resque_starter_jobs_failed_total: 'Jobs whose attempt failed (retries included), by worker group, queue and class',
  resque_starter_jobs_recovered_total: 'In-flight jobs of dead workers the master put back (or failed, jobTimeout)',
  resque_starter_worker_starts_total: 'Worker processes started',
  resque_starter_worker_deaths_total: 'Worker processes that exited without being asked (crashes, a job calling process.exit, start failures)',
  resque_starter_worker_recycles_total: 'Worker processes recycled by a limit: max_jobs, max_lifetime, max_memory, job_timeout, signal (QUIT/TERM sent to the worker itself)',
  resque_starter_rolling_restarts_total: 'Rolling restarts by kind (takeover: a new master generation under start-server; reload: HUP in place) and outcome (done, aborted, superseded)',
  resque_starter_job_duration_seconds: "Run time of a job's handler, by worker group, queue and class",
};

const GAUGES: Record<string, { help: string; labels: readonly string[] }> = {
  resque_starter_workers: { help: 'Worker processes by group, state (starting, idle, busy, paused, stopping) and master generation (both during a rolling restart)', labels: ['group', 'state', 'generation'] },
  resque_starter_workers_desired: { help: 'Worker processes asked for, by group', labels: ['group'] },
  resque_starter_jobs_in_flight: { help: 'Jobs running now, by group and master generation', labels: ['group', 'generation'] },
  resque_starter_worker_rss_anon_bytes: { help: 'Private resident memory (RssAnon) of each worker process', labels: ['group', 'slot', 'pid', 'generation'] },
  resque_starter_queue_depth: { help: 'Jobs waiting in each queue a group works, sampled at scrape', labels: ['group', 'queue'] },
  resque_starter_queue_oldest_job_age_seconds: {
    help: "Age of the job at the head of each queue: from its enqueued_at when it has one, else how long it has been at the head (a lower bound)",
    labels: ['group', 'queue'],
  },
  resque_starter_redis_rtt_seconds: { help: "Round trip of one Redis command (SMEMBERS of the queue set) from the master, per group's Redis, at scrape", labels: ['group'] },
  resque_starter_redis_up: { help: "1 when the group's Redis answered the scrape's sample in time, else 0", labels: ['group'] },
  resque_starter_crash_loop_active: { help: '1 while the crash-loop protection holds worker starts back', labels: [] },
  resque_starter_crash_loop_delay_seconds: { help: 'Seconds until held-back worker starts resume (0 when none are held)', labels: [] },
  resque_starter_rolling_restart_in_progress: { help: '1 while a rolling restart of this kind runs', labels: ['kind'] },
  resque_starter_rolling_restart_last_duration_seconds: { help: 'Duration of the last rolling restart of this kind that this master ran', labels: ['kind'] },
  resque_starter_master_info: { help: 'The master serving this endpoint: its pid and start-server generation', labels: ['pid', 'generation'] },
};

/** Every metric name this endpoint serves, for the README's list and tests. */
export const METRIC_NAMES: readonly string[] = [...Object.keys(COUNTERS), ...Object.keys(HISTOGRAMS), ...Object.keys(GAUGES)];
