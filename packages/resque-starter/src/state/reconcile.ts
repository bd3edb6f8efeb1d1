import type { Ctx } from './context.js';
import { holdingStarts } from './crash-loop.js';
import { groupOf, isPaused, slotKey } from './groups.js';
import { predecessorLive, type GroupState, type WorkerEntry } from './model.js';
import { retireSurplus } from './predecessor.js';
import { pressPredecessors, retireTarget } from './successor.js';
import { stopWorker } from './workers.js';

// unicorn's maintain_worker_count, run after every event: slots 0..desired-1 of each group
// each hold one worker of the group's config version; surplus slots and replaced workers are retired; at most
// `desired + 1` workers of both generations are alive while anything is being replaced.

/** Why: startup, TTIN/TTOU/scale, crash respawns, reloads and takeovers all end here. */
export function reconcile(c: Ctx): void {
  const s = c.s;
  if (s.phase !== 'running') return;
  if (s.replacedBy) return retireSurplus(c);
  retireSlots(c);
  const outgoing = s.workers.some((w) => isOutgoing(c, w));
  const predecessors = predecessorLive(s);
  const cap = s.desired + (outgoing || predecessors > 0 ? 1 : 0);
  const total = s.workers.length + predecessors;
  pressPredecessors(c, total, cap);
  fillSlots(c, total, cap);
}

// --- internal ---

/**
 * A worker on its way out whose place a new one takes: being replaced (an older version, a
 * recycle, a crash-loop kill) in a slot that stays, or draining a group the config removed.
 */
function isOutgoing(c: Ctx, w: WorkerEntry): boolean {
  const g = groupOf(c.s, w.group);
  if (!g) return true;
  if (w.slot >= g.desired) return false;
  return w.stop ? w.stop.reason !== 'scale' && w.stop.reason !== 'shutdown' : w.version < g.version;
}

/**
 * Surplus slots (TTOU, scale) and groups the config no longer has finish their job and exit; a
 * slot whose new worker is ready retires its older occupant.
 */
function retireSlots(c: Ctx): void {
  const s = c.s;
  for (const w of s.workers) {
    const g = groupOf(s, w.group);
    if (!w.stop && (!g || w.slot >= g.desired)) stopWorker(c, w, 'graceful', 'scale');
  }
  for (const w of s.workers) {
    const version = groupOf(s, w.group)?.version;
    if (w.stop || version === undefined || w.version >= version) continue;
    if (s.workers.some((x) => x.group === w.group && x.slot === w.slot && x.version === version && x.phase === 'ready' && !x.stop)) {
      stopWorker(c, w, 'graceful', 'replaced');
    }
  }
}

/**
 * Empty slots get a worker while `total` stays under `cap`, group by group in config order, at
 * most `maxStarting` starting at once: the rest start as these become ready. Linear in the
 * number of workers whatever `desired` is, so the loop stays free for signals.
 */
function fillSlots(c: Ctx, total: number, cap: number): void {
  const s = c.s;
  const filled = new Set<string>();
  let starting = 0;
  for (const w of s.workers) {
    if (w.stop) continue;
    if (w.version === groupOf(s, w.group)?.version) filled.add(slotKey(w));
    if (w.phase !== 'ready') starting += 1;
  }
  for (const g of s.groups) {
    for (let slot = 0; slot < g.desired && total < cap && starting < s.settings.maxStarting; slot++) {
      if (filled.has(`${g.name}/${slot}`)) continue;
      if (holdingStarts(c)) return;
      startWorker(c, g, slot);
      total += 1;
      starting += 1;
    }
  }
}

function startWorker(c: Ctx, g: GroupState, slot: number): void {
  const s = c.s;
  const retire = retireTarget(c, g.name, slot);
  const w: WorkerEntry = {
    key: s.nextKey++,
    group: g.name,
    slot,
    version: g.version,
    pid: undefined,
    phase: 'spawning',
    id: undefined,
    ids: [],
    spawnedAt: c.now,
    activity: 'starting',
    job: undefined,
    running: [],
    timedOut: undefined,
    processed: 0,
    rssKb: undefined,
    stop: undefined,
    retire,
  };
  s.workers.push(w);
  c.fx.push({ type: 'spawn', key: w.key, group: g.name, slot, version: w.version, retire, paused: isPaused(s, g.name) });
  c.fx.push({ type: 'setTimer', key: `ready:${w.key}`, ms: s.settings.readyTimeoutMs, event: { type: 'timer', timer: 'ready', key: w.key } });
}
