import type { StatusSnapshot } from '../status.js';

/** `status --text`: one line for the master, one per worker and old master (pure). */
export function renderStatusText(s: StatusSnapshot): string {
  const lines = [
    `master ${s.master.pid}${s.master.generation !== null ? ` gen ${s.master.generation}` : ''} ${s.master.state}${s.master.paused ? ' paused' : ''} ` +
      `${s.workers.length}/${s.master.concurrency} worker(s) queues ${s.master.queues.join(',')}`,
  ];
  for (const w of s.workers) {
    lines.push(
      `  worker[${w.slot}] ${w.pid ?? '-'} ${w.state}${w.job ? ` ${w.job.class}@${w.job.queue} since ${w.job.startedAt}` : ''} ` +
        `processed=${w.processed}${w.memoryKb !== null ? ` rss=${Math.round(w.memoryKb / 1024)}MB` : ''}`,
    );
  }
  for (const o of s.oldMasters) lines.push(`  old master ${o.pid}: ${o.workers} worker(s)`);
  return `${lines.join('\n')}\n`;
}
