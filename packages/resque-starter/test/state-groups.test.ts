// Worker groups in the reducer (issue 13): slots per group, scale GROUP N, TTIN/TTOU on the
// first group, reloads that replace only what changed, the C+1 bound over every group.
import { describe, expect, it } from 'vitest';
import { initialState, predecessorLive, reduce, type Effect, type GroupSpec, type MasterEvent, type MasterSettings, type MasterState } from '../src/state/index.js';

const SETTINGS: MasterSettings = {
  readyTimeoutMs: 5000,
  stopTimeoutMs: 10_000,
  termTimeoutMs: 2000,
  jobTimeoutMs: undefined,
  maxMemoryKb: undefined,
  crashLoop: { deaths: 4, windowMs: 60_000, delayMs: 1000, maxDelayMs: 8000 },
  maxConcurrency: 64,
  maxStarting: 8,
  reapJobProcesses: true,
};

const group = (name: string, concurrency: number, hash = 'h1', extra: Partial<GroupSpec> = {}): GroupSpec => ({
  name,
  concurrency,
  hash,
  maxConcurrency: 16,
  jobTimeoutMs: undefined,
  maxMemoryKb: undefined,
  ...extra,
});
const GROUPS = [group('critical', 2), group('mail', 2), group('reports', 1)];

class Sim {
  state: MasterState = initialState(SETTINGS);
  nextPid = 100;
  effects: Effect[] = [];
  logs: string[] = [];
  send(event: MasterEvent): Effect[] {
    const step = reduce(this.state, event, 1_000_000);
    this.state = step.state;
    this.logs = step.effects.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    this.effects = step.effects.filter((e) => e.type !== 'log' && e.type !== 'status');
    return this.effects;
  }
  /** Spawns and readies every worker the last step asked for; returns their pids. */
  upAll(): number[] {
    const pids: number[] = [];
    for (const fx of this.effects.filter((e): e is Extract<Effect, { type: 'spawn' }> => e.type === 'spawn')) {
      const pid = this.nextPid++;
      pids.push(pid);
      this.state = reduce(this.state, { type: 'spawned', key: fx.key, pid }, 1_000_000).state;
    }
    for (const pid of pids) this.send({ type: 'ready', pid, retired: true });
    return pids;
  }
  /** Runs the master's world until nothing changes: spawns come up, stopped workers exit. Returns the most workers alive at once. */
  settle(): number {
    let maxAlive = this.state.workers.length;
    for (let i = 0; i < 50; i++) {
      const hadSpawns = this.effects.some((e) => e.type === 'spawn');
      if (hadSpawns) this.upAll();
      maxAlive = Math.max(maxAlive, this.state.workers.length);
      const stopped = this.state.workers.find((w) => w.stop && w.pid !== undefined);
      if (stopped) this.send({ type: 'exit', pid: stopped.pid!, code: 0, signal: null });
      else if (!hadSpawns) break;
    }
    return maxAlive;
  }
  pids(g: string): number[] {
    return this.state.workers.filter((w) => w.group === g && !w.stop).map((w) => w.pid!);
  }
}

const spawns = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'spawn' ? [`${e.group}/${e.slot}`] : []));
const quits = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'signal' && e.signal === 'SIGQUIT' ? [e.pid] : []));
const replies = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'reply' ? [e.reply] : []));

function started(groups = GROUPS): Sim {
  const sim = new Sim();
  sim.send({ type: 'start', desired: 0, groups, predecessors: [] });
  sim.upAll();
  return sim;
}

