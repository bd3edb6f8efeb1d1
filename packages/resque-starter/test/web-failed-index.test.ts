import { describe, expect, it } from 'vitest';
import { FailedIndex, indexEntry, readFilteredPage, SCAN_PAGE } from '../src/web/failed-index.js';
import { filterQuery } from '../src/web/render.js';

/** Resque's failed list in memory, counting the reads the index makes. */
class FakeList {
  items: unknown[] = [];
  reads: Array<[number, number]> = [];
  async failedCount(): Promise<number> {
    return this.items.length;
  }
  async failed(start: number, count: number): Promise<never[]> {
    this.reads.push([start, count]);
    return this.items.slice(start, start + count) as never[];
  }
  push(cls: string, queue = 'q', exception = 'RuntimeError', n = 1): void {
    for (let i = 0; i < n; i++) this.items.push({ failed_at: `t${this.items.length}`, payload: { class: cls, args: [this.items.length] }, exception, error: 'e', backtrace: [], worker: 'w', queue });
  }
}

describe('the failed filter index', () => {
  it('reads the list once, then only its new end; a removal reads it all again', async () => {
    const l = new FakeList();
    l.push('A', 'mail', 'RuntimeError', 3);
    l.push('B', 'rs', 'TypeError', 2);
    const x = new FailedIndex(l);
    expect(await x.matching({ className: 'A' })).toEqual([2, 1, 0]);
    expect(x.rebuilds).toBe(1);
    // Nothing changed: one LLEN and one read of the last entry.
    l.reads = [];
    expect(await x.matching({ queue: 'rs', exception: 'TypeError' })).toEqual([4, 3]);
    expect(l.reads).toEqual([[4, 1]]);
    // Appended (as workers RPUSH): the new entries only.
    l.push('A', 'rs', 'TypeError', 2);
    l.reads = [];
    expect(await x.matching({ className: 'A', queue: 'rs' })).toEqual([6, 5]);
    expect(l.reads).toEqual([[4, 1], [5, 2]]);
    expect(x.rebuilds).toBe(1);
    // A removal in the middle (resque-web's Remove) with one new entry after it: same length, another last entry.
    l.items.splice(1, 1);
    l.push('C');
    expect(await x.matching({ className: 'C' })).toEqual([6]);
    expect(x.rebuilds).toBe(2);
    // Cleared.
    l.items = [];
    expect(await x.matching({ className: 'A' })).toEqual([]);
    expect(x.size).toBe(0);
  });

  it('facets: every value with its count, most first', async () => {
    const l = new FakeList();
    l.push('A', 'mail', 'RuntimeError', 3);
    l.push('B', 'rs', 'TypeError', 5);
    l.items.push('not json', { payload: null });
    const f = await new FailedIndex(l).facets();
    expect(f.className).toEqual([{ value: 'B', count: 5 }, { value: 'A', count: 3 }, { value: '', count: 2 }]);
    expect(f.queue.map((x) => x.value)).toEqual(['rs', 'mail', '']);
    expect(f.exception[0]).toEqual({ value: 'TypeError', count: 5 });
    expect(indexEntry('not json')).toEqual({ className: '', queue: '', exception: '' });
  });

  it('reads a long list a page at a time', async () => {
    const l = new FakeList();
    l.push('A', 'q', 'E', SCAN_PAGE * 2 + 5);
    const x = new FailedIndex(l);
    expect((await x.matching({ className: 'A' })).length).toBe(SCAN_PAGE * 2 + 5);
    expect(l.reads.filter(([, n]) => n > 1).map(([s]) => s)).toEqual([0, SCAN_PAGE, SCAN_PAGE * 2]);
  });

  it('a filtered page: newest first, a page at a time; a row that changed under the index reads it again', async () => {
    const l = new FakeList();
    for (let i = 0; i < 30; i++) l.push(i % 3 === 0 ? 'A' : 'B');
    const x = new FailedIndex(l);
    const p1 = await readFilteredPage(x, l, { className: 'A' }, 1, 4);
    expect(p1.paging).toMatchObject({ total: 10, pages: 3, page: 1 });
    expect(p1.rows.map((r) => r.index)).toEqual([27, 24, 21, 18]);
    expect(p1.listTotal).toBe(30);
    const p3 = await readFilteredPage(x, l, { className: 'A' }, 3, 4);
    expect(p3.rows.map((r) => r.index)).toEqual([3, 0]);
    // Entry 0 replaced by another class in place (same length, same last entry): the page notices and reads the list again.
    l.items[0] = { ...(l.items[0] as object), payload: { class: 'B', args: [] } };
    const again = await readFilteredPage(x, l, { className: 'A' }, 3, 4);
    expect(again.paging.total).toBe(9);
    expect(again.rows.map((r) => r.index)).toEqual([3]);
    expect(x.rebuilds).toBe(2);
  });

  it('the filter as a query string', () => {
    expect(filterQuery({ className: 'Mail er', queue: 'q&1', exception: undefined })).toBe('class=Mail+er&queue=q%261');
    expect(filterQuery({})).toBe('');
  });
});
