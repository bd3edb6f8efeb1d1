import { createHash } from 'node:crypto';
import { parseWorkerId, type DelayedJob, type FailureRecord, type WorkerDetail } from '@baton/resque';
import type { ResolvedConfig } from '../config.js';
import type { AdminTarget } from '../commands/admin-targets.js';
import { readQueues, type QueuesReport } from '../commands/queues.js';
import type { ResqueWebReader } from '../resque.js';

// What the Redis-backed pages read, one page at a time: a failed list of 10,000 entries or a
// few hundred workers cost one LLEN/SCARD and one LRANGE or one pipelined read of a page.

/** One Redis and namespace the dashboard reads, with its open client. */
export interface WebTarget extends AdminTarget {
  queue: ResqueWebReader;
}

/** Rows per page of the failed and workers pages (resque-web shows 20, Sidekiq 25). */
export const PAGE_SIZE = 50;
/** `?per=` may ask for up to this many. */
export const MAX_PAGE_SIZE = 200;

/** A page of a list of `total` rows: `page` is 1-based; out-of-range pages clamp. */
export interface Paging {
  page: number;
  pages: number;
  per: number;
  total: number;
}

export function paging(total: number, page: number, per: number): Paging {
  const p = Math.min(Math.max(1, Math.floor(per) || PAGE_SIZE), MAX_PAGE_SIZE);
  const pages = Math.max(1, Math.ceil(total / p));
  return { page: Math.min(Math.max(1, Math.floor(page) || 1), pages), pages, per: p, total };
}

/** One failed entry as the page shows it, with the fingerprint a retry/remove must match. */
export interface FailedRow {
  /** Its index in Resque's failed list (as resque-web and `failed list` number them). */
  index: number;
  record: FailureRecord | undefined;
  /** sha1 of the entry, cut: a retry or remove of index N acts only if N still holds this entry. */
  fingerprint: string;
}

export interface FailedPage {
  paging: Paging;
  rows: FailedRow[];
}

/**
 * Why: newest first (what an operator looks for, as in Sidekiq), read from the end of the list
 * with one LRANGE: page 1 is the last `per` entries, highest index first.
 */
export async function readFailedPage(q: ResqueWebReader, page: number, per: number): Promise<FailedPage> {
  const pg = paging(await q.failedCount(), page, per);
  const end = pg.total - (pg.page - 1) * pg.per - 1;
  const start = Math.max(0, end - pg.per + 1);
  const records = end >= 0 ? await q.failed(start, end - start + 1) : [];
  const rows = records.map((r, i) => ({ index: start + i, record: isRecord(r) ? r : undefined, fingerprint: fingerprint(r) })).reverse();
  return { paging: pg, rows };
}

/** The fingerprint of a failed entry as read (its JSON, or what the list held). */
export function fingerprint(record: unknown): string {
  return createHash('sha1').update(JSON.stringify(record) ?? 'null').digest('hex').slice(0, 16);
}

/** The entry now at `index`, or undefined. */
export async function failedAt(q: ResqueWebReader, index: number): Promise<FailedRow | undefined> {
  const [r] = await q.failed(index, 1);
  return r === undefined ? undefined : { index, record: isRecord(r) ? r : undefined, fingerprint: fingerprint(r) };
}

/** A page of one queue's waiting jobs, from its head (the next to run first). */
export interface QueuePage {
  name: string;
  paging: Paging;
  /** Each job's position in the queue (0: the next) and its payload as stored (parsed). */
  rows: Array<{ position: number; payload: unknown }>;
}

/** Why: resque-web's queue view: one LLEN and one LRANGE, whatever the queue's length. */
export async function readQueuePage(q: ResqueWebReader, name: string, page: number, per: number): Promise<QueuePage> {
  const pg = paging(await q.size(name), page, per);
  const start = (pg.page - 1) * pg.per;
  const payloads = pg.total > 0 ? await q.peek(name, start, pg.per) : [];
  return { name, paging: pg, rows: payloads.map((payload, i) => ({ position: start + i, payload })) };
}

