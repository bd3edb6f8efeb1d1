import type { Ctx } from './context.js';
import { holdingStarts } from './crash-loop.js';
import { predecessorLive, type WorkerEntry } from './model.js';
import { retireSurplus } from './predecessor.js';
import { pressPredecessors, retireTarget } from './successor.js';
import { stopWorker } from './workers.js';

// unicorn's maintain_worker_count, run after every event: slots 0..desired-1 each hold one
// worker of the current config version; surplus slots and replaced workers are retired; at most
// `desired + 1` workers of both generations are alive while anything is being replaced.

/** Why: startup, TTIN/TTOU/scale, crash respawns, reloads and takeovers all end here. */
export function reconcile(c: Ctx): void {
  const s = c.s;
  if (s.phase !== 'running') return;
  if (s.replacedBy) return retireSurplus(c);
  retireSlots(c);
  const outgoing = s.workers.some(
    (w) => w.slot < s.desired && (w.stop ? w.stop.reason !== 'scale' && w.stop.reason !== 'shutdown' : w.version < s.version),
  );
  const predecessors = predecessorLive(s);
  const cap = s.desired + (outgoing || predecessors > 0 ? 1 : 0);
  const total = s.workers.length + predecessors;
  pressPredecessors(c, total, cap);
  fillSlots(c, total, cap);
}

/** Surplus slots (TTOU, scale) finish their job and exit; a slot whose new worker is ready retires its older occupant. */
function retireSlots(c: Ctx): void {
  const s = c.s;
  for (const w of s.workers) if (!w.stop && w.slot >= s.desired) stopWorker(c, w, 'graceful', 'scale');
  for (const w of s.workers) {
    if (w.stop || w.version >= s.version) continue;
    if (s.workers.some((x) => x.slot === w.slot && x.version === s.version && x.phase === 'ready' && !x.stop)) {
      stopWorker(c, w, 'graceful', 'replaced');
    }
  }
}

/**
 * Empty slots get a worker while `total` stays under `cap`, at most `maxStarting` starting at
 * once: the rest start as these become ready. Linear in the number of workers whatever
 * `desired` is, so the loop stays free for signals.
 */
function fillSlots(c: Ctx, total: number, cap: number): void {
  const s = c.s;
  const filled = new Set<number>();
  let starting = 0;
  for (const w of s.workers) {
    if (w.stop) continue;
    if (w.version === s.version) filled.add(w.slot);
    if (w.phase !== 'ready') starting += 1;
  }
  for (let slot = 0; slot < s.desired && total < cap && starting < s.settings.maxStarting; slot++) {
    if (filled.has(slot)) continue;
    if (holdingStarts(c)) break;
    startWorker(c, slot);
    total += 1;
    starting += 1;
  }
}

function startWorker(c: Ctx, slot: number): void {
  const s = c.s;
  const retire = retireTarget(c, slot);
  const w: WorkerEntry = {
    key: s.nextKey++,
    slot,
    version: s.version,
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
  c.fx.push({ type: 'spawn', key: w.key, slot, version: w.version, retire, paused: s.paused });
  c.fx.push({ type: 'setTimer', key: `ready:${w.key}`, ms: s.settings.readyTimeoutMs, event: { type: 'timer', timer: 'ready', key: w.key } });
}