describe('groups: start and scale', () => {
  it('slots are numbered per group; every group starts its count', () => {
    const sim = new Sim();
    expect(spawns(sim.send({ type: 'start', desired: 0, groups: GROUPS, predecessors: [] }))).toEqual(['critical/0', 'critical/1', 'mail/0', 'mail/1', 'reports/0']);
    expect(sim.state.desired).toBe(5);
    sim.upAll();
    expect(sim.state.groups.map((g) => [g.name, g.desired])).toEqual([['critical', 2], ['mail', 2], ['reports', 1]]);
  });

  it('scale GROUP N changes that group only; without a group (several groups) or an unknown one it is refused', () => {
    const sim = started();
    const mail = sim.pids('mail');
    let fx = sim.send({ type: 'scale', desired: 4, group: 'mail', reply: 1 });
    expect(replies(fx)).toEqual([{ ok: true, concurrency: 4, group: 'mail' }]);
    expect(spawns(fx)).toEqual(['mail/2', 'mail/3']);
    sim.upAll();
    fx = sim.send({ type: 'scale', desired: 0, group: 'critical', reply: 2 });
    expect(quits(fx).sort()).toEqual(sim.state.workers.filter((w) => w.group === 'critical').map((w) => w.pid).sort());
    expect(sim.pids('mail').slice(0, 2)).toEqual(mail);
    expect(replies(sim.send({ type: 'scale', desired: 1, reply: 3 }))).toEqual([
      { ok: false, error: 'this master runs 3 groups (critical, mail, reports): name one, as in `scale GROUP N`' },
    ]);
    expect(replies(sim.send({ type: 'scale', desired: 1, group: 'nope', reply: 4 }))).toEqual([{ ok: false, error: 'no group `nope`; the groups are critical, mail, reports' }]);
    expect(replies(sim.send({ type: 'scale', desired: 17, group: 'mail', reply: 5 }))[0]).toMatchObject({ ok: false });
  });

  it('pause GROUP pauses that group only (new workers of it start paused); CONT resumes every group', () => {
    const sim = started();
    const mail = sim.pids('mail');
    let fx = sim.send({ type: 'pause', paused: true, group: 'mail', reply: 1 });
    expect(replies(fx)).toEqual([{ ok: true, group: 'mail', paused: true }]);
    expect(fx.flatMap((e) => (e.type === 'send' ? [e.pid] : [])).sort()).toEqual([...mail].sort());
    fx = sim.send({ type: 'scale', desired: 3, group: 'mail' });
    expect(fx.find((e) => e.type === 'spawn')).toMatchObject({ group: 'mail', paused: true });
    fx = sim.send({ type: 'scale', desired: 3, group: 'critical' });
    expect(fx.find((e) => e.type === 'spawn')).toMatchObject({ group: 'critical', paused: false });
    sim.send({ type: 'signal', signal: 'SIGCONT' });
    expect(sim.state.groups.every((g) => !g.paused)).toBe(true);
    expect(replies(sim.send({ type: 'pause', paused: true, group: 'nope', reply: 2 }))[0]).toMatchObject({ ok: false });
  });

  it('TTIN and TTOU act on the first group in config order', () => {
    const sim = started();
    expect(spawns(sim.send({ type: 'signal', signal: 'SIGTTIN' }))).toEqual(['critical/2']);
    sim.upAll();
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    expect(sim.state.groups.map((g) => g.desired)).toEqual([1, 2, 1]);
    expect(sim.logs.join('\n')).toContain('TTOU (group critical): 2 → 1 worker(s)');
  });
});

describe('groups: reload', () => {
  it('changed groups are replaced worker by worker, added ones start, removed ones drain, unchanged ones keep their workers', () => {
    const sim = started();
    const critical = sim.pids('critical');
    const mail = sim.pids('mail');
    const reports = sim.pids('reports');
    let fx = sim.send({ type: 'reloaded', settings: SETTINGS, desired: 0, groups: [group('critical', 2), group('mail', 2, 'h2'), group('bulk', 1)], configId: 2 });
    expect(sim.logs.join('\n')).toContain('group(s) mail replaced worker by worker; group(s) bulk added; group(s) reports removed (their workers finish their jobs); group(s) critical unchanged (workers kept)');
    expect(quits(fx)).toEqual(reports);
    const maxAlive = sim.settle();
    expect(maxAlive).toBeLessThanOrEqual(5 + 1);
    expect(sim.pids('critical')).toEqual(critical);
    expect(sim.pids('mail').some((p) => mail.includes(p))).toBe(false);
    expect(sim.pids('mail')).toHaveLength(2);
    expect(sim.pids('bulk')).toHaveLength(1);
    expect(sim.state.workers.some((w) => w.group === 'reports')).toBe(false);
    expect(sim.state.reload).toBeUndefined();
  });

  it('a reload that changes nothing is a restart of every group (as HUP always was)', () => {
    const sim = started();
    const before = sim.state.workers.map((w) => w.pid);
    sim.send({ type: 'reloaded', settings: SETTINGS, desired: 0, groups: GROUPS, configId: 2 });
    expect(sim.logs.join('\n')).toContain('nothing changed: a restart of every group');
    expect(sim.state.groups.every((g) => g.version === 2)).toBe(true);
    expect(sim.state.workers.filter((w) => before.includes(w.pid)).every((w) => w.version === 1)).toBe(true);
  });

  it('a runtime scale of a group survives a reload that keeps its concurrency', () => {
    const sim = started();
    sim.send({ type: 'scale', desired: 5, group: 'mail' });
    sim.upAll();
    sim.send({ type: 'reloaded', settings: SETTINGS, desired: 0, groups: [group('critical', 3), group('mail', 2), group('reports', 1)], configId: 2 });
    expect(sim.state.groups.map((g) => g.desired)).toEqual([3, 5, 1]);
  });

  it('the C+1 bound holds over all groups while every group is replaced', () => {
    const sim = started();
    let fx = sim.send({ type: 'reloaded', settings: SETTINGS, desired: 0, groups: GROUPS.map((g) => ({ ...g, hash: 'h9' })), configId: 2 });
    let maxAlive = sim.state.workers.length;
    for (let i = 0; i < 20 && sim.state.reload; i++) {
      expect(spawns(fx).length).toBeLessThanOrEqual(1);
      sim.upAll();
      maxAlive = Math.max(maxAlive, sim.state.workers.length);
      for (const pid of quits(sim.effects)) fx = sim.send({ type: 'exit', pid, code: 0, signal: null });
    }
    expect(maxAlive).toBe(6);
    expect(sim.state.workers.every((w) => w.version === 2)).toBe(true);
  });
});

