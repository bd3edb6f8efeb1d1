import { ControlError } from '../errors.js';
import type { StatusSnapshot } from '../status.js';

type WorkerStatus = StatusSnapshot['workers'][number];

/**
 * `status --text`: one line for the master, one per worker and old master (pure). With several
 * worker groups (or one not named `default`), a line per group (count, queues, busy) heads its
 * workers.
 */
export function renderStatusText(s: StatusSnapshot): string {
  const groups = s.master.groups ?? [];
  const grouped = groups.length > 1 || (groups.length === 1 && groups[0]!.name !== 'default');
  const head =
    `master ${s.master.pid}${s.master.generation !== null ? ` gen ${s.master.generation}` : ''} ${s.master.state}${s.master.paused ? ' paused' : ''} ` +
    (grouped ? `${s.workers.length}/${s.master.concurrency} worker(s) in ${groups.length} group(s)` : `${s.workers.length}/${s.master.concurrency} worker(s) queues ${s.master.queues.join(',')}`);
  const lines = [head];
  // Redis trouble, when there is some: each condition once, with since when and who is in it.
  for (const c of s.master.redis?.conditions ?? []) {
    const who = [c.workers ? `${c.workers} worker(s)` : '', c.master ? 'the master' : ''].filter(Boolean).join(' and ');
    lines.push(`  redis DOWN: ${c.condition}${c.redis ? ` on ${c.redis}` : ''} since ${c.since}${who ? ` (${who})` : ''}: ${c.message}`);
  }
  if (!grouped) {
    for (const w of s.workers) lines.push(workerLine(w, '  '));
  } else {
    for (const g of groups) {
      lines.push(`  group ${g.name}: ${g.workers}/${g.concurrency} worker(s) (${g.ready} ready, ${g.busy} busy) queues ${g.queues.join(',')}`);
      for (const w of s.workers.filter((x) => x.group === g.name)) lines.push(workerLine(w, '    '));
    }
    // Workers of a group a reload removed, still finishing their jobs.
    for (const w of s.workers.filter((x) => !groups.some((g) => g.name === x.group))) lines.push(workerLine(w, '  '));
  }
  for (const o of s.oldMasters) lines.push(`  old master ${o.pid}: ${o.workers} worker(s)`);
  const sch = s.scheduler;
  if (sch) {
    const schedule = sch.schedule.length ? `, ${sch.schedule.length} recurring job(s): ${sch.schedule.join(',')}` : '';
    lines.push(`  scheduler ${!sch.enabled ? 'off' : sch.leader ? 'LEADER (moves delayed jobs and retries' + (schedule ? ', enqueues the schedule)' : ')') : 'following (another master leads)'}${sch.enabled ? schedule : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `status GROUP`: the snapshot cut down to one group (its workers, its line); an unknown name is an error naming the groups. */
export function onlyGroup(s: StatusSnapshot, name: string): StatusSnapshot {
  const groups = s.master.groups ?? [];
  const g = groups.find((x) => x.name === name);
  if (!g) throw new ControlError(`master ${s.master.pid} has no group \`${name}\`; its groups are ${groups.map((x) => x.name).join(', ') || 'none'}`);
  return { ...s, master: { ...s.master, concurrency: g.concurrency, queues: g.queues, groups: [g] }, workers: s.workers.filter((w) => w.group === name) };
}

function workerLine(w: WorkerStatus, indent: string): string {
  const name = w.group && w.group !== 'default' ? `${w.group}/${w.slot}` : String(w.slot);
  return (
    `${indent}worker[${name}] ${w.pid ?? '-'} ${w.state}${w.job ? ` ${w.job.class}@${w.job.queue} since ${w.job.startedAt}` : ''} ` +
    `processed=${w.processed}${w.memoryKb !== null ? ` rss=${Math.round(w.memoryKb / 1024)}MB` : ''}` +
    (w.redis?.state === 'down' ? ` redis=down(${w.redis.conditions.map((c) => c.condition).join(',')} since ${w.redis.since})` : '')
  );
}
