import { createHash } from 'node:crypto';
import type { ResolvedConfig } from '../config.js';
import { configForGroup } from '../config-groups.js';
import type { GroupSpec } from '../state/index.js';

/**
 * Fields a reload compares to decide whether a group's workers must be replaced: everything a
 * worker of the group runs with, not its count (a new `concurrency` only scales) and not what
 * only the master uses (its files, timeouts, crash-loop settings, beforeFork).
 */
const MASTER_ONLY = new Set<string>([
  'path', 'pidFile', 'statusFile', 'logFile', 'fileMode', 'restartFile', 'concurrency', 'maxConcurrency', 'groups', 'stopTimeoutMs', 'termTimeoutMs',
  'readyTimeoutMs', 'redisTimeoutMs', 'autoscale', 'crashLoop', 'serverStarterStatusFile', 'beforeFork', 'statusIntervalMs', 'reapJobProcesses', 'version', 'codeHash', 'compiled', 'schedule', 'scheduler',
]);

/**
 * Why: the reducer decides per group (state/groups.ts `applyGroups`) with a hash of what the
 * group's workers run: its settings, its job handlers' and hooks' source text, and the code's
 * identity — the config's `version` when set, else `codeHash` (the local modules the config
 * imports). A group whose hash is unchanged keeps its workers across a reload.
 */
export function groupSpecs(config: ResolvedConfig, codeHash = config.codeHash): GroupSpec[] {
  return config.groups.map((g) => ({
    name: g.name,
    concurrency: g.concurrency,
    maxConcurrency: g.maxConcurrency,
    jobTimeoutMs: g.jobTimeoutMs,
    maxMemoryKb: g.maxMemoryKb,
    autoscale: g.autoscale && { min: g.autoscale.min, max: g.autoscale.max, jobsPerWorker: g.autoscale.jobsPerWorker, maxWaitMs: g.autoscale.maxWaitMs, downAfterMs: g.autoscale.downAfterMs },
    hash: groupHash(configForGroup(config, g.name)!, config.version ?? codeHash),
  }));
}

function groupHash(c: ResolvedConfig, code: string): string {
  const fields = Object.entries(c)
    .filter(([k]) => !MASTER_ONLY.has(k))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const text = JSON.stringify({ fields, code }, (_k, v: unknown) => (typeof v === 'function' ? `fn:${String(v)}` : v));
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}