describe('groups: rolling restart', () => {
  it('the old master tells each group\'s count; the new one keeps a runtime scale per group', () => {
    const old = started();
    old.send({ type: 'scale', desired: 3, group: 'mail' });
    old.upAll();
    const fx = old.send({ type: 'successorLinked', link: 1, by: 999, generation: 2, reply: 7 });
    expect(replies(fx)[0]).toMatchObject({ ok: true, live: 6, groups: [{ name: 'critical', desired: 2, configured: 2 }, { name: 'mail', desired: 3, configured: 2 }, { name: 'reports', desired: 1, configured: 1 }] });
    const sim = new Sim();
    const predecessors = [{ pid: 50, generation: 1, live: 6, linked: true, groups: [{ name: 'critical', desired: 2, configured: 2 }, { name: 'mail', desired: 3, configured: 2 }] }];
    sim.send({ type: 'start', desired: 0, groups: [group('critical', 4), group('mail', 2), group('bulk', 1)], predecessors });
    expect(sim.state.groups.map((g) => g.desired)).toEqual([4, 3, 1]);
    expect(sim.state.workers.length + predecessorLive(sim.state)).toBeLessThanOrEqual(sim.state.desired + 1);
  });

  it('an old master retires, on a bare TTOU, the worker that frees a place soonest, in whatever group', () => {
    const old = started();
    old.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    const fx = old.send({ type: 'signal', signal: 'SIGTTOU' });
    expect(quits(fx)).toHaveLength(1);
    expect(old.state.desired).toBe(4);
  });

  it('the hand-off names the group: the old master retires a worker of that group; of another only when it has none left', () => {
    const old = started();
    old.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    const mail = old.pids('mail');
    let fx = old.send({ type: 'retireRequest', link: 1, group: 'mail' });
    expect(quits(fx)).toHaveLength(1);
    expect(mail).toContain(quits(fx)[0]);
    fx = old.send({ type: 'retireRequest', link: 1, group: 'mail' });
    expect(mail).toContain(quits(fx)[0]);
    // No mail worker left here: the soonest free of any group goes.
    fx = old.send({ type: 'retireRequest', link: 1, group: 'mail' });
    expect(quits(fx)).toHaveLength(1);
    expect(mail).not.toContain(quits(fx)[0]);
    // A link that is not a successor's asks nothing.
    expect(quits(old.send({ type: 'retireRequest', link: 7, group: 'critical' }))).toEqual([]);
  });

  it('the new master asks its predecessor to retire a worker of the new worker\'s group', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 0, groups: [group('critical', 1), group('mail', 1)], predecessors: [{ pid: 50, generation: 1, live: 2, linked: true, groups: [] }] });
    const spawn = sim.effects.find((e): e is Extract<Effect, { type: 'spawn' }> => e.type === 'spawn')!;
    expect(spawn).toMatchObject({ group: 'critical', retire: 50 });
    sim.state = reduce(sim.state, { type: 'spawned', key: spawn.key, pid: 300 }, 1_000_000).state;
    // afterFork's retireOldWorker(): the worker asks its master, which names the group.
    expect(sim.send({ type: 'retireAsked', pid: 300 })).toEqual([{ type: 'retirePredecessor', pid: 50, group: 'critical' }]);
    sim.send({ type: 'ready', pid: 300, retired: true });
    sim.send({ type: 'predecessorWorkers', pid: 50, live: 1 });
    // A custom afterFork that retires nobody: the master asks, for the worker's group.
    const next = sim.effects.find((e): e is Extract<Effect, { type: 'spawn' }> => e.type === 'spawn')!;
    expect(next).toMatchObject({ group: 'mail', retire: 50 });
    sim.state = reduce(sim.state, { type: 'spawned', key: next.key, pid: 301 }, 1_000_000).state;
    expect(sim.send({ type: 'ready', pid: 301, retired: false }).filter((e) => e.type === 'retirePredecessor')).toEqual([{ type: 'retirePredecessor', pid: 50, group: 'mail' }]);
  });
});

