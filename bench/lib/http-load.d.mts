// Types of http-load.mjs, for the TypeScript tests that use it.
export interface LoadOptions {
  port: number;
  host?: string;
  keepAlive: boolean;
  concurrency?: number;
  timeoutMs?: number;
  maxRequests?: number;
  path?: string;
}

export interface LoadStats {
  keepAlive: boolean;
  requests: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  byGeneration: Record<string, number>;
  latencies: number[];
  samples: string[];
}

export interface LoadSummary {
  keepAlive: boolean;
  requests: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  samples: string[];
  byGeneration: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  seconds: number;
  rps: number;
}

export interface Load {
  stats: LoadStats;
  done: Promise<LoadSummary>;
  stop(): Promise<LoadSummary>;
}

export function startLoad(options: LoadOptions): Load;
export function percentile(sorted: ArrayLike<number>, p: number): number;
export function summarize(stats: LoadStats, elapsedMs: number): LoadSummary;
