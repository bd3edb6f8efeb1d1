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
  const sch = s.scheduler;
  if (sch) {
    const schedule = sch.schedule.length ? `, ${sch.schedule.length} recurring job(s): ${sch.schedule.join(',')}` : '';
    lines.push(`  scheduler ${!sch.enabled ? 'off' : sch.leader ? 'LEADER (moves delayed jobs and retries' + (schedule ? ', enqueues the schedule)' : ')') : 'following (another master leads)'}${sch.enabled ? schedule : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