describe('groups: autoscale', () => {
  const auto = { min: 1, max: 4, jobsPerWorker: 10, maxWaitMs: 5000, downAfterMs: 3000 };
  const at = (sim: Sim, now: number, event: MasterEvent) => {
    const step = reduce(sim.state, event, now);
    sim.state = step.state;
    sim.logs = step.effects.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    sim.effects = step.effects.filter((e) => e.type !== 'log' && e.type !== 'status');
    return sim.effects;
  };

  it('up at once to max under a burst, down one at a time after downAfter, no flapping on a backlog that comes and goes', () => {
    const sim = started([group('mail', 1, 'h1', { autoscale: auto }), group('critical', 1)]);
    at(sim, 1000, { type: 'backlog', group: 'mail', depth: 100 });
    expect(sim.state.groups[0]!.desired).toBe(4);
    expect(sim.logs.join('\n')).toContain('autoscale (100 job(s) waiting, 10 per worker) (group mail): 1 → 4 worker(s)');
    sim.upAll();
    // Empty, then a little backlog again before downAfter: nothing moves.
    at(sim, 2000, { type: 'backlog', group: 'mail', depth: 0 });
    at(sim, 4000, { type: 'backlog', group: 'mail', depth: 35 });
    at(sim, 4500, { type: 'backlog', group: 'mail', depth: 0 });
    expect(sim.state.groups[0]!.desired).toBe(4);
    at(sim, 7000, { type: 'backlog', group: 'mail', depth: 0 });
    expect(sim.state.groups[0]!.desired).toBe(4);
    at(sim, 7600, { type: 'backlog', group: 'mail', depth: 0 });
    expect(sim.state.groups[0]!.desired).toBe(3);
    expect(sim.logs.join('\n')).toMatch(/autoscale \(0 job\(s\) waiting, 10 per worker for 3s\) \(group mail\): 4 → 3/);
    expect(quits(sim.effects)).toHaveLength(1);
    for (const t of [9000, 10_700, 14_000, 17_000, 21_000]) at(sim, t, { type: 'backlog', group: 'mail', depth: 0 });
    expect(sim.state.groups[0]!.desired).toBe(1);
    expect(sim.state.groups[1]!.desired).toBe(1);
  });

  it('one more worker while the oldest job waits over maxWait; nothing scales up during a rolling replacement', () => {
    const sim = started([group('mail', 1, 'h1', { autoscale: auto })]);
    at(sim, 1000, { type: 'backlog', group: 'mail', depth: 3, oldestMs: 8000 });
    expect(sim.state.groups[0]!.desired).toBe(2);
    expect(sim.logs.join('\n')).toContain('the oldest job has waited 8s > maxWait 5s');
    sim.upAll();
    at(sim, 1100, { type: 'reloaded', settings: SETTINGS, desired: 0, groups: [group('mail', 1, 'h2', { autoscale: auto })], configId: 2 });
    at(sim, 1200, { type: 'backlog', group: 'mail', depth: 100 });
    expect(sim.state.groups[0]!.desired).toBe(2);
    expect(sim.logs.join('\n')).toContain('autoscale of group mail held at 2 during a rolling restart (it would go to 4');
  });
});

