import type { FailureRecord } from '@baton/resque';
import type { FailedRequest } from '../argv.js';
import { AdminError } from '../errors.js';
import type { ResqueAdmin } from '../resque.js';

// `resque-starter failed …`: Resque's failed list (`<namespace>:failed`, Failure::Redis), read
// and changed with the same operations as resque-web's Retry and Remove, so either tool sees
// what the other did. Entries are named by their index in the list, as resque-web names them.

/** One entry of the failed list: its index, and its record (undefined when it is not JSON). */
export interface FailedEntry {
  index: number;
  record: FailureRecord | undefined;
}

export interface FailedFilter {
  queue?: string | undefined;
  className?: string | undefined;
  /** The error's class (the record's `exception`); the dashboard's filter. */
  exception?: string | undefined;
}

export interface FailedOptions extends FailedRequest, FailedFilter {
  /** `list`: at most this many entries, 0 = all (default 50). */
  limit: number | undefined;
  json: boolean;
}

/** The default of `failed list --limit`. */
export const DEFAULT_LIST_LIMIT = 50;

/** Why: one entry point per action; every outcome is one line (or a table, or JSON) on `out`. */
export async function runFailed(o: FailedOptions, q: ResqueAdmin, out: (text: string) => void): Promise<void> {
  switch (o.action) {
    case 'list':
      return listFailed(o, q, out);
    case 'show': {
      const entry = await entryAt(q, o.index as number);
      out(o.json ? `${JSON.stringify({ index: entry.index, ...entry.record }, null, 2)}\n` : renderFailedEntry(entry));
      return;
    }
    case 'retry':
      return o.index === 'all' ? retryAll(o, q, out) : retryOne(o.index as number, o.json, q, out);
    case 'remove': {
      const entry = await entryAt(q, o.index as number);
      await q.removeFailed(entry.index);
      out(o.json ? `${JSON.stringify({ removed: [entry.index] })}\n` : `removed failed job ${entry.index} (${describeEntry(entry)})\n`);
      return;
    }
    case 'clear':
      return clearFailed(o, q, out);
  }
}

/** Every entry of the list, read in pages, with its index. */
export async function readFailed(q: ResqueAdmin): Promise<FailedEntry[]> {
  const total = await q.failedCount();
  const entries: FailedEntry[] = [];
  for (let start = 0; start < total; start += PAGE) {
    const page = await q.failed(start, PAGE);
    page.forEach((r, i) => entries.push({ index: start + i, record: isRecord(r) ? r : undefined }));
    if (page.length < PAGE) break;
  }
  return entries;
}

export function matches(entry: FailedEntry, f: FailedFilter): boolean {
  if (f.queue !== undefined && entry.record?.queue !== f.queue) return false;
  if (f.className !== undefined && classOf(entry) !== f.className) return false;
  if (f.exception !== undefined && entry.record?.exception !== f.exception) return false;
  return true;
}

export function classOf(entry: FailedEntry): string | undefined {
  const p = entry.record?.payload as { class?: unknown } | undefined;
  return typeof p?.class === 'string' ? p.class : undefined;
}

/** `failed list`: one line per entry (index, time, queue, class, exception: error, retried). */
export function renderFailedList(shown: readonly FailedEntry[], counts: { total: number; matching: number; filtered: boolean }): string {
  if (counts.total === 0) return 'no failed jobs\n';
  const of = counts.filtered ? `${counts.matching} of ${counts.total} failed job(s) match` : `${counts.total} failed job(s)`;
  if (shown.length === 0) return `${of}\n`;
  const rows = shown.map((e) => [
    String(e.index),
    e.record?.failed_at ?? '-',
    e.record?.queue ?? '-',
    classOf(e) ?? '-',
    e.record ? oneLine(`${e.record.exception}: ${e.record.error}`, 100) : 'not a failure record',
    e.record?.retried_at ? `retried ${e.record.retried_at}` : '',
  ]);
  const more = shown.length < counts.matching ? `; the first ${shown.length} shown (--limit 0 for all)` : '';
  return `${of}${more}\n${table([['#', 'failed at', 'queue', 'class', 'error', ''], ...rows])}`;
}

