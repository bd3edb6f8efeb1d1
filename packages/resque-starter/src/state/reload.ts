import { messages } from '../messages.js';
import type { Ctx } from './context.js';
import { releaseHold } from './crash-loop.js';
import type { MasterEvent, WorkerEntry } from './model.js';
import { refusedWhileReplaced } from './predecessor.js';
import { staying } from './workers.js';

// In-place rolling replacement (HUP, the restart file, `resque-starter reload`): the config is
// loaded again, its version bumped, and reconcile.ts replaces the workers slot by slot (at most
// `desired + 1` alive). One reload at a time; a request during one is queued, not lost.

/** Why: every source of a reload (HUP, restart file, control socket) goes through one gate. */
export function requestReload(c: Ctx, source: string): void {
  const s = c.s;
  if (s.phase !== 'running' || refusedWhileReplaced(c, source)) return;
  if (s.reload || s.loadingConfig) {
    s.reloadPending = true;
    c.log(messages.reloadQueued(source));
    return;
  }
  c.log(messages.reloading(source));
  s.loadingConfig = true;
  c.fx.push({ type: 'reloadConfig' });
}

/** The new config loaded: the master swaps it in (`applyConfig`) and every worker is replaced. */
export function reloaded(c: Ctx, e: Extract<MasterEvent, { type: 'reloaded' }>): void {
  const s = c.s;
  s.loadingConfig = false;
  if (s.phase !== 'running' || s.replacedBy) return;
  c.fx.push({ type: 'applyConfig', configId: e.configId });
  s.settings = e.settings;
  s.version += 1;
  // As across a rolling restart (successor.ts `startingCount`): a runtime count stays while the
  // config's concurrency is the one already loaded.
  const next = e.desired === s.configured ? Math.min(s.desired, s.settings.maxConcurrency) : e.desired;
  if (next !== e.desired) c.log(messages.countKept(next, e.desired, messages.thisMaster));
  else if (s.desired !== e.desired) c.log(messages.scaled('config', s.desired, e.desired));
  s.configured = e.desired;
  s.desired = next;
  releaseHold(c, { resetLevel: true });
  const stale = staying(c).length;
  if (stale > 0) {
    s.reload = { startedAt: c.now };
    c.log(messages.replacingWorkers(stale, s.desired));
  }
}

/** A broken config: logged, the running config and workers stay. */
export function reloadFailed(c: Ctx, e: Extract<MasterEvent, { type: 'reloadFailed' }>): void {
  c.s.loadingConfig = false;
  c.s.reloadPending = false;
  c.log(messages.reloadFailed(e.error), 'error');
}

/** A new worker failed before it was ready: the replacement stops, the others keep the previous code. */
export function abortReload(c: Ctx, w: WorkerEntry, why: string): void {
  const s = c.s;
  if (!s.reload || w.version !== s.version) return;
  const stale = s.workers.filter((x) => x.version < s.version && !x.stop);
  for (const x of stale) x.version = s.version;
  s.reload = undefined;
  c.log(messages.reloadAborted(w.slot, why, stale.length), 'error');
}

/** After each step: a replacement with no old worker left is done; a queued request starts then. */
export function checkReload(c: Ctx): void {
  const s = c.s;
  if (s.reload && !s.workers.some((w) => w.version < s.version)) {
    c.log(messages.reloadDone(c.now - s.reload.startedAt, s.workers.length));
    s.reload = undefined;
  }
  if (s.reload || s.loadingConfig || !s.reloadPending || s.phase !== 'running' || s.replacedBy) return;
  s.reloadPending = false;
  s.loadingConfig = true;
  c.log(messages.reloading('a queued reload request'));
  c.fx.push({ type: 'reloadConfig' });
}
