import type { ResqueAdmin } from '../resque.js';
import { table } from './failed.js';

/** One queue as `resque-starter queues` shows it. */
export interface QueueRow {
  name: string;
  /** Jobs waiting (LLEN). */
  depth: number;
  /** When the job at the head was enqueued, when its payload says (`enqueued_at`); else undefined. */
  oldestEnqueuedAt: Date | undefined;
  /** Delayed jobs (resque-scheduler's delayed queue) bound for it: scheduled, retries waiting. */
  delayed: number;
}

export interface QueuesReport {
  queues: QueueRow[];
  failed: number;
}

/** Why: what an operator asks first (is anything piling up, since when, how much failed), in one round of reads. */
export async function readQueues(q: ResqueAdmin): Promise<QueuesReport> {
  const delayed = await q.delayedCounts();
  // A queue with only delayed jobs is not in `<namespace>:queues` yet: it is listed too.
  const names = [...new Set([...(await q.queues()), ...Object.keys(delayed)])].sort();
  const queues = await Promise.all(
    names.map(async (name): Promise<QueueRow> => {
      const [depth, [head]] = await Promise.all([q.size(name), q.peek(name, 0, 1)]);
      return { name, depth, oldestEnqueuedAt: enqueuedAt(head), delayed: delayed[name] ?? 0 };
    }),
  );
  return { queues, failed: await q.failedCount() };
}

/** `queues`: one line per queue (depth, age of the oldest job, delayed jobs), then the failed count. */
export function renderQueues(r: QueuesReport, now: Date): string {
  const rows = r.queues.map((row) => [row.name, String(row.depth), row.oldestEnqueuedAt ? formatAge(now.getTime() - row.oldestEnqueuedAt.getTime()) : '-', String(row.delayed)]);
  const body = rows.length > 0 ? table([['queue', 'jobs', 'oldest', 'delayed'], ...rows]) : 'no queues\n';
  return `${body}failed: ${r.failed}\n`;
}

/** `queues --json`: the same, ages in seconds. */
export function queuesJson(r: QueuesReport, now: Date): string {
  const queues = r.queues.map((row) => ({
    name: row.name,
    depth: row.depth,
    delayed: row.delayed,
    oldestEnqueuedAt: row.oldestEnqueuedAt?.toISOString() ?? null,
    oldestAgeSeconds: row.oldestEnqueuedAt ? Math.max(0, (now.getTime() - row.oldestEnqueuedAt.getTime()) / 1000) : null,
  }));
  return `${JSON.stringify({ queues, failed: r.failed }, null, 2)}\n`;
}

/**
 * The `enqueued_at` of a payload: seconds since the epoch (Sidekiq's and resque-scheduler's
 * float, or milliseconds when it is that large), or a date string. Plain Resque payloads have none.
 */
export function enqueuedAt(payload: unknown): Date | undefined {
  const v = (payload as { enqueued_at?: unknown } | null | undefined)?.enqueued_at;
  let ms: number | undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) ms = v > 1e11 ? v : v * 1000;
  else if (typeof v === 'string' && v !== '') ms = /^\d+(\.\d+)?$/.test(v) ? enqueuedAt({ enqueued_at: Number(v) })?.getTime() : Date.parse(v);
  return ms !== undefined && Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** 45s, 12m 3s, 5h 2m, 3d 4h. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}
