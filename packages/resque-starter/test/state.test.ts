import { describe, expect, it } from 'vitest';
import {
  initialState,
  predecessorLive,
  reduce,
  type Effect,
  type MasterEvent,
  type MasterSettings,
  type MasterState,
} from '../src/state/index.js';

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

/** Drives the reducer like the master's loop does, assigning pids to spawns. */
class Sim {
  state: MasterState;
  now = 1_000_000;
  nextPid = 100;
  effects: Effect[] = [];
  constructor(settings: Partial<MasterSettings> = {}) {
    this.state = initialState({ ...SETTINGS, ...settings });
  }
  send(event: MasterEvent): Effect[] {
    const step = reduce(this.state, event, this.now);
    this.state = step.state;
    this.effects = step.effects.filter((e) => e.type !== 'log' && e.type !== 'status');
    return this.effects;
  }
  /** Feeds `spawned` for every spawn effect of the last step; returns the new pids. */
  spawnAll(): number[] {
    const pids: number[] = [];
    for (const fx of this.effects.filter((e) => e.type === 'spawn')) {
      const pid = this.nextPid++;
      pids.push(pid);
      const step = reduce(this.state, { type: 'spawned', key: (fx as { key: number }).key, pid }, this.now);
      this.state = step.state;
    }
    return pids;
  }
  readyAll(pids: number[]): void {
    for (const pid of pids) this.send({ type: 'ready', pid, retired: true });
  }
  start(desired: number, predecessors: MasterState['predecessors'] = []): number[] {
    this.send({ type: 'start', desired, predecessors });
    const pids = this.spawnAll();
    this.readyAll(pids);
    return pids;
  }
  logs(event: MasterEvent): string[] {
    const step = reduce(this.state, event, this.now);
    this.state = step.state;
    this.effects = step.effects.filter((e) => e.type !== 'log' && e.type !== 'status');
    return step.effects.flatMap((e) => (e.type === 'log' ? [e.message] : []));
  }
  pidsBySlot(): Record<number, number[]> {
    const out: Record<number, number[]> = {};
    for (const w of this.state.workers) (out[w.slot] ??= []).push(w.pid ?? -1);
    return out;
  }
}

const kinds = (fx: Effect[]) => fx.map((e) => e.type);
const signals = (fx: Effect[]) =>
  fx.flatMap((e) => (e.type === 'signal' ? [`${e.signal.replace('SIG', '')}${e.group ? ' -' : ' '}${e.pid}`] : []));
/** Retirements asked of a predecessor (over its link, or a TTOU when not linked: the executor's choice). */
const retires = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'retirePredecessor' ? [`retire ${e.pid}`] : []));
const spawns = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'spawn' ? [{ slot: e.slot, retire: e.retire }] : []));

describe('start and scaling (unicorn maintain_worker_count)', () => {
  it('starts all slots at once and arms a ready deadline for each', () => {
    const sim = new Sim();
    const fx = sim.send({ type: 'start', desired: 3, predecessors: [] });
    expect(spawns(fx)).toEqual([{ slot: 0, retire: undefined }, { slot: 1, retire: undefined }, { slot: 2, retire: undefined }]);
    expect(fx.filter((e) => e.type === 'setTimer').map((e) => (e as { key: string }).key)).toEqual(['ready:1', 'ready:2', 'ready:3']);
  });

  it.each([
    ['SIGTTIN', 3, [{ slot: 2, retire: undefined }], []],
    ['SIGTTOU', 1, [], ['QUIT 101', 'CONT 101']],
  ] as const)('%s on 2 workers → %i desired', (signal, desired, expectedSpawns, expectedSignals) => {
    const sim = new Sim();
    sim.start(2);
    const fx = sim.send({ type: 'signal', signal });
    expect(sim.state.desired).toBe(desired);
    expect(spawns(fx)).toEqual(expectedSpawns);
    expect(signals(fx)).toEqual(expectedSignals);
  });

  it('TTOU at 0 workers stays at 0', () => {
    const sim = new Sim();
    sim.start(0);
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    expect(sim.state.desired).toBe(0);
  });

  it('scale N sets the count exactly and retires the highest slots', () => {
    const sim = new Sim();
    sim.start(4);
    const fx = sim.send({ type: 'scale', desired: 1 });
    expect(signals(fx).filter((s) => s.startsWith('QUIT'))).toEqual(['QUIT 101', 'QUIT 102', 'QUIT 103']);
    expect(sim.state.workers.filter((w) => w.stop).map((w) => w.slot)).toEqual([1, 2, 3]);
  });

  it('a dead worker is replaced in its slot and its jobs are recovered', () => {
    const sim = new Sim();
    const [a, b] = sim.start(2);
    sim.send({ type: 'hello', pid: b!, id: `host:${b}:q` });
    const fx = sim.send({ type: 'exit', pid: b!, code: null, signal: 'SIGKILL' });
    expect(fx.find((e) => e.type === 'recover')).toEqual({ type: 'recover', pid: b, group: 'default', ids: [`host:${b}:q`] });
    expect(spawns(fx)).toEqual([{ slot: 1, retire: undefined }]);
    expect(a).toBe(100);
  });

  it('a clean exit after a stop request is not a death (recovery still looks, and finds nothing)', () => {
    const sim = new Sim();
    const [, b] = sim.start(2);
    sim.send({ type: 'hello', pid: b!, id: 'x' });
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    const fx = sim.send({ type: 'exit', pid: b!, code: 0, signal: null });
    expect(kinds(fx)).toContain('recover');
    expect(kinds(fx)).not.toContain('spawn');
    expect(sim.state.deaths).toEqual([]);
  });
});

describe('crash loop', () => {
  it('more than 4 deaths within the window → a growing delay before the next start', () => {
    const sim = new Sim();
    sim.start(1);
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const pid = sim.state.workers[0]!.pid!;
      sim.now += 100;
      const fx = sim.send({ type: 'exit', pid, code: 1, signal: null });
      const hold = fx.find((e) => e.type === 'setTimer' && e.key === 'hold') as { ms: number } | undefined;
      if (hold) {
        delays.push(hold.ms);
        sim.now += hold.ms;
        sim.send({ type: 'timer', timer: 'hold' });
      }
      sim.readyAll(sim.spawnAll());
    }
    expect(delays).toEqual([1000, 2000, 4000]);
  });

  it('deaths outside the window do not count', () => {
    const sim = new Sim();
    sim.start(1);
    for (let i = 0; i < 10; i++) {
      sim.now += 20_000;
      const fx = sim.send({ type: 'exit', pid: sim.state.workers[0]!.pid!, code: 1, signal: null });
      expect(spawns(fx)).toHaveLength(1);
      sim.readyAll(sim.spawnAll());
    }
  });
});

