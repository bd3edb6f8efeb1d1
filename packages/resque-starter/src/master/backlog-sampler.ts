import type { Logger, ProcessHost } from '@baton/process-kit';
import type { ResolvedGroup } from '../config-groups.js';
import { messages } from '../messages.js';
import type { MasterEvent } from '../state/index.js';
import type { QueueClients } from './queue-client.js';

export interface BacklogOptions {
  /** The groups of the config in use (those with `autoscale` are sampled). */
  groups(): readonly ResolvedGroup[];
  queues: QueueClients;
  dispatch(event: MasterEvent): void;
  logger: Logger;
}

/**
 * Why: auto-scaling (state/autoscale.ts) decides from what waits in each autoscaled group's
 * queues: every group's `autoscale.interval`, the jobs waiting in the queues it works (its
 * patterns matched against Resque's queue set) and the age of the oldest one when its payload
 * carries `enqueued_at` (seconds, as resque-scheduler and several clients set it). One sample
 * at a time per group; a Redis that is away skips samples. Returns stop.
 */
export function sampleBacklog(host: Pick<ProcessHost, 'every' | 'now'>, o: BacklogOptions): () => void {
  const last = new Map<string, number>();
  const busy = new Set<string>();
  const sample = async (g: ResolvedGroup) => {
    busy.add(g.name);
    try {
      const q = await o.queues.forGroup(g.name).get();
      const names = matchQueues(g.queues, await q.queues());
      let depth = 0;
      let oldest: number | undefined;
      for (const name of names) {
        depth += await q.size(name);
        const at = enqueuedAt((await q.peek(name, 0, 1))[0]);
        if (at !== undefined) oldest = Math.min(oldest ?? at, at);
      }
      o.dispatch({ type: 'backlog', group: g.name, depth, oldestMs: oldest === undefined ? undefined : Math.max(0, Date.now() - oldest) });
    } catch (err) {
      o.logger.debug(messages.backlogFailed(g.name, (err as Error)?.message ?? String(err)));
    } finally {
      busy.delete(g.name);
    }
  };
  return host.every(50, () => {
    for (const g of o.groups()) {
      if (!g.autoscale || busy.has(g.name) || host.now() - (last.get(g.name) ?? -Infinity) < g.autoscale.intervalMs) continue;
      last.set(g.name, host.now());
      void sample(g);
    }
  });
}

/** The queues of Resque's set a group's list names: names, `*` globs, `!name` exclusions. */
export function matchQueues(patterns: readonly string[], known: readonly string[]): string[] {
  const re = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  const excluded = patterns.filter((p) => p.startsWith('!')).map((p) => re(p.slice(1)));
  const wanted = patterns.filter((p) => !p.startsWith('!'));
  const out = new Set<string>();
  for (const p of wanted) {
    if (!p.includes('*')) out.add(p);
    else for (const k of known) if (re(p).test(k)) out.add(k);
  }
  return [...out].filter((n) => !excluded.some((x) => x.test(n)));
}

/** When the job was enqueued (epoch ms), from a payload's `enqueued_at` (seconds or ms), if any. */
function enqueuedAt(payload: unknown): number | undefined {
  const v = (payload as { enqueued_at?: unknown } | undefined)?.enqueued_at;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return undefined;
  return v < 1e12 ? v * 1000 : v;
}