/** `failed show N`: the whole record, the backtrace one frame a line. */
export function renderFailedEntry(e: FailedEntry): string {
  if (!e.record) return `failed job ${e.index}: not a Resque failure record\n`;
  const r = e.record;
  const lines = [
    `failed job ${e.index}`,
    `  class:      ${classOf(e) ?? '-'}`,
    `  args:       ${JSON.stringify((r.payload as { args?: unknown })?.args ?? r.payload)}`,
    `  queue:      ${r.queue}`,
    `  failed at:  ${r.failed_at}`,
    ...(r.retried_at ? [`  retried at: ${r.retried_at}`] : []),
    `  worker:     ${r.worker}`,
    `  exception:  ${r.exception}`,
    `  error:      ${r.error}`,
    ...(r.backtrace?.length ? ['  backtrace:', ...r.backtrace.map((f) => `    ${f}`)] : []),
  ];
  return `${lines.join('\n')}\n`;
}

// --- internal ---

const PAGE = 1000;

async function listFailed(o: FailedOptions, q: ResqueAdmin, out: (text: string) => void): Promise<void> {
  const all = await readFailed(q);
  const matching = all.filter((e) => matches(e, o));
  const limit = o.limit ?? DEFAULT_LIST_LIMIT;
  const shown = limit === 0 ? matching : matching.slice(0, limit);
  if (o.json) out(`${JSON.stringify(shown.map((e) => ({ index: e.index, ...e.record })), null, 2)}\n`);
  else out(renderFailedList(shown, { total: all.length, matching: matching.length, filtered: o.queue !== undefined || o.className !== undefined || o.exception !== undefined }));
}

async function retryOne(index: number, json: boolean, q: ResqueAdmin, out: (text: string) => void): Promise<void> {
  const entry = await entryAt(q, index);
  if (!entry.record || classOf(entry) === undefined) throw new AdminError(`failed job ${index} is not a Resque failure record with a job to retry; \`failed remove ${index}\` removes it`);
  await q.requeueFailed(index);
  out(json ? `${JSON.stringify({ retried: [index] })}\n` : `retried failed job ${index} (${describeEntry(entry)}): enqueued again on ${entry.record.queue}; the entry stays, marked retried\n`);
}

/** Every matching entry not retried yet, oldest first (a second `retry all` enqueues nothing twice). */
async function retryAll(o: FailedOptions, q: ResqueAdmin, out: (text: string) => void): Promise<void> {
  const matching = (await readFailed(q)).filter((e) => matches(e, o) && classOf(e) !== undefined);
  const todo = matching.filter((e) => !e.record?.retried_at);
  const retried = await q.requeueFailedMany(todo.map((e) => e.index));
  const done = todo.filter((_, i) => retried[i]).map((e) => e.index);
  const skipped = matching.length - todo.length;
  if (o.json) out(`${JSON.stringify({ retried: done, alreadyRetried: skipped })}\n`);
  else out(`retried ${done.length} failed job(s)${skipped > 0 ? `; ${skipped} already retried, not enqueued again (\`failed retry N\` does)` : ''}\n`);
}

/** Everything (Resque's clear), or only the matching entries, highest index first (indices below stay valid). */
async function clearFailed(o: FailedOptions, q: ResqueAdmin, out: (text: string) => void): Promise<void> {
  let removed: number;
  if (o.queue === undefined && o.className === undefined && o.exception === undefined) {
    removed = await q.failedCount();
    await q.clearFailed();
  } else {
    const matching = (await readFailed(q)).filter((e) => matches(e, o));
    await q.removeFailedMany(matching.map((e) => e.index));
    removed = matching.length;
  }
  out(o.json ? `${JSON.stringify({ removed })}\n` : `removed ${removed} failed job(s)\n`);
}

/** The entry at `index`, or an error that says how many there are. */
async function entryAt(q: ResqueAdmin, index: number): Promise<FailedEntry> {
  const [r] = await q.failed(index, 1);
  if (r !== undefined) return { index, record: isRecord(r) ? r : undefined };
  const total = await q.failedCount();
  if (total === 0) throw new AdminError(`no failed job ${index}: the failed list is empty`);
  throw new AdminError(`no failed job ${index}: the failed list has ${total} entr${total === 1 ? 'y' : 'ies'} (0–${total - 1}); \`resque-starter failed list\` shows them`);
}

function describeEntry(e: FailedEntry): string {
  return `${classOf(e) ?? 'no class'}${e.record?.queue ? ` from ${e.record.queue}` : ''}`;
}

function isRecord(r: unknown): r is FailureRecord {
  return typeof r === 'object' && r !== null && !Array.isArray(r);
}

function oneLine(s: string, max: number): string {
  const line = s.replace(/\s*\n\s*/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: ReadonlyArray<readonly string[]>): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}