describe('stop signals', () => {
  it('TERM: quick stop of every worker group, exit 0 once all are gone', () => {
    const sim = new Sim();
    const pids = sim.start(2);
    const fx = sim.send({ type: 'signal', signal: 'SIGTERM' });
    expect(signals(fx)).toEqual(['TERM -100', 'CONT -100', 'TERM -101', 'CONT -101']);
    expect(kinds(sim.send({ type: 'exit', pid: pids[0]!, code: 0, signal: null }))).not.toContain('exit');
    expect(sim.send({ type: 'exit', pid: pids[1]!, code: 0, signal: null }).at(-1)).toEqual({ type: 'exit', code: 0 });
  });

  it('QUIT: graceful (QUIT to the pid only), TERM after stopTimeout, KILL after termTimeout', () => {
    const sim = new Sim();
    const [pid] = sim.start(1);
    expect(signals(sim.send({ type: 'signal', signal: 'SIGQUIT' }))).toEqual(['QUIT 100', 'CONT 100']);
    expect(signals(sim.send({ type: 'timer', timer: 'stop', key: 1 }))).toEqual(['TERM -100', 'CONT -100']);
    expect(signals(sim.send({ type: 'timer', timer: 'kill', key: 1 }))).toEqual(['KILL -100']);
    expect(sim.send({ type: 'exit', pid: pid!, code: null, signal: 'SIGKILL' }).at(-1)).toEqual({ type: 'exit', code: 0 });
  });

  it('TERM during a graceful stop upgrades it; QUIT again changes nothing', () => {
    const sim = new Sim();
    sim.start(1);
    sim.send({ type: 'signal', signal: 'SIGQUIT' });
    expect(signals(sim.send({ type: 'signal', signal: 'SIGQUIT' }))).toEqual([]);
    expect(signals(sim.send({ type: 'signal', signal: 'SIGTERM' }))).toEqual(['TERM -100', 'CONT -100']);
  });

  it('a worker still starting is stopped with TERM (its handlers may not exist yet)', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 1, predecessors: [] });
    sim.spawnAll();
    expect(signals(sim.send({ type: 'signal', signal: 'SIGQUIT' }))).toEqual(['TERM -100', 'CONT -100']);
  });

  it('a stop while spawning is applied as soon as the pid is known', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 1, predecessors: [] });
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    const step = reduce(sim.state, { type: 'spawned', key: 1, pid: 100 }, sim.now);
    expect(signals(step.effects)).toEqual(['TERM -100', 'CONT -100']);
  });
});

describe('forwarded signals', () => {
  it('USR2/CONT pause and resume ready workers over IPC (ordered, unlike signals); USR1 aborts', () => {
    const sim = new Sim();
    sim.start(2);
    expect(sim.send({ type: 'signal', signal: 'SIGUSR2' }).filter((e) => e.type === 'send')).toEqual([
      { type: 'send', pid: 100, message: { t: 'pause' } },
      { type: 'send', pid: 101, message: { t: 'pause' } },
    ]);
    expect(sim.state.paused).toBe(true);
    const fx = sim.send({ type: 'signal', signal: 'SIGTTIN' });
    expect(fx.find((e) => e.type === 'spawn')).toMatchObject({ paused: true });
    expect(sim.send({ type: 'signal', signal: 'SIGCONT' }).filter((e) => e.type === 'send')).toHaveLength(2);
    expect(sim.send({ type: 'signal', signal: 'SIGUSR1' }).filter((e) => e.type === 'send').map((e) => (e as { message: unknown }).message)).toEqual([
      { t: 'abort' },
      { t: 'abort' },
    ]);
  });
});

describe('rolling replacement in place (HUP, restart file)', () => {
  it('replaces slot by slot, never more than desired+1 alive', () => {
    const sim = new Sim();
    sim.start(3);
    expect(kinds(sim.send({ type: 'signal', signal: 'SIGHUP' }))).toContain('reloadConfig');
    let fx = sim.send({ type: 'reloaded', settings: SETTINGS, desired: 3, configId: 2 });
    expect(spawns(fx)).toEqual([{ slot: 0, retire: undefined }]);
    let max = 0;
    for (let round = 0; round < 3; round++) {
      max = Math.max(max, sim.state.workers.length);
      const [pid] = sim.spawnAll();
      fx = sim.send({ type: 'ready', pid: pid! });
      const quit = signals(fx).find((s) => s.startsWith('QUIT'));
      expect(quit).toBeDefined();
      expect(spawns(fx)).toEqual([]);
      const oldPid = Number(quit!.split(' ')[1]);
      fx = sim.send({ type: 'exit', pid: oldPid, code: 0, signal: null });
    }
    expect(max).toBe(4);
    expect(sim.state.reload).toBeUndefined();
    expect(sim.state.workers.every((w) => w.version === 2)).toBe(true);
  });

  it('a new worker that never gets ready stops the replacement; the old ones keep serving', () => {
    const sim = new Sim();
    sim.start(2);
    sim.send({ type: 'reloadRequest', source: 'restart file' });
    sim.send({ type: 'reloaded', settings: SETTINGS, desired: 2, configId: 2 });
    const [pid] = sim.spawnAll();
    const fx = sim.send({ type: 'timer', timer: 'ready', key: 3 });
    expect(signals(fx)).toEqual([`KILL -${pid}`]);
    sim.send({ type: 'exit', pid: pid!, code: null, signal: 'SIGKILL' });
    expect(sim.state.reload).toBeUndefined();
    expect(sim.state.workers.map((w) => w.pid)).toEqual([100, 101]);
    expect(sim.state.workers.every((w) => !w.stop)).toBe(true);
  });

  it('a second HUP during a replacement is queued, not lost', () => {
    const sim = new Sim();
    sim.start(1);
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    expect(kinds(sim.send({ type: 'signal', signal: 'SIGHUP' }))).not.toContain('reloadConfig');
    sim.send({ type: 'reloaded', settings: SETTINGS, desired: 1, configId: 2 });
    const [pid] = sim.spawnAll();
    sim.send({ type: 'ready', pid: pid! });
    expect(kinds(sim.send({ type: 'exit', pid: 100, code: 0, signal: null }))).toContain('reloadConfig');
  });
});