/** A page of the delayed jobs (resque-scheduler's delayed queue), the soonest due first. */
export interface DelayedPage {
  paging: Paging;
  /** Each job's position among the delayed ones (0: the next due). */
  rows: Array<{ position: number; job: DelayedJob }>;
}

/**
 * Why: what waits for its time (scheduled jobs, retries), in the order the scheduler moves it.
 * Reads the second buckets from the soonest until the page is full (a deep page reads every
 * bucket before it: the pager stops at `MAX_DELAYED_PAGES`). `known`: the total, when the caller has it.
 */
export async function readDelayedPage(q: ResqueWebReader, page: number, per: number, known?: number): Promise<DelayedPage> {
  // `known`: the count the caller has already read (the queues page sums its per-queue counts).
  const total = known ?? (await q.delayedCount());
  const pg = paging(Math.min(total, MAX_DELAYED_PAGES * Math.min(Math.max(1, Math.floor(per) || PAGE_SIZE), MAX_PAGE_SIZE)), page, per);
  const start = (pg.page - 1) * pg.per;
  const jobs = pg.total > 0 ? await q.delayed(start, pg.per) : [];
  return { paging: { ...pg, total }, rows: jobs.map((job, i) => ({ position: start + i, job })) };
}

/** The delayed page goes this deep at most (each page before it is read again to reach it). */
export const MAX_DELAYED_PAGES = 20;

/** One registered worker, with what the page knows of its host, pid, queues and group. */
export interface WorkerRow extends WorkerDetail {
  host: string;
  pid: string;
  queues: string[];
  /** The worker group whose queues these are (ours), when one matches. */
  group: string | undefined;
}

export interface WorkersPage {
  paging: Paging;
  rows: WorkerRow[];
  /** Every host with registered workers, and how many each (from the ids SMEMBERS gave). */
  hosts: Array<{ host: string; workers: number }>;
}

/** Why: every host's workers (Ruby's and node-resque's too), sorted by id; only the page's details are read. */
export async function readWorkersPage(q: ResqueWebReader, config: ResolvedConfig, page: number, per: number): Promise<WorkersPage> {
  const ids = await q.workerIds();
  const pg = paging(ids.length, page, per);
  const slice = ids.slice((pg.page - 1) * pg.per, pg.page * pg.per);
  const details = await q.workerDetails(slice);
  const groupOf = groupByQueues(config);
  const rows = details.map((d): WorkerRow => {
    const p = parseWorkerId(d.id);
    const queues = p?.queues ?? [];
    return { ...d, host: p?.host ?? '?', pid: p?.pid ?? '?', queues, group: groupOf.get(queues.join(',')) };
  });
  const counts = new Map<string, number>();
  for (const id of ids) {
    const host = parseWorkerId(id)?.host ?? '?';
    counts.set(host, (counts.get(host) ?? 0) + 1);
  }
  return { paging: pg, rows, hosts: [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([host, workers]) => ({ host, workers })) };
}

/** The overview's totals for one target. */
export interface Totals {
  processed: number;
  failed: number;
  workers: number;
  queues: number;
  pending: number;
  failedList: number;
}

export async function readTotals(q: ResqueWebReader): Promise<Totals> {
  const [s, failedList] = await Promise.all([q.stats(), q.failedCount()]);
  return { processed: s.processed, failed: s.failed, workers: s.workers, queues: s.queues, pending: s.pending, failedList };
}

export async function readQueuesReport(q: ResqueWebReader): Promise<QueuesReport> {
  return await readQueues(q);
}

// --- internal ---

function isRecord(r: unknown): r is FailureRecord {
  return typeof r === 'object' && r !== null && !Array.isArray(r);
}

/** `critical,mail` → group name, from the config's groups (as worker ids list queues: `!skip` entries dropped). */
function groupByQueues(config: ResolvedConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of config.groups) out.set(g.queues.filter((q) => !q.startsWith('!')).join(','), g.name);
  return out;
}
