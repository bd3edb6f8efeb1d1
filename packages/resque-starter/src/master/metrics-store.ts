// The master's counters and histograms, as plain data: what it counts itself, and what older
// generations counted (handed over at each rolling restart). Pure: no I/O, no prom-client.

/** Label names of each counter, in order (values are stored in that order). */
export const COUNTERS = {
  resque_starter_jobs_processed_total: ['group', 'queue', 'class'],
  resque_starter_jobs_failed_total: ['group', 'queue', 'class'],
  resque_starter_jobs_recovered_total: ['group'],
  resque_starter_worker_starts_total: ['group'],
  resque_starter_worker_deaths_total: ['group'],
  resque_starter_worker_recycles_total: ['group', 'reason'],
  resque_starter_rolling_restarts_total: ['kind', 'outcome'],
} as const satisfies Record<string, readonly string[]>;

/** Label names of each histogram. */
export const HISTOGRAMS = {
  resque_starter_job_duration_seconds: ['group', 'queue', 'class'],
} as const satisfies Record<string, readonly string[]>;

export type CounterName = keyof typeof COUNTERS;
export type HistogramName = keyof typeof HISTOGRAMS;

/**
 * Upper bounds (seconds) of the job duration buckets: from a no-op job (< 1 ms) to a 15 minute
 * batch, roughly ×2.5 apart as Prometheus' defaults are.
 */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/** One histogram series: counts per bucket (not cumulative; the last is +Inf), sum and count. */
export interface HistogramSeries {
  b: number[];
  sum: number;
  count: number;
}

/**
 * Counter and histogram values by metric and label values (the key is the JSON array of the
 * label values, in the metric's label order).
 */
export interface StoreData {
  counters: Partial<Record<CounterName, Record<string, number>>>;
  histograms: Partial<Record<HistogramName, Record<string, HistogramSeries>>>;
}

/**
 * What one master counted (`covers` its pid), or what several older generations counted
 * together (`covers` all their pids, folded into one once they are gone). `version` grows with
 * every change: of two parts that cover the same masters, the higher one is the newer.
 */
export interface MetricsPart {
  covers: number[];
  version: number;
  data: StoreData;
}

/** Why: the master owns its counters (a worker's restart loses none); cheap enough per job. */
export class MetricsStore {
  readonly data: StoreData = { counters: {}, histograms: {} };
  version = 0;

  inc(name: CounterName, labels: readonly string[], by = 1): void {
    const series = (this.data.counters[name] ??= {});
    const key = JSON.stringify(labels);
    series[key] = (series[key] ?? 0) + by;
    this.version++;
  }

  observe(name: HistogramName, labels: readonly string[], seconds: number): void {
    const all = (this.data.histograms[name] ??= {});
    const key = JSON.stringify(labels);
    const h = (all[key] ??= { b: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 });
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    h.b[i]! += 1;
    h.sum += seconds;
    h.count += 1;
    this.version++;
  }

  /** Observations already sorted into buckets (a worker's sums): `b` per bucket, +Inf last. */
  observeBuckets(name: HistogramName, labels: readonly string[], b: readonly number[], sum: number): void {
    if (b.length !== DURATION_BUCKETS.length + 1) return;
    const all = (this.data.histograms[name] ??= {});
    const key = JSON.stringify(labels);
    const h = (all[key] ??= { b: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 });
    let n = 0;
    for (let i = 0; i < b.length; i++) {
      const v = Number(b[i]) || 0;
      h.b[i]! += v;
      n += v;
    }
    h.sum += Number(sum) || 0;
    h.count += n;
    this.version++;
  }

  /** This master's own part, as handed to the next generation. */
  part(pid: number): MetricsPart {
    return { covers: [pid], version: this.version, data: this.data };
  }
}

/**
 * Why: a new master may hear of the same older generation twice (directly, and inside what a
 * middle generation handed over, after a burst of restarts): counted once. The parts covering
 * the most masters win; a part covering any master already counted is left out; of parts that
 * cover the same masters, the newest.
 */
export function dedupeParts(parts: readonly MetricsPart[]): MetricsPart[] {
  const sorted = [...parts].sort((a, b) => b.covers.length - a.covers.length || b.version - a.version);
  const taken = new Set<number>();
  const out: MetricsPart[] = [];
  for (const p of sorted) {
    if (p.covers.some((pid) => taken.has(pid))) continue;
    out.push(p);
    for (const pid of p.covers) taken.add(pid);
  }
  return out;
}

/** The sum of the parts (deduplicated first): what `/metrics` shows. */
export function sumParts(parts: readonly MetricsPart[]): StoreData {
  const out: StoreData = { counters: {}, histograms: {} };
  for (const { data } of dedupeParts(parts)) {
    for (const [name, series] of Object.entries(data.counters) as Array<[CounterName, Record<string, number>]>) {
      const to = (out.counters[name] ??= {});
      for (const [key, v] of Object.entries(series)) to[key] = (to[key] ?? 0) + v;
    }
    for (const [name, series] of Object.entries(data.histograms) as Array<[HistogramName, Record<string, HistogramSeries>]>) {
      const to = (out.histograms[name] ??= {});
      for (const [key, h] of Object.entries(series)) {
        const t = (to[key] ??= { b: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 });
        for (let i = 0; i < t.b.length; i++) t.b[i]! += h.b[i] ?? 0;
        t.sum += h.sum;
        t.count += h.count;
      }
    }
  }
  return out;
}

/** Older generations that are all gone, as one part (what a master keeps after many restarts stays small). */
export function foldParts(parts: readonly MetricsPart[]): MetricsPart | undefined {
  const kept = dedupeParts(parts);
  if (kept.length === 0) return undefined;
  return { covers: kept.flatMap((p) => p.covers), version: kept.reduce((n, p) => n + p.version, 0), data: sumParts(kept) };
}

/**
 * Why: parts arrive over a socket from another process (maybe another version): anything that
 * is not the expected shape is dropped rather than trusted.
 */
export function parseParts(v: unknown): MetricsPart[] {
  if (!Array.isArray(v)) return [];
  const out: MetricsPart[] = [];
  for (const p of v as Array<Partial<MetricsPart>>) {
    if (!p || !Array.isArray(p.covers) || !p.covers.every((x) => Number.isInteger(x)) || typeof p.version !== 'number') continue;
    const data = p.data as Partial<StoreData> | undefined;
    const counters: StoreData['counters'] = {};
    const histograms: StoreData['histograms'] = {};
    for (const [name, series] of Object.entries(data?.counters ?? {})) {
      if (!Object.hasOwn(COUNTERS, name) || !isRecord(series)) continue;
      const ok = Object.entries(series).filter(([, n]) => typeof n === 'number' && Number.isFinite(n) && n >= 0);
      counters[name as CounterName] = Object.fromEntries(ok) as Record<string, number>;
    }
    for (const [name, series] of Object.entries(data?.histograms ?? {})) {
      if (!Object.hasOwn(HISTOGRAMS, name) || !isRecord(series)) continue;
      const ok = Object.entries(series as Record<string, Partial<HistogramSeries>>).filter(
        ([, h]) => Array.isArray(h?.b) && h.b.length === DURATION_BUCKETS.length + 1 && typeof h.sum === 'number' && typeof h.count === 'number',
      );
      histograms[name as HistogramName] = Object.fromEntries(ok) as Record<string, HistogramSeries>;
    }
    out.push({ covers: p.covers, version: p.version, data: { counters, histograms } });
  }
  return out;
}

// --- internal ---

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