describe('rolling hand-off from an old master (under start-server)', () => {
  const old = (live: number) => [{ pid: 50, generation: 1, live, linked: true }];

  it('one new worker at a time; each next one only when both generations fit in C', () => {
    const sim = new Sim();
    let fx = sim.send({ type: 'start', desired: 3, predecessors: old(3) });
    expect(spawns(fx)).toEqual([{ slot: 0, retire: 50 }]);
    let maxAlive = 0;
    for (let live = 3; live > 0; live--) {
      maxAlive = Math.max(maxAlive, sim.state.workers.length + predecessorLive(sim.state));
      const [pid] = sim.spawnAll();
      expect(spawns(sim.send({ type: 'ready', pid: pid! }))).toEqual([]);
      // afterFork sent TTOU: the old master retires one worker, which finishes and exits.
      fx = sim.send({ type: 'predecessorWorkers', pid: 50, live: live - 1 });
      maxAlive = Math.max(maxAlive, sim.state.workers.length + predecessorLive(sim.state));
      if (live > 1) expect(spawns(fx)).toEqual([{ slot: 3 - live + 1, retire: 50 }]);
    }
    expect(maxAlive).toBe(4);
    expect(sim.state.takeover).toBeUndefined();
    expect(sim.state.workers).toHaveLength(3);
  });

  it('an old generation larger than C+1 is asked for workers one at a time until a new one fits', () => {
    const sim = new Sim();
    let fx = sim.send({ type: 'start', desired: 2, predecessors: old(4) });
    expect(retires(fx)).toEqual(['retire 50']);
    expect(signals(fx)).toEqual([]);
    expect(spawns(fx)).toEqual([]);
    expect(retires(sim.send({ type: 'signal', signal: 'SIGUSR2' }))).toEqual([]);
    fx = sim.send({ type: 'predecessorWorkers', pid: 50, live: 3 });
    expect(retires(fx)).toEqual(['retire 50']);
    fx = sim.send({ type: 'predecessorWorkers', pid: 50, live: 2 });
    expect(retires(fx)).toEqual([]);
    expect(spawns(fx)).toEqual([{ slot: 0, retire: 50 }]);
    const [a] = sim.spawnAll();
    // the new worker's afterFork asked for the retirement: no extra one from the master
    expect(retires(sim.send({ type: 'ready', pid: a!, retired: true }))).toEqual([]);
  });

  it('a custom afterFork that retires nobody: the master asks for the retirement itself and says so (no stalled rollout)', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 2, predecessors: old(2) });
    const [a] = sim.spawnAll();
    const step = reduce(sim.state, { type: 'ready', pid: a!, retired: false }, sim.now);
    sim.state = step.state;
    expect(retires(step.effects)).toEqual(['retire 50']);
    expect(signals(step.effects)).toEqual([]);
    const lines = step.effects.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(lines.some((l) => /asked old master/.test(l) && /ready in/.test(l))).toBe(false);
    expect(lines.some((l) => /did not call retireOldWorker\(\): the master asked old master 50 itself to retire one worker/.test(l))).toBe(true);
    // the old worker leaves; the next new worker starts, and the hand-off completes
    const next = spawns(sim.send({ type: 'predecessorWorkers', pid: 50, live: 1 }));
    expect(next).toEqual([{ slot: 1, retire: 50 }]);
    const [b] = sim.spawnAll();
    expect(retires(sim.send({ type: 'ready', pid: b!, retired: false }))).toEqual(['retire 50']);
    sim.send({ type: 'predecessorWorkers', pid: 50, live: 0 });
    expect(sim.state.takeover).toBeUndefined();
  });

  it('an old master with fewer workers than C lets several new ones start at once', () => {
    const sim = new Sim();
    const fx = sim.send({ type: 'start', desired: 3, predecessors: old(1) });
    expect(spawns(fx)).toEqual([
      { slot: 0, retire: 50 },
      { slot: 1, retire: 50 },
      { slot: 2, retire: 50 },
    ]);
  });

  it('a new worker killed after its TTOU is replaced by one that retires no second old worker', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 3, predecessors: old(3) });
    const [a] = sim.spawnAll();
    sim.send({ type: 'ready', pid: a!, retired: true }); // TTOU sent: one old worker finishes its job
    // Its replacement: 3 old, one of them retiring, + 1 new = 3 = C, so it retires none.
    let fx = sim.send({ type: 'exit', pid: a!, code: null, signal: 'SIGKILL' });
    expect(spawns(fx)).toEqual([{ slot: 0, retire: undefined }]);
    const [b] = sim.spawnAll();
    expect(signals(sim.send({ type: 'ready', pid: b!, retired: true }))).toEqual([]);
    // The retired old worker is gone: the next new one fits and retires the next old one.
    fx = sim.send({ type: 'predecessorWorkers', pid: 50, live: 2 });
    expect(spawns(fx)).toEqual([{ slot: 1, retire: 50 }]);
    expect(sim.state.workers.length + predecessorLive(sim.state)).toBe(4);
    const [c] = sim.spawnAll();
    sim.send({ type: 'ready', pid: c!, retired: true });
    fx = sim.send({ type: 'predecessorWorkers', pid: 50, live: 1 });
    expect(spawns(fx)).toEqual([{ slot: 2, retire: 50 }]);
    const [d] = sim.spawnAll();
    sim.send({ type: 'ready', pid: d!, retired: true });
    sim.send({ type: 'predecessorWorkers', pid: 50, live: 0 });
    // Three new workers and every old one retired by exactly one TTOU each (slot 0's came from a).
    expect(sim.state.workers.filter((w) => w.phase === 'ready')).toHaveLength(3);
    expect(sim.state.takeover).toBeUndefined();
  });

  it('a new worker that dies before ready aborts: own workers finish, old master gets its workers back, exit 3', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 2, predecessors: old(2) });
    const [a] = sim.spawnAll();
    sim.send({ type: 'ready', pid: a!, retired: true });
    sim.send({ type: 'predecessorWorkers', pid: 50, live: 1 });
    const [b] = sim.spawnAll();
    let fx = sim.send({ type: 'exit', pid: b!, code: 70, signal: null });
    expect(signals(fx)).toEqual([`QUIT ${a}`, `CONT ${a}`]);
    expect(sim.state.phase).toBe('stopping');
    fx = sim.send({ type: 'exit', pid: a!, code: 0, signal: null });
    expect(fx.filter((e) => e.type === 'restorePredecessors' || e.type === 'exit')).toEqual([
      { type: 'restorePredecessors', pids: [50] },
      { type: 'exit', code: 3 },
    ]);
  });

  it('unlinked old masters get QUIT once they have no workers left', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 1, predecessors: [{ pid: 50, generation: 1, live: 1, linked: false }] });
    const [a] = sim.spawnAll();
    sim.send({ type: 'ready', pid: a!, retired: true });
    expect(sim.send({ type: 'predecessorWorkers', pid: 50, live: 0 }).filter((e) => e.type === 'quitPredecessors')).toEqual([{ type: 'quitPredecessors', pids: [50] }]);
  });
});

