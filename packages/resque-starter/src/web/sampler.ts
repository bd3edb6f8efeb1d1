// Throughput over time: Resque keeps only totals (`stat:processed`, `stat:failed`), so the
// dashboard samples them and keeps the differences of the last few minutes in memory.

export interface StatSample {
  /** Epoch ms of the reading. */
  at: number;
  processed: number;
  failed: number;
}

/** Jobs per second between two readings. */
export interface Rate {
  at: number;
  processed: number;
  failed: number;
}

export interface SamplerOptions {
  read(): Promise<{ processed: number; failed: number }>;
  everyMs: number;
  /** Readings kept (the sparkline's width). */
  keep: number;
  now?: () => number;
}

/**
 * Why: the overview's sparklines need a rate per interval without a metrics server: one MGET per
 * interval, whatever the number of browsers open. A failed reading is skipped (the gap shows);
 * a total that went down (FLUSHDB, `stat` reset) restarts the series instead of drawing a dip.
 */
export class StatSampler {
  private readonly samples: StatSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: SamplerOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.o.everyMs);
    this.timer.unref();
  }

  /** Waits for a reading in progress; no timer is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Takes one reading now (the timer calls it; tests may too). */
  async sample(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      try {
        this.add({ at: this.now(), ...(await this.o.read()) });
      } catch {
        // Redis away: no point this time.
      } finally {
        this.running = undefined;
      }
    })();
    await this.running;
  }

  add(s: StatSample): void {
    const last = this.samples.at(-1);
    if (last && (s.processed < last.processed || s.failed < last.failed)) this.samples.length = 0;
    this.samples.push(s);
    if (this.samples.length > this.o.keep + 1) this.samples.splice(0, this.samples.length - this.o.keep - 1);
  }

  latest(): StatSample | undefined {
    return this.samples.at(-1);
  }

  /** The rates between consecutive readings, oldest first. */
  rates(): Rate[] {
    return rates(this.samples);
  }
}

/** Why: pure, so the overview's numbers are tested without timers. */
export function rates(samples: readonly StatSample[]): Rate[] {
  const out: Rate[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const dt = (b.at - a.at) / 1000;
    if (dt <= 0) continue;
    out.push({ at: b.at, processed: (b.processed - a.processed) / dt, failed: (b.failed - a.failed) / dt });
  }
  return out;
}
