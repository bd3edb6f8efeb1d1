import { messages } from '../messages.js';
import type { Ctx } from './context.js';
import type { GroupSpec, GroupState, MasterSettings, MasterState, WorkerEntry } from './model.js';

// Worker groups as the reducer keeps them: each group has its own count, version and slots
// (numbered from 0 within the group); the C+1 bound and the crash-loop hold are the master's.
// A config without `groups` is one group, `default`, and every log line and title reads as
// before (`worker[3]`); other groups' workers read `worker[mail/1]`.

/** The name of the one group of a config without `groups` (config-groups.ts's DEFAULT_GROUP). */
export const DEFAULT_GROUP = 'default';

export const groupOf = (s: MasterState, name: string): GroupState | undefined => s.groups.find((g) => g.name === name);

/** `3` for the default group, `mail/1` for another: how logs and titles name a worker. */
export const workerLabel = (w: Pick<WorkerEntry, 'group' | 'slot'>): number | string => (w.group === DEFAULT_GROUP ? w.slot : `${w.group}/${w.slot}`);

/** A slot's identity across groups. */
export const slotKey = (w: Pick<WorkerEntry, 'group' | 'slot'>): string => `${w.group}/${w.slot}`;

/** Why: the master-wide counts (C+1 bound, status, TTIN/TTOU of one group) are the groups' sums. */
export function syncTotals(s: MasterState): void {
  s.desired = s.groups.reduce((n, g) => n + g.desired, 0);
  s.configured = s.groups.reduce((n, g) => n + g.configured, 0);
}

/** The one group of a config without `groups`: `desired` workers, the master's settings. */
export function defaultGroups(desired: number, settings: MasterSettings): GroupSpec[] {
  return [{ name: DEFAULT_GROUP, concurrency: desired, hash: '', maxConcurrency: settings.maxConcurrency, jobTimeoutMs: settings.jobTimeoutMs, maxMemoryKb: settings.maxMemoryKb }];
}

/** The groups a master starts with, each at the config's count and this master's version. */
export function startGroups(c: Ctx, specs: readonly GroupSpec[]): void {
  c.s.groups = specs.map(({ concurrency, ...g }) => ({ ...g, desired: concurrency, configured: concurrency, version: c.s.version }));
  syncTotals(c.s);
}

/** Whether a worker of `group` starts (and stays) paused: the master is paused (USR2), or its group is. */
export const isPaused = (s: MasterState, group: string): boolean => s.paused || groupOf(s, group)?.paused === true;

/** The settings a worker's limits are checked with: its group's, else (a removed group) the master's. */
export function limitsOf(c: Ctx, w: WorkerEntry): { jobTimeoutMs: number | undefined; maxMemoryKb: number | undefined } {
  const g = groupOf(c.s, w.group);
  return g ? { jobTimeoutMs: g.jobTimeoutMs, maxMemoryKb: g.maxMemoryKb } : { jobTimeoutMs: c.s.settings.jobTimeoutMs, maxMemoryKb: c.s.settings.maxMemoryKb };
}

/**
 * Why: TTIN and TTOU carry no group. One group: its count, as always. Several: the first group
 * in config order (SIGNALS.md); `scale GROUP N` reaches the others.
 */
export function signalGroup(s: MasterState): GroupState | undefined {
  return s.groups[0];
}

/** A group's count, logged as the master's count always was (with the group named when there are several). */
export function setGroupDesired(c: Ctx, g: GroupState, by: string, desired: number): void {
  c.log(messages.scaled(c.s.groups.length > 1 ? `${by} (group ${g.name})` : by, g.desired, desired));
  g.desired = desired;
  syncTotals(c.s);
}

/** Resolves a group name given to `scale`/`status`; a name that is not a group gives an error line. */
export function findGroup(s: MasterState, name: string | undefined): { group: GroupState } | { error: string } {
  if (name === undefined) {
    if (s.groups.length === 1) return { group: s.groups[0]! };
    return { error: `this master runs ${s.groups.length} groups (${s.groups.map((g) => g.name).join(', ')}): name one, as in \`scale GROUP N\`` };
  }
  const g = groupOf(s, name);
  return g ? { group: g } : { error: `no group \`${name}\`; the groups are ${s.groups.map((x) => x.name).join(', ')}` };
}

/**
 * Why: a reload replaces only what changed. Each group of the new config: added (starts),
 * changed (`hash` differs: the new version, its workers replaced one by one), or unchanged
 * (keeps its version and its workers). Groups no longer configured are dropped: reconcile.ts
 * lets their workers finish their jobs. A reload that changes nothing at all is a plain restart
 * request: every group is replaced, as a HUP always did. A runtime count (`scale`, TTIN/TTOU)
 * stays while the group's `concurrency` is the one already loaded, as across a rolling restart.
 */
export function applyGroups(c: Ctx, specs: readonly GroupSpec[]): void {
  const s = c.s;
  const names = new Set(specs.map((g) => g.name));
  const same = specs.every((sp) => groupOf(s, sp.name)?.hash === sp.hash) && s.groups.every((g) => names.has(g.name));
  const plan = { replaced: [] as string[], added: [] as string[], removed: s.groups.filter((g) => !names.has(g.name)).map((g) => g.name), kept: [] as string[] };
  s.groups = specs.map(({ concurrency, ...sp }) => {
    const old = groupOf(s, sp.name);
    const paused = old?.paused;
    (!old ? plan.added : same || old.hash !== sp.hash ? plan.replaced : plan.kept).push(sp.name);
    const version = !old || same || old.hash !== sp.hash ? s.version : old.version;
    const desired = old && concurrency === old.configured ? Math.min(old.desired, sp.maxConcurrency) : concurrency;
    const who = s.groups.length > 1 || specs.length > 1 ? `${messages.thisMaster} (group ${sp.name})` : messages.thisMaster;
    if (old && desired !== concurrency) c.log(messages.countKept(desired, concurrency, who));
    else if (old && old.desired !== concurrency) c.log(messages.scaled(specs.length > 1 ? `config (group ${sp.name})` : 'config', old.desired, concurrency));
    return { ...sp, desired, configured: concurrency, version, paused };
  });
  syncTotals(s);
  if (specs.length > 1 || plan.removed.length > 0 || plan.added.length > 0) {
    c.log(messages.reloadGroups(plan, same ? 'nothing changed: a restart of every group' : 'only what changed is replaced'));
  }
}