describe('the old master side of a hand-off', () => {
  it('marks workers OLD, retires the highest slot on each TTOU, exits when the last is gone', () => {
    const sim = new Sim();
    const pids = sim.start(2);
    let fx = sim.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    expect(fx.filter((e) => e.type === 'send').map((e) => (e as { message: unknown }).message)).toEqual([
      { t: 'old', old: true },
      { t: 'old', old: true },
    ]);
    expect(signals(sim.send({ type: 'signal', signal: 'SIGTTOU' }))).toEqual([`QUIT ${pids[1]}`, `CONT ${pids[1]}`]);
    expect(kinds(sim.send({ type: 'exit', pid: pids[1]!, code: 0, signal: null }))).not.toContain('spawn');
    expect(kinds(sim.send({ type: 'signal', signal: 'SIGTTIN' }))).not.toContain('spawn');
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    fx = sim.send({ type: 'exit', pid: pids[0]!, code: 0, signal: null });
    expect(fx.at(-1)).toEqual({ type: 'exit', code: 0 });
  });

  it('while OLD, TTOU retires an idle worker first, else the one whose job has run longest', () => {
    const sim = new Sim();
    sim.start(3);
    sim.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    sim.send({ type: 'report', pid: 100, activity: 'busy', job: { queue: 'q', class: 'A', startedAt: 30 }, processed: 0 });
    sim.send({ type: 'report', pid: 101, activity: 'busy', job: { queue: 'q', class: 'A', startedAt: 10 }, processed: 0 });
    expect(signals(sim.send({ type: 'signal', signal: 'SIGTTOU' }))).toEqual(['QUIT 102', 'CONT 102']);
    sim.send({ type: 'report', pid: 102, activity: 'busy', job: { queue: 'q', class: 'A', startedAt: 20 }, processed: 0 });
    expect(signals(sim.send({ type: 'signal', signal: 'SIGTTOU' }))).toEqual(['QUIT 101', 'CONT 101']);
  });

  it('an OLD master counts down from the workers it has, not from its configured concurrency', () => {
    const sim = new Sim();
    const pids = sim.start(3);
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    sim.send({ type: 'signal', signal: 'SIGTTIN' });
    sim.send({ type: 'exit', pid: pids[2]!, code: 0, signal: null });
    // slot 2 is being refilled (spawning) when the hand-off arrives: it is dropped
    sim.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    expect(sim.state.desired).toBe(2);
    expect(signals(sim.send({ type: 'signal', signal: 'SIGTTOU' }))).toEqual([`QUIT ${pids[1]}`, `CONT ${pids[1]}`]);
  });

  it('a dead worker is not replaced while OLD', () => {
    const sim = new Sim();
    const pids = sim.start(2);
    sim.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    const fx = sim.send({ type: 'exit', pid: pids[0]!, code: null, signal: 'SIGKILL' });
    expect(kinds(fx)).not.toContain('spawn');
    expect(sim.state.desired).toBe(1);
  });

  it('restore (or the new master vanishing) brings back the workers it had', () => {
    const sim = new Sim();
    const pids = sim.start(3);
    sim.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    sim.send({ type: 'exit', pid: pids[2]!, code: 0, signal: null });
    const fx = sim.send({ type: 'successorLost', link: 1 });
    expect(sim.state.replacedBy).toBeUndefined();
    expect(sim.state.desired).toBe(3);
    expect(spawns(fx)).toEqual([{ slot: 2, retire: undefined }]);
  });
});

describe('limits', () => {
  it('over maxMemory: finish the job and go; the replacement starts at once (C+1)', () => {
    const sim = new Sim({ maxMemoryKb: 1000 });
    sim.start(2);
    const fx = sim.send({ type: 'memory', samples: [{ pid: 100, rssKb: 2000 }, { pid: 101, rssKb: 10 }] });
    expect(signals(fx)).toEqual(['QUIT 100', 'CONT 100']);
    expect(spawns(fx)).toEqual([{ slot: 0, retire: undefined }]);
  });

  it('a worker recycling itself (maxJobs, maxLifetime) gets its replacement started', () => {
    const sim = new Sim();
    sim.start(1);
    const fx = sim.send({ type: 'recycling', pid: 100, reason: 'maxJobs 10 reached' });
    expect(spawns(fx)).toEqual([{ slot: 0, retire: undefined }]);
    expect(signals(fx)).toEqual([]);
  });

  it('jobTimeout: abort the job, then kill the worker if it is still on it', () => {
    const sim = new Sim({ jobTimeoutMs: 1000 });
    sim.start(1);
    const job = { queue: 'q', class: 'Slow', startedAt: sim.now };
    let fx = sim.send({ type: 'report', pid: 100, activity: 'busy', job, processed: 0 });
    expect(fx.find((e) => e.type === 'setTimer')).toMatchObject({ key: 'job:1', ms: 1000 });
    fx = sim.send({ type: 'timer', timer: 'job', key: 1, startedAt: job.startedAt });
    expect(fx.filter((e) => e.type === 'send')).toEqual([{ type: 'send', pid: 100, message: { t: 'abort' } }]);
    fx = sim.send({ type: 'timer', timer: 'jobKill', key: 1, startedAt: job.startedAt });
    expect(signals(fx)).toEqual(['KILL -100']);
  });

  it('a job timer of a finished job does nothing', () => {
    const sim = new Sim({ jobTimeoutMs: 1000 });
    sim.start(1);
    sim.send({ type: 'report', pid: 100, activity: 'busy', job: { queue: 'q', class: 'A', startedAt: 1 }, processed: 0 });
    sim.send({ type: 'report', pid: 100, activity: 'idle', job: undefined, processed: 1 });
    expect(sim.send({ type: 'timer', timer: 'job', key: 1, startedAt: 1 })).toEqual([]);
  });
});

