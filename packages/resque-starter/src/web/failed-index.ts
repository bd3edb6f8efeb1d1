import type { FailureRecord } from '@baton/resque';
import type { ResqueWebReader } from '../resque.js';
import { fingerprint, paging, type FailedPage, type FailedRow } from './resque-views.js';

// The failed page's filter (by job class, queue and error class) over a list of 10,000 entries:
// reading and parsing all of them takes 100–250 ms, so the dashboard keeps what the filter needs
// of each entry (three short strings) and reads again only what changed. Resque's failed list
// only grows at its end (RPUSH) between removals, so a longer list whose old last entry is
// still in place is read from there on; anything else (a removal, a clear) reads it all again.

/** What the filter matches on; an undefined field matches every entry. */
export interface FailedFilter {
  className?: string | undefined;
  queue?: string | undefined;
  /** The error's class (Resque's `exception`: `RuntimeError`, `TypeError`, …). */
  exception?: string | undefined;
}

/** One entry as the index keeps it ('' where the record has no such field). */
export interface IndexedEntry {
  className: string;
  queue: string;
  exception: string;
}

/** A value of one filter field and how many entries have it, most first. */
export interface Facet {
  value: string;
  count: number;
}

export interface Facets {
  className: Facet[];
  queue: Facet[];
  exception: Facet[];
}

/** Entries read per LRANGE while (re)building. */
export const SCAN_PAGE = 1000;

/** Why: an empty filter is no filter (the page shows Resque's list as it is, a page at a time). */
export function isFiltered(f: FailedFilter): boolean {
  return Boolean(f.className || f.queue || f.exception);
}

/** The fields of one failure record the filter reads. */
export function indexEntry(record: unknown): IndexedEntry {
  const r = (typeof record === 'object' && record !== null ? record : {}) as Partial<FailureRecord>;
  const cls = (r.payload as { class?: unknown } | undefined)?.class;
  return { className: typeof cls === 'string' ? cls : '', queue: typeof r.queue === 'string' ? r.queue : '', exception: typeof r.exception === 'string' ? r.exception : '' };
}

export function entryMatches(e: IndexedEntry, f: FailedFilter): boolean {
  return (!f.className || e.className === f.className) && (!f.queue || e.queue === f.queue) && (!f.exception || e.exception === f.exception);
}

/**
 * Why: one per Redis target of the dashboard; `current()` gives the list's index, read again
 * only as far as needed. `invalidate()` after the dashboard changed the list itself.
 */
export class FailedIndex {
  private entries: IndexedEntry[] = [];
  /** Fingerprint of the last entry indexed ('' when the list was empty). */
  private lastFp = '';
  private building: Promise<IndexedEntry[]> | undefined;
  /** Full reads so far (for tests and the page's footnote). */
  rebuilds = 0;

  constructor(private readonly q: Pick<ResqueWebReader, 'failedCount' | 'failed'>) {}

  /** The index of the list as it is now (one LLEN and one LINDEX when nothing changed). */
  async current(): Promise<IndexedEntry[]> {
    // Concurrent pages share one read.
    this.building ??= this.refresh().finally(() => (this.building = undefined));
    return await this.building;
  }

  invalidate(): void {
    this.entries = [];
    this.lastFp = '';
  }

  /** The indices of the matching entries, newest (highest index) first. */
  async matching(f: FailedFilter): Promise<number[]> {
    const entries = await this.current();
    const out: number[] = [];
    for (let i = entries.length - 1; i >= 0; i--) if (entryMatches(entries[i]!, f)) out.push(i);
    return out;
  }

  /** Each field's values over the whole list with their counts (most first, then by name), at most `max` each. */
  async facets(max = 100): Promise<Facets> {
    const entries = await this.current();
    const count = (key: keyof IndexedEntry): Facet[] => {
      const m = new Map<string, number>();
      for (const e of entries) m.set(e[key], (m.get(e[key]) ?? 0) + 1);
      return [...m]
        .map(([value, n]) => ({ value, count: n }))
        .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value))
        .slice(0, max);
    };
    return { className: count('className'), queue: count('queue'), exception: count('exception') };
  }

  /** How many entries the list had at the last `current()`. */
  get size(): number {
    return this.entries.length;
  }

  // --- internal ---

  private async refresh(): Promise<IndexedEntry[]> {
    const total = await this.q.failedCount();
    const known = this.entries.length;
    if (total === known && (total === 0 || (await this.fingerprintAt(total - 1)) === this.lastFp)) return this.entries;
    if (total > known && known > 0 && (await this.fingerprintAt(known - 1)) === this.lastFp) {
      await this.read(known, total);
      return this.entries;
    }
    this.rebuilds += 1;
    this.entries = [];
    this.lastFp = '';
    await this.read(0, total);
    return this.entries;
  }

  /** Appends entries `from`..`to - 1` (fewer if the list got shorter meanwhile: the next call reads it all again). */
  private async read(from: number, to: number): Promise<void> {
    const next = [...this.entries];
    let last: unknown;
    for (let start = from; start < to; start += SCAN_PAGE) {
      const page = await this.q.failed(start, Math.min(SCAN_PAGE, to - start));
      for (const r of page) next.push(indexEntry(r));
      if (page.length > 0) last = page[page.length - 1];
      if (page.length < Math.min(SCAN_PAGE, to - start)) break;
    }
    this.entries = next;
    this.lastFp = next.length > 0 ? fingerprint(last) : '';
  }

  private async fingerprintAt(index: number): Promise<string> {
    const [r] = await this.q.failed(index, 1);
    return r === undefined ? '' : fingerprint(r);
  }
}

/** A page of the entries that match a filter, and how many entries the list has in all. */
export interface FilteredPage extends FailedPage {
  /** Entries in the list (the page's `paging.total` counts the matching ones). */
  listTotal: number;
}

/**
 * Why: a filtered page costs the index's check (one LLEN, one LINDEX) and one LINDEX per row,
 * whatever the list's length; a row that no longer matches (the list changed under the index)
 * reads the index again, once.
 */
export async function readFilteredPage(index: FailedIndex, q: Pick<ResqueWebReader, 'failed'>, f: FailedFilter, page: number, per: number): Promise<FilteredPage> {
  for (let attempt = 0; ; attempt++) {
    const matching = await index.matching(f);
    const pg = paging(matching.length, page, per);
    const slice = matching.slice((pg.page - 1) * pg.per, pg.page * pg.per);
    const records = await Promise.all(slice.map(async (i) => (await q.failed(i, 1))[0] as unknown));
    const stale = records.some((r) => r === undefined || !entryMatches(indexEntry(r), f));
    if (stale && attempt === 0) {
      index.invalidate();
      continue;
    }
    const rows: FailedRow[] = slice.flatMap((i, k) => {
      const r = records[k];
      if (r === undefined || !entryMatches(indexEntry(r), f)) return [];
      return [{ index: i, record: isRecord(r) ? r : undefined, fingerprint: fingerprint(r) }];
    });
    return { paging: pg, rows, listTotal: index.size };
  }
}

function isRecord(r: unknown): r is FailureRecord {
  return typeof r === 'object' && r !== null && !Array.isArray(r);
}
