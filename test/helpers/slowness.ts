import { spawnSync } from 'node:child_process';

// How much slower than an idle reference machine this one is right now, so integration tests can
// scale their deadlines (never what they assert) on a busy or slow host. Measured once per run by
// global-setup and passed to the test workers in BATON_SLOWNESS; set it yourself to override.

/** The environment variable that carries the factor for the whole run. */
export const SLOWNESS_VAR = 'BATON_SLOWNESS';

/** Median wall time of `node -e ''` on the idle reference host (2 cores, Node 20): 100 ms. */
export const REFERENCE_NODE_START_MS = 100;

/** The factor is never below 1 (a fast host keeps the written deadlines) nor above this. */
export const MAX_SLOWNESS = 8;

export interface SlownessMeasure {
  factor: number;
  /** Median `node -e ''` wall time (ms), or undefined when the factor came from the environment. */
  medianMs: number | undefined;
  samples: number[];
}

/** Why: a `node -e ''` start is what every chain step pays (spawn, V8 boot, module loading), and it slows down the same way under CPU load. */
export function measureSlowness(runs = 9): SlownessMeasure {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const medianMs = sorted[Math.floor(sorted.length / 2)]!;
  return { factor: clampSlowness(medianMs / REFERENCE_NODE_START_MS), medianMs, samples };
}

/** Why: one rounding and one range for every source of the factor (measured or given). */
export function clampSlowness(f: number): number {
  if (!Number.isFinite(f)) return 1;
  return Math.round(Math.min(MAX_SLOWNESS, Math.max(1, f)) * 100) / 100;
}

let cached: number | undefined;

/** The run's factor: BATON_SLOWNESS when set (global-setup sets it), else measured once in this process. */
export function slowness(): number {
  if (cached !== undefined) return cached;
  const given = Number(process.env[SLOWNESS_VAR]);
  cached = process.env[SLOWNESS_VAR] && Number.isFinite(given) ? clampSlowness(given) : measureSlowness().factor;
  process.env[SLOWNESS_VAR] ??= String(cached);
  return cached;
}

/** Why: a deadline written for an idle machine, stretched by the measured slowness (rounded up to a ms). */
export function slow(ms: number): number {
  return Math.ceil(ms * slowness());
}
