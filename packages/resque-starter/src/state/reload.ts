import { eventFields, messages, workerFields } from '../messages.js';
import type { Ctx } from './context.js';
import { applyGroups, defaultGroups, groupOf, workerLabel } from './groups.js';
import { releaseHold } from './crash-loop.js';
import type { MasterEvent, WorkerEntry } from './model.js';
import { refusedWhileReplaced } from './predecessor.js';
import { staying } from './workers.js';

// In-place rolling replacement (HUP, the restart file, `resque-starter reload`): the config is
// loaded again, the groups it changed get the new version (groups.ts `applyGroups`: all of them
// when nothing changed but the request, or the code did), and reconcile.ts replaces their
// workers slot by slot (at most `desired + 1` alive); added groups start, removed ones drain.
// One reload at a time; a request during one is queued, not lost.

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

/** The new config loaded: the master swaps it in (`applyConfig`) and the changed groups' workers are replaced. */
export function reloaded(c: Ctx, e: Extract<MasterEvent, { type: 'reloaded' }>): void {
  const s = c.s;
  s.loadingConfig = false;
  if (s.phase !== 'running' || s.replacedBy) return;
  c.fx.push({ type: 'applyConfig', configId: e.configId });
  s.settings = e.settings;
  s.version += 1;
  applyGroups(c, e.groups ?? defaultGroups(e.desired, e.settings));
  releaseHold(c, { resetLevel: true });
  const stale = staying(c).filter((w) => w.version < (groupOf(s, w.group)?.version ?? 0)).length;
  if (stale > 0) {
    s.reload = { startedAt: c.now };
    c.log(messages.replacingWorkers(stale, s.desired), 'info', eventFields('reload-replacing', { workers: stale, desired: s.desired, bound: s.desired + 1 }));
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
  if (!s.reload || w.version !== groupOf(s, w.group)?.version) return;
  const stale = s.workers.filter((x) => !x.stop && x.version < (groupOf(s, x.group)?.version ?? 0));
  for (const x of stale) x.version = groupOf(s, x.group)!.version;
  s.reload = undefined;
  c.log(messages.reloadAborted(workerLabel(w), why, stale.length), 'error', workerFields('reload-aborted', w, { error: why, kept: stale.length }));
}

/** After each step: a replacement with no old worker left is done; a queued request starts then. */
export function checkReload(c: Ctx): void {
  const s = c.s;
  if (s.reload && !s.workers.some((w) => w.version < (groupOf(s, w.group)?.version ?? 0))) {
    c.log(messages.reloadDone(c.now - s.reload.startedAt, s.workers.length), 'info', eventFields('reload-done', { durationMs: c.now - s.reload.startedAt, workers: s.workers.length }));
    s.reload = undefined;
  }
  if (s.reload || s.loadingConfig || !s.reloadPending || s.phase !== 'running' || s.replacedBy) return;
  s.reloadPending = false;
  s.loadingConfig = true;
  c.log(messages.reloading('a queued reload request'));
  c.fx.push({ type: 'reloadConfig' });
}