describe('hardening (issue 10)', () => {
  it('a stop signal that arrived during start-up takes effect before any worker starts (item 8)', () => {
    const sim = new Sim();
    const fx = sim.send({ type: 'start', desired: 3, predecessors: [], stop: 'SIGTERM' });
    expect(spawns(fx)).toEqual([]);
    expect(fx.find((e) => e.type === 'exit')).toEqual({ type: 'exit', code: 0 });
  });

  it('a stop during start-up of a new generation gives the old master its workers back', () => {
    const sim = new Sim();
    const fx = sim.send({ type: 'start', desired: 2, predecessors: [{ pid: 50, generation: 1, live: 2, linked: true }], stop: 'SIGQUIT' });
    expect(spawns(fx)).toEqual([]);
    expect(fx.filter((e) => e.type === 'restorePredecessors')).toEqual([{ type: 'restorePredecessors', pids: [50] }]);
  });

  it('a worker exiting 0 without being asked (a job called process.exit) is a death: jobs recovered at once, slot refilled (item 6)', () => {
    const sim = new Sim();
    const [pid] = sim.start(1);
    sim.send({ type: 'hello', pid: pid!, id: 'host:1:q' });
    const lines = sim.logs({ type: 'exit', pid: pid!, code: 0, signal: null });
    expect(sim.effects.filter((e) => e.type === 'recover')).toEqual([{ type: 'recover', pid, group: 'default', ids: ['host:1:q'], failed: undefined }]);
    expect(lines.some((l) => /died/.test(l))).toBe(true);
    expect(spawns(sim.effects)).toEqual([{ slot: 0, retire: undefined }]);
  });

  it('a worker that announced its stop (operator QUIT, recycle) exits cleanly: nothing to recover, no death', () => {
    const sim = new Sim();
    const [pid] = sim.start(1);
    sim.send({ type: 'hello', pid: pid!, id: 'host:1:q' });
    // its replacement starts as soon as it says it is going
    expect(spawns(sim.send({ type: 'recycling', pid: pid!, reason: 'QUIT received' }))).toEqual([{ slot: 0, retire: undefined }]);
    const lines = sim.logs({ type: 'exit', pid: pid!, code: 0, signal: null });
    expect(lines.some((l) => /died/.test(l))).toBe(false);
    expect(lines.some((l) => /exited \(recycled\)/.test(l))).toBe(true);
  });

  it("every worker exit stops what its jobs left in its process group (item 12), unless turned off", () => {
    const on = new Sim();
    const [a] = on.start(1);
    on.send({ type: 'exit', pid: a!, code: 0, signal: null });
    expect(on.effects.filter((e) => e.type === 'reap')).toEqual([{ type: 'reap', pid: a }]);
    const off = new Sim({ reapJobProcesses: false });
    const [b] = off.start(1);
    off.send({ type: 'exit', pid: b!, code: 0, signal: null });
    expect(off.effects.filter((e) => e.type === 'reap')).toEqual([]);
  });

  it('jobTimeout is armed by the job-start message and a worker killed for it has its job failed, not recovered (item 4)', () => {
    const sim = new Sim({ jobTimeoutMs: 1000 });
    const [pid] = sim.start(1);
    sim.send({ type: 'hello', pid: pid!, id: 'host:1:q' });
    const job = { queue: 'q', class: 'Block', startedAt: sim.now, id: 'abc', worker: 'host:1:q' };
    expect(sim.send({ type: 'jobStarted', pid: pid!, job }).find((e) => e.type === 'setTimer')).toMatchObject({ key: 'job:1:host:1:q', ms: 1000 });
    sim.send({ type: 'timer', timer: 'job', key: 1, startedAt: job.startedAt, slot: job.worker });
    expect(signals(sim.send({ type: 'timer', timer: 'jobKill', key: 1, startedAt: job.startedAt, slot: job.worker }))).toEqual(['KILL -100']);
    sim.send({ type: 'exit', pid: pid!, code: null, signal: 'SIGKILL' });
    const rec = sim.effects.find((e) => e.type === 'recover') as Extract<Effect, { type: 'recover' }>;
    expect(rec.failed?.job).toEqual(job);
    expect(rec.failed?.error).toMatch(/jobTimeout/);
  });

  it('workers start at most maxStarting at a time, whatever the count; the rest follow as they become ready (item 14)', () => {
    const sim = new Sim({ maxStarting: 4, maxConcurrency: 4096 });
    sim.send({ type: 'start', desired: 0, predecessors: [] });
    const t0 = performance.now();
    const fx = sim.send({ type: 'scale', desired: 4096 });
    expect(spawns(fx)).toHaveLength(4);
    const pids = sim.spawnAll();
    expect(spawns(sim.send({ type: 'ready', pid: pids[0]! }))).toEqual([{ slot: 4, retire: undefined }]);
    // Reducer work stays linear: a TERM is handled at once (the master stays responsive).
    expect(kinds(sim.send({ type: 'signal', signal: 'SIGTERM' }))).toContain('signal');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('scale and TTIN stop at maxConcurrency', () => {
    const sim = new Sim({ maxConcurrency: 2 });
    sim.start(2);
    const lines = sim.logs({ type: 'signal', signal: 'SIGTTIN' });
    expect(sim.state.desired).toBe(2);
    expect(lines.some((l) => /maxConcurrency \(2/.test(l))).toBe(true);
    sim.send({ type: 'scale', desired: 200 });
    expect(sim.state.desired).toBe(2);
  });
});

describe('jobTimeout per job (review of issue 10)', () => {
  const jobA = { queue: 'q', class: 'Hung', startedAt: 1_000_000, id: 'a', worker: 'h:1:q' };
  const jobB = { queue: 'q', class: 'Quick', startedAt: 1_000_100, id: 'b', worker: 'h:2:q' };

  it('with jobConcurrency 2, a second slot starting and finishing jobs neither resets nor cancels the hung job\'s timers', () => {
    const sim = new Sim({ jobTimeoutMs: 1000 });
    const [pid] = sim.start(1);
    sim.send({ type: 'hello', pid: pid!, id: 'h:1:q', ids: ['h:1:q', 'h:2:q'] });
    sim.send({ type: 'jobStarted', pid: pid!, job: jobA });
    let fx = sim.send({ type: 'jobStarted', pid: pid!, job: jobB });
    expect(fx.filter((e) => e.type === 'clearTimer').map((e) => (e as { key: string }).key)).toEqual([]);
    fx = sim.send({ type: 'report', pid: pid!, activity: 'busy', job: jobA, jobs: [jobA], processed: 1 });
    // B finished: only B's timers go; A's timer is not re-armed (it keeps its first deadline)
    expect(fx.filter((e) => e.type === 'clearTimer').map((e) => (e as { key: string }).key)).toEqual(['job:1:h:2:q', 'jobKill:1:h:2:q']);
    expect(fx.filter((e) => e.type === 'setTimer')).toEqual([]);
    fx = sim.send({ type: 'timer', timer: 'job', key: 1, startedAt: jobA.startedAt, slot: jobA.worker });
    expect(fx.find((e) => e.type === 'setTimer')).toMatchObject({ key: 'jobKill:1:h:1:q' });
    sim.send({ type: 'jobStarted', pid: pid!, job: { ...jobB, startedAt: 1_000_200 } });
    expect(signals(sim.send({ type: 'timer', timer: 'jobKill', key: 1, startedAt: jobA.startedAt, slot: jobA.worker }))).toEqual(['KILL -100']);
    sim.send({ type: 'exit', pid: pid!, code: null, signal: 'SIGKILL' });
    const rec = sim.effects.find((e) => e.type === 'recover') as Extract<Effect, { type: 'recover' }>;
    expect(rec.failed?.job).toEqual(jobA);
  });

  it('a job that times out on a worker already recycling (maxJobs) is still recorded as failed, and the job it was killed for is the one failed', () => {
    const sim = new Sim({ jobTimeoutMs: 1000 });
    const [pid] = sim.start(1);
    sim.send({ type: 'hello', pid: pid!, id: 'h:1:q' });
    sim.send({ type: 'jobStarted', pid: pid!, job: jobA });
    sim.send({ type: 'recycling', pid: pid!, reason: 'maxJobs 1 reached' });
    sim.send({ type: 'timer', timer: 'job', key: 1, startedAt: jobA.startedAt, slot: jobA.worker });
    sim.send({ type: 'timer', timer: 'jobKill', key: 1, startedAt: jobA.startedAt, slot: jobA.worker });
    // it honoured the abort just then and started another job before the KILL landed
    sim.send({ type: 'jobStarted', pid: pid!, job: { ...jobA, id: 'c', startedAt: 1_000_500 } });
    sim.send({ type: 'exit', pid: pid!, code: null, signal: 'SIGKILL' });
    const rec = sim.effects.find((e) => e.type === 'recover') as Extract<Effect, { type: 'recover' }>;
    expect(rec.failed?.job).toEqual(jobA);
  });

  it('every worker exit runs recovery (a clean quick stop may have left jobs in flight)', () => {
    const sim = new Sim();
    const [pid] = sim.start(1);
    sim.send({ type: 'hello', pid: pid!, id: 'h:1:q' });
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    sim.send({ type: 'exit', pid: pid!, code: 0, signal: null });
    expect(sim.effects.filter((e) => e.type === 'recover')).toEqual([{ type: 'recover', pid, group: 'default', ids: ['h:1:q'], failed: undefined }]);
  });
});

describe('HUP storm: replaced while starting (review of issue 10)', () => {
  it('a master asked to hand off before it started starts as OLD: no worker, nothing asked of its own old masters, it exits', () => {
    const sim = new Sim();
    const fx = sim.send({
      type: 'start',
      desired: 3,
      predecessors: [{ pid: 50, generation: 7, live: 3, linked: true }],
      successor: { link: 1, by: 70, generation: 9 },
    });
    expect(spawns(fx)).toEqual([]);
    expect(signals(fx)).toEqual([]);
    expect(fx.filter((e) => e.type === 'restorePredecessors')).toEqual([]);
    expect(fx.find((e) => e.type === 'exit')).toEqual({ type: 'exit', code: 0 });
  });
});

describe('events without a test before issue 12', () => {
  const old = (live: number, linked = true) => [{ pid: 50, generation: 1, live, linked }];
  const replies = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'reply' ? [e] : []));

  it('spawnFailed: logged, the slot is tried again (a death for the crash loop)', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 1, predecessors: [] });
    const lines = sim.logs({ type: 'spawnFailed', key: 1, error: 'beforeFork threw: nope' });
    expect(lines).toContain('could not start worker[0]: beforeFork threw: nope');
    expect(sim.effects.filter((e) => e.type === 'clearTimer').map((e) => (e as { key: string }).key)).toContain('ready:1');
    expect(spawns(sim.effects)).toEqual([{ slot: 0, retire: undefined }]);
    expect(sim.state.deaths).toEqual([sim.now]);
  });

  it('spawnFailed during a takeover aborts it: the predecessor gets its workers back, exit 3', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 2, predecessors: old(2) });
    const fx = sim.send({ type: 'spawnFailed', key: 1, error: 'EAGAIN' });
    expect(fx.filter((e) => e.type === 'restorePredecessors' || e.type === 'exit')).toEqual([
      { type: 'restorePredecessors', pids: [50] },
      { type: 'exit', code: 3 },
    ]);
  });

  it('spawnFailed during a reload stops the replacement; the old workers keep serving', () => {
    const sim = new Sim();
    sim.start(2);
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    sim.send({ type: 'reloaded', settings: SETTINGS, desired: 2, configId: 7 });
    const lines = sim.logs({ type: 'spawnFailed', key: 3, error: 'EAGAIN' });
    expect(lines.some((l) => /rolling replacement stopped: the new worker\[0\] failed \(EAGAIN\); 2 worker\(s\)/.test(l))).toBe(true);
    expect(sim.state.reload).toBeUndefined();
    expect(sim.state.workers.map((w) => w.pid)).toEqual([100, 101]);
  });

  it('fatal: the worker’s reason is logged as an error; its exit decides the rest', () => {
    const sim = new Sim();
    const [pid] = sim.start(1);
    const step = reduce(sim.state, { type: 'fatal', pid: pid!, message: 'afterFork threw: no db' }, sim.now);
    expect(step.effects.filter((e) => e.type === 'log')).toEqual([
      { type: 'log', level: 'error', message: `worker[0] ${pid} cannot start: afterFork threw: no db`, fields: expect.objectContaining({ event: 'worker-fatal', slot: 0, workerPid: pid, error: 'afterFork threw: no db' }) },
    ]);
    expect(step.state.workers).toEqual(sim.state.workers);
  });

  it('reloadFailed: logged, the workers stay, and a queued reload is dropped with it', () => {
    const sim = new Sim();
    sim.start(1);
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    expect(sim.state.reloadPending).toBe(true);
    const lines = sim.logs({ type: 'reloadFailed', error: 'conf.ts:3 boom' });
    expect(lines).toContain('config reload failed, keeping the running config and workers: conf.ts:3 boom');
    expect(kinds(sim.effects)).not.toContain('reloadConfig');
    expect(sim.state).toMatchObject({ loadingConfig: false, reloadPending: false, version: 1 });
    expect(kinds(sim.send({ type: 'signal', signal: 'SIGHUP' }))).toContain('reloadConfig');
  });

  it('reloaded: the master is told to swap its config in (applyConfig) before the new workers start', () => {
    const sim = new Sim();
    sim.start(1);
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    const fx = sim.send({ type: 'reloaded', settings: SETTINGS, desired: 2, configId: 7 });
    expect(kinds(fx).filter((k) => k === 'applyConfig' || k === 'spawn')).toEqual(['applyConfig', 'spawn', 'spawn']);
    expect(fx.find((e) => e.type === 'applyConfig')).toEqual({ type: 'applyConfig', configId: 7 });
  });

  it('reloaded while being replaced or stopping: ignored, the master keeps its config', () => {
    const sim = new Sim();
    sim.start(1);
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    sim.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    expect(kinds(sim.send({ type: 'reloaded', settings: SETTINGS, desired: 4, configId: 7 }))).not.toContain('applyConfig');
    expect(sim.state.version).toBe(1);
    const other = new Sim();
    other.start(1);
    other.send({ type: 'signal', signal: 'SIGHUP' });
    other.send({ type: 'signal', signal: 'SIGQUIT' });
    expect(kinds(other.send({ type: 'reloaded', settings: SETTINGS, desired: 4, configId: 7 }))).not.toContain('applyConfig');
  });

  it('predecessorGone: it leaves the status, and a gone predecessor is not sent QUIT when the takeover is done (its pid may be reused)', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 2, predecessors: old(2, false) });
    const first = sim.spawnAll();
    sim.send({ type: 'predecessorWorkers', pid: 50, live: 0 });
    const pids = [...first, ...sim.spawnAll()];
    const lines = sim.logs({ type: 'predecessorGone', pid: 50 });
    expect(lines).toContain('old master 50 is gone');
    expect(sim.state.predecessors).toEqual([]);
    sim.readyAll(pids);
    expect(sim.state.takeover).toBeUndefined();
    expect(sim.effects.filter((e) => e.type === 'quitPredecessors')).toEqual([]);
  });

  it('predecessorGone before the first worker: nothing is counted for it (a HUP storm’s dead old master)', () => {
    const sim = new Sim();
    sim.send({ type: 'start', desired: 3, predecessors: old(2, false) });
    sim.send({ type: 'predecessorWorkers', pid: 50, live: 0 });
    sim.send({ type: 'predecessorGone', pid: 50 });
    expect(sim.state.workers).toHaveLength(3);
    expect(sim.state.predecessors).toEqual([]);
  });

  it('successorLinked answers with the live workers; a master that is not running refuses', () => {
    const sim = new Sim();
    sim.start(2);
    expect(replies(sim.send({ type: 'successorLinked', link: 4, by: 999, generation: 2, reply: 11 }))).toEqual([
      { type: 'reply', id: 11, reply: { ok: true, live: 2, desired: 2, configured: 2, groups: [{ name: 'default', desired: 2, configured: 2 }] } },
    ]);
    expect(sim.state.successors).toEqual([4]);
    const stopping = new Sim();
    stopping.start(1);
    stopping.send({ type: 'signal', signal: 'SIGQUIT' });
    expect(replies(stopping.send({ type: 'successorLinked', link: 4, by: 999, generation: 2, reply: 12 }))).toEqual([
      { type: 'reply', id: 12, reply: { ok: false, error: 'the master is stopping' } },
    ]);
    expect(stopping.state.successors).toEqual([]);
    expect(stopping.state.replacedBy).toBeUndefined();
  });

  it.each([
    ['successorRestored', /new master 999 gave up its rolling restart: back to 3 worker\(s\)/],
    ['successorLost', /new master 999 went away during the rolling restart: back to 3 worker\(s\)/],
  ] as const)('%s of the last successor ends the replacement: workers back, no longer OLD, pid file reclaimed', (type, line) => {
    const sim = new Sim();
    const pids = sim.start(3);
    sim.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    sim.send({ type: 'successorLinked', link: 2, by: 999, generation: 2 });
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    sim.send({ type: 'exit', pid: pids[2]!, code: 0, signal: null });
    // another successor is still taking over: nothing changes
    expect(sim.logs({ type, link: 1 })).toEqual([]);
    expect(sim.state.replacedBy).toEqual({ pid: 999, desiredBefore: 3, groupsBefore: { default: 3 } });
    const lines = sim.logs({ type, link: 2 });
    expect(lines.some((l) => line.test(l))).toBe(true);
    expect(sim.state.replacedBy).toBeUndefined();
    expect(sim.state.desired).toBe(3);
    expect(sim.effects.filter((e) => e.type === 'send' || e.type === 'reclaimPidFile')).toEqual([
      { type: 'send', pid: pids[0], message: { t: 'old', old: false } },
      { type: 'send', pid: pids[1], message: { t: 'old', old: false } },
      { type: 'reclaimPidFile' },
    ]);
    expect(spawns(sim.effects)).toEqual([{ slot: 2, retire: undefined }]);
  });

  it('a successor that never linked, or one that leaves a master that is not replaced, changes nothing', () => {
    const sim = new Sim();
    sim.start(2);
    sim.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    expect(sim.send({ type: 'successorLost', link: 9 })).toEqual([]);
    expect(sim.state.replacedBy).toBeDefined();
    const plain = new Sim();
    plain.start(2);
    expect(plain.send({ type: 'successorRestored', link: 1 })).toEqual([]);
  });

  it('scale answers with the new count; a replaced or stopping master refuses and keeps its count', () => {
    const sim = new Sim({ maxConcurrency: 5 });
    sim.start(2);
    expect(replies(sim.send({ type: 'scale', desired: 4, reply: 1 }))).toEqual([{ type: 'reply', id: 1, reply: { ok: true, concurrency: 4 } }]);
    sim.send({ type: 'successorLinked', link: 1, by: 999, generation: 2 });
    expect(replies(sim.send({ type: 'scale', desired: 1, reply: 2 }))).toEqual([
      { type: 'reply', id: 2, reply: { ok: false, error: 'this master is being replaced by a newer one; scale that one' } },
    ]);
    const stopping = new Sim();
    stopping.start(2);
    stopping.send({ type: 'signal', signal: 'SIGTERM' });
    expect(replies(stopping.send({ type: 'scale', desired: 1, reply: 3 }))).toEqual([
      { type: 'reply', id: 3, reply: { ok: false, error: 'the master is stopping' } },
    ]);
    expect(stopping.state.desired).toBe(2);
  });
});

