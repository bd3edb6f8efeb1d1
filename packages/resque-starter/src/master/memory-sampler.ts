import { readRssAnonKb, type ProcessHost } from '@baton/process-kit';
import type { MasterEvent, WorkerEntry } from '../state/index.js';

/**
 * Why: maxMemory is judged on what the master sees (RssAnon), also for a worker whose event
 * loop is blocked and cannot report: every `intervalMs`, the ready workers are sampled and the
 * samples go to the reducer as one `memory` event. Returns stop.
 */
export function sampleMemory(
  host: Pick<ProcessHost, 'every'>,
  o: { intervalMs: number; workers(): readonly WorkerEntry[]; dispatch(event: MasterEvent): void },
): () => void {
  return host.every(o.intervalMs, () => {
    const samples: Array<{ pid: number; rssKb: number }> = [];
    for (const w of o.workers()) {
      if (w.pid === undefined || w.phase !== 'ready') continue;
      const kb = readRssAnonKb(w.pid);
      if (kb !== undefined) samples.push({ pid: w.pid, rssKb: kb });
    }
    if (samples.length > 0) o.dispatch({ type: 'memory', samples });
  });
}