describe('a runtime count across a restart (issue 11, item 5)', () => {
  const logsOf = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'log' ? [e.message] : []));
  const startWith = (sim: Sim, desired: number, predecessors: MasterState['predecessors']) =>
    logsOf(reduce(sim.state, { type: 'start', desired, predecessors }, sim.now).effects);
  const old = (o: { desired?: number; configured?: number; generation?: number; pid?: number }) => ({
    pid: o.pid ?? 50,
    generation: o.generation ?? 1,
    live: 4,
    linked: true,
    desired: o.desired,
    configured: o.configured,
  });

  it("the old master's handoff reply says the count it was asked for and its config's concurrency", () => {
    const sim = new Sim();
    sim.start(3);
    sim.send({ type: 'scale', desired: 4 });
    const fx = sim.send({ type: 'successorLinked', link: 1, by: 999, generation: 2, reply: 5 });
    expect(fx.filter((e) => e.type === 'reply')).toEqual([{ type: 'reply', id: 5, reply: { ok: true, live: 4, desired: 4, configured: 3, groups: [{ name: 'default', desired: 4, configured: 3 }] } }]);
    // A second successor (a HUP storm) hears the count from before the first one, not the TTOU count-down.
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    const again = sim.send({ type: 'successorLinked', link: 2, by: 1000, generation: 3, reply: 6 });
    expect(again.filter((e) => e.type === 'reply')).toEqual([{ type: 'reply', id: 6, reply: { ok: true, live: 4, desired: 4, configured: 3, groups: [{ name: 'default', desired: 4, configured: 3 }] } }]);
  });

  it('config concurrency unchanged since the old master loaded it: its runtime count (scale 3 → 4) is kept, and the log says why', () => {
    const sim = new Sim();
    const lines = startWith(sim, 3, [old({ desired: 4, configured: 3 })]);
    sim.send({ type: 'start', desired: 3, predecessors: [old({ desired: 4, configured: 3 })] });
    expect(sim.state.desired).toBe(4);
    expect(sim.state.configured).toBe(3);
    expect(lines).toContain(
      "concurrency 4: the runtime count of old master 50 (generation 1) (set by scale, TTIN or TTOU) is kept, as the config's concurrency (3) has not changed since old master 50 (generation 1) loaded it",
    );
    expect(lines.some((l) => /at most 5 alive/.test(l))).toBe(true);
  });

  it('config concurrency changed: the config wins over the runtime count, and the log says why', () => {
    const sim = new Sim();
    const lines = startWith(sim, 5, [old({ desired: 4, configured: 3 })]);
    sim.send({ type: 'start', desired: 5, predecessors: [old({ desired: 4, configured: 3 })] });
    expect(sim.state.desired).toBe(5);
    expect(lines).toContain('concurrency 5 from the config: it changed from 3 since old master 50 (generation 1) loaded it, so the count old master 50 (generation 1) ran (4) is not kept');
  });

  it('no runtime change: the config count, said once; an old master that said nothing (not linked, or older): the config, silently', () => {
    const same = new Sim();
    expect(startWith(same, 3, [old({ desired: 3, configured: 3 })])).toContain('concurrency 3 from the config, as old master 50 (generation 1) ran it');
    const silent = new Sim();
    silent.send({ type: 'start', desired: 3, predecessors: [{ pid: 50, generation: 1, live: 4, linked: false }] });
    expect(silent.state.desired).toBe(3);
  });

  it('the newest old master that told its numbers decides (a HUP storm), capped by maxConcurrency', () => {
    const sim = new Sim({ maxConcurrency: 6 });
    sim.send({
      type: 'start',
      desired: 3,
      predecessors: [old({ pid: 51, generation: 2, desired: 9, configured: 3 }), old({ pid: 50, generation: 1, desired: 2, configured: 3 }), old({ pid: 52, generation: 3 })],
    });
    expect(sim.state.desired).toBe(6);
  });

  it('an in-place reload (HUP) keeps a runtime count the same way; a changed concurrency wins', () => {
    const sim = new Sim();
    sim.start(3);
    sim.send({ type: 'scale', desired: 4 });
    expect(sim.logs({ type: 'reloaded', settings: SETTINGS, desired: 3, configId: 1 })).toContain(
      "concurrency 4: the runtime count of this master (set by scale, TTIN or TTOU) is kept, as the config's concurrency (3) has not changed since this master loaded it",
    );
    expect(sim.state.desired).toBe(4);
    expect(sim.logs({ type: 'reloaded', settings: SETTINGS, desired: 2, configId: 2 })).toContain('config: 4 → 2 worker(s)');
    expect([sim.state.desired, sim.state.configured]).toEqual([2, 2]);
  });
});
