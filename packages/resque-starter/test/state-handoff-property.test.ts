import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SignalName } from '@baton/process-kit';
import { initialState, reduce, type Effect, type MasterEvent, type MasterSettings, type MasterState } from '../src/state/index.js';

// Issue 12: an old and a new master reducer driven together by random event sequences, with a
// harness that routes their effects as the real processes would: spawns become worker processes
// that report spawned/ready and exit when asked (or die), a new worker's afterFork TTOU and the
// new master's own TTOUs reach the old master, the old master pushes its worker count over the
// hand-off link (or the new one counts it through /proc), restores and closed links reach the
// old master, timers fire in any order. Asserted:
//   - whenever a worker is started, the live workers of both generations are at most the
//     starting master's desired + 1 (the count only grows by starts);
//   - every stop ends: after QUIT or TERM to both and enough exits, both are done and exited once.
// A failure prints fast-check's seed and path; pass them back as FC_SEED / FC_PATH to replay it.

const SETTINGS: MasterSettings = {
  readyTimeoutMs: 5000,
  stopTimeoutMs: 10_000,
  termTimeoutMs: 2000,
  jobTimeoutMs: undefined,
  maxMemoryKb: undefined,
  crashLoop: { deaths: 3, windowMs: 10_000, delayMs: 500, maxDelayMs: 4000 },
  maxConcurrency: 6,
  maxStarting: 3,
  reapJobProcesses: false,
};

/** What the random sequences must reach, by the log line that says so. */
const SCENARIOS = {
  takeoverDone: /rolling restart done/,
  takeoverAborted: /rolling restart aborted/,
  forcedRetire: /more than fit beside a new one/,
  retiredByMaster: /did not call retireOldWorker/,
  replacementEnded: /back to \d+ worker/,
  replacedMasterDone: /has taken over: exiting/,
  crashLoop: /crash loop/,
  runtimeCountKept: /runtime count of old master \d+ .* is kept/,
  configCountWins: /from the config: it changed/,
};

type Gen = 'old' | 'new';
const PID: Record<Gen, number> = { old: 1000, new: 2000 };
const LINK = 7;

interface Proc {
  gen: Gen;
  key: number;
  pid: number | undefined;
  phase: 'spawning' | 'starting' | 'ready' | 'gone';
  /** What it was asked: it exits on its next step. */
  asked: 'quit' | 'term' | 'kill' | undefined;
  retire: number | undefined;
}

interface Master {
  state: MasterState;
  timers: Map<string, MasterEvent>;
  exits: number;
  reloads: number;
}

type Cmd =
  | { k: 'step'; i: number; ok: boolean; retire: boolean }
  | { k: 'die'; i: number }
  | { k: 'deliver'; ch: 'oldSignals' | 'toOld' | 'toNew' }
  | { k: 'reload'; gen: Gen; ok: boolean }
  | { k: 'timer'; gen: Gen; i: number }
  | { k: 'signal'; gen: Gen; signal: SignalName }
  | { k: 'startNew'; stop: 'SIGTERM' | 'SIGQUIT' | undefined }
  | { k: 'time'; ms: number };

/** Two masters and their workers, wired as the real processes are. */
class World {
  now = 1_000_000;
  nextPid = 3000;
  procs: Proc[] = [];
  m: Record<Gen, Master>;
  newStarted = false;
  /** How the new master knows the old one's count: over the link, or through /proc. */
  linked = false;
  lastPushed = -1;
  oldGoneSent = false;
  /** FIFO channels: signals to the old master, the hand-off link each way. */
  ch: { oldSignals: SignalName[]; toOld: MasterEvent[]; toNew: MasterEvent[] } = { oldSignals: [], toOld: [], toNew: [] };
  violations: string[] = [];
  /** SCENARIOS reached, from the masters' log lines. */
  seen = new Set<string>();

  constructor(oldDesired: number, readonly newDesired: number) {
    this.m = { old: this.master(), new: this.master() };
    this.send('old', { type: 'start', desired: oldDesired, predecessors: [] });
    // The old generation settles (spawned, then ready) before the random sequence begins.
    for (const p of this.procs) this.advance(p, true);
    for (const p of this.procs) this.advance(p, true);
  }

  run(cmd: Cmd): void {
    switch (cmd.k) {
      case 'step': {
        const live = this.live();
        if (live.length > 0) this.advance(live[cmd.i % live.length]!, cmd.ok, cmd.retire);
        return;
      }
      case 'die': {
        const live = this.live().filter((p) => p.pid !== undefined);
        const p = live[cmd.i % Math.max(1, live.length)];
        if (p) this.exit(p, 1, null);
        return;
      }
      case 'deliver':
        return this.deliver(cmd.ch);
      case 'reload':
        return this.reload(cmd.gen, cmd.ok);
      case 'timer': {
        const timers = [...this.m[cmd.gen].timers.values()];
        const e = timers[cmd.i % Math.max(1, timers.length)];
        if (e) this.send(cmd.gen, e);
        return;
      }
      case 'signal':
        if (cmd.gen === 'old' || this.newStarted) this.send(cmd.gen, { type: 'signal', signal: cmd.signal });
        return;
      case 'startNew':
        return this.startNew(cmd.stop);
      case 'time':
        this.now += cmd.ms;
        return;
    }
  }

  /** The new master links to the old one (its control socket), then starts with what it learnt. */
  startNew(stop?: SignalName): void {
    if (this.newStarted) return;
    const fx = this.send('old', { type: 'successorLinked', link: LINK, by: PID.new, generation: 2, reply: 1 });
    const reply = fx.find((e) => e.type === 'reply');
    this.linked = reply?.type === 'reply' && reply.reply.ok;
    const live = this.linked ? this.m.old.state.workers.length : this.count('old');
    // The reply's numbers, as control.ts parses them (a runtime count the new master may keep).
    const told = (k: 'desired' | 'configured') => (reply?.type === 'reply' && reply.reply.ok && typeof reply.reply[k] === 'number' ? (reply.reply[k] as number) : undefined);
    this.lastPushed = live;
    this.newStarted = true;
    const predecessor = { pid: PID.old, generation: 1, live, linked: this.linked, desired: told('desired'), configured: told('configured') };
    this.send('new', { type: 'start', desired: this.newDesired, predecessors: [predecessor], stop });
  }

  /** Stop signals to both, then every process and channel runs until nothing moves. */
  stopAll(signals: { old: SignalName; new: SignalName; oldFirst: boolean }): void {
    this.startNew();
    const order: Gen[] = signals.oldFirst ? ['old', 'new'] : ['new', 'old'];
    for (const gen of order) this.send(gen, { type: 'signal', signal: signals[gen] });
    for (let i = 0; i < 5000; i++) {
      const channel = (['oldSignals', 'toOld', 'toNew'] as const).find((c) => this.ch[c].length > 0);
      if (channel) {
        this.deliver(channel);
        continue;
      }
      const gen = (['old', 'new'] as const).find((g) => this.m[g].reloads > 0);
      if (gen) {
        this.reload(gen, true);
        continue;
      }
      if (this.live().some((p) => this.advance(p, true))) continue;
      const timer = (['old', 'new'] as const).flatMap((g) => [...this.m[g].timers.values()].map((e) => [g, e] as const))[0];
      if (!timer) return;
      this.send(timer[0], timer[1]);
    }
    throw new Error('the stop did not settle in 5000 steps');
  }

  live(gen?: Gen): Proc[] {
    return this.procs.filter((p) => p.phase !== 'gone' && (gen === undefined || p.gen === gen));
  }

  /** Live worker processes of a generation, as /proc would count them. */
  count(gen: Gen): number {
    return this.live(gen).length;
  }

  send(gen: Gen, event: MasterEvent): Effect[] {
    const step = reduce(this.m[gen].state, event, this.now);
    this.m[gen].state = step.state;
    for (const fx of step.effects) {
      if (fx.type !== 'log') continue;
      for (const [name, re] of Object.entries(SCENARIOS)) if (re.test(fx.message)) this.seen.add(name);
    }
    const spawned = step.effects.some((e) => e.type === 'spawn');
    for (const fx of step.effects) this.execute(gen, fx);
    if (spawned) {
      const total = this.count('old') + this.count('new');
      const bound = step.state.desired + 1;
      if (total > bound) this.violations.push(`${gen} started a worker on ${event.type}: ${total} live > desired ${step.state.desired} + 1`);
    }
    this.pushCount();
    return step.effects;
  }

  // --- internal ---

  private master(): Master {
    return { state: initialState(SETTINGS), timers: new Map(), exits: 0, reloads: 0 };
  }

  /** What the master host does with each effect. */
  private execute(gen: Gen, fx: Effect): void {
    const m = this.m[gen];
    switch (fx.type) {
      case 'spawn':
        this.procs.push({ gen, key: fx.key, pid: undefined, phase: 'spawning', asked: undefined, retire: fx.retire });
        return;
      case 'signal':
        return this.signal(fx.pid, fx.signal);
      case 'setTimer':
        m.timers.set(fx.key, fx.event);
        return;
      case 'clearTimer':
        m.timers.delete(fx.key);
        return;
      case 'reloadConfig':
        m.reloads += 1;
        return;
      case 'retirePredecessor':
        // handoff.ts: over the link when linked, else a TTOU.
        if (fx.pid !== PID.old || this.m.old.exits > 0) return;
        if (this.linked) this.ch.toOld.push({ type: 'retireRequest', link: LINK, group: fx.group });
        else this.signal(PID.old, 'SIGTTOU');
        return;
      case 'quitPredecessors':
        if (fx.pids.includes(PID.old)) this.ch.oldSignals.push('SIGQUIT');
        return;
      case 'restorePredecessors':
        if (fx.pids.includes(PID.old) && this.linked) this.ch.toOld.push({ type: 'successorRestored', link: LINK });
        return;
      case 'exit':
        m.exits += 1;
        if (this.count(gen) > 0) this.violations.push(`${gen} exited with ${this.count(gen)} live worker(s)`);
        // Its link closes: the new master's close reaches the old one; the old master's makes the
        // new one count through /proc until the old one is gone.
        if (gen === 'new' && this.linked) this.ch.toOld.push({ type: 'successorLost', link: LINK });
        if (gen === 'old') this.linked = false;
        return;
      default:
        return;
    }
  }

  private signal(pid: number, signal: SignalName): void {
    if (pid === PID.old) {
      if (this.m.old.exits === 0) this.ch.oldSignals.push(signal);
      return;
    }
    const p = this.procs.find((x) => x.pid === pid && x.phase !== 'gone');
    if (!p) return;
    const asked = signal === 'SIGKILL' ? 'kill' : signal === 'SIGTERM' ? 'term' : signal === 'SIGQUIT' ? 'quit' : undefined;
    const rank = { quit: 0, term: 1, kill: 2 } as const;
    if (asked && (!p.asked || rank[asked] > rank[p.asked])) p.asked = asked;
  }

  /** The old master's live count, pushed over the link on change, or polled through /proc. */
  private pushCount(): void {
    if (!this.newStarted || this.oldGoneSent) return;
    const live = this.linked ? this.m.old.state.workers.length : this.count('old');
    if (live !== this.lastPushed) {
      this.lastPushed = live;
      this.ch.toNew.push({ type: 'predecessorWorkers', pid: PID.old, live });
    }
    if (!this.linked && this.m.old.exits > 0 && live === 0) {
      this.oldGoneSent = true;
      this.ch.toNew.push({ type: 'predecessorGone', pid: PID.old });
    }
  }

  private deliver(channel: keyof World['ch']): void {
    if (channel === 'oldSignals') {
      const signal = this.ch.oldSignals.shift();
      if (signal) this.send('old', { type: 'signal', signal });
      return;
    }
    const e = this.ch[channel].shift();
    if (e) this.send(channel === 'toOld' ? 'old' : 'new', e);
  }

  private reload(gen: Gen, ok: boolean): void {
    const m = this.m[gen];
    if (m.reloads === 0) return;
    m.reloads -= 1;
    const desired = gen === 'new' ? this.newDesired : m.state.desired;
    this.send(gen, ok ? { type: 'reloaded', settings: SETTINGS, desired, configId: 1 } : { type: 'reloadFailed', error: 'broken' });
  }

  /**
   * The process's next step: started (or not: `ok`), ready (its afterFork calling
   * retireOldWorker(), or a custom one that does not: `retire`), or exited when asked. True if it moved.
   */
  private advance(p: Proc, ok: boolean, retire = true): boolean {
    const gen = p.gen;
    switch (p.phase) {
      case 'spawning': {
        if (!ok) {
          p.phase = 'gone';
          this.send(gen, { type: 'spawnFailed', key: p.key, error: 'EAGAIN' });
          return true;
        }
        p.pid = this.nextPid++;
        p.phase = 'starting';
        this.send(gen, { type: 'spawned', key: p.key, pid: p.pid });
        return true;
      }
      case 'starting': {
        if (p.asked) return this.exitAsked(p);
        p.phase = 'ready';
        const retired = retire && p.retire !== undefined;
        // retireOldWorker(): the worker asks its master (worker-main.ts), before it reports ready.
        if (retired) this.send(gen, { type: 'retireAsked', pid: p.pid! });
        this.send(gen, { type: 'ready', pid: p.pid!, retired });
        return true;
      }
      case 'ready':
        return p.asked ? this.exitAsked(p) : false;
      case 'gone':
        return false;
    }
  }

  private exitAsked(p: Proc): boolean {
    if (p.asked === 'kill') this.exit(p, null, 'SIGKILL');
    else this.exit(p, 0, null);
    return true;
  }

  private exit(p: Proc, code: number | null, signal: string | null): void {
    p.phase = 'gone';
    this.send(p.gen, { type: 'exit', pid: p.pid!, code, signal });
  }
}

const gen = fc.constantFrom<Gen>('old', 'new');
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ k: fc.constant('step' as const), i: fc.nat(12), ok: fc.oneof({ weight: 7, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), retire: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('die' as const), i: fc.nat(12) }) },
  { weight: 8, arbitrary: fc.record({ k: fc.constant('deliver' as const), ch: fc.constantFrom('oldSignals' as const, 'toOld' as const, 'toNew' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reload' as const), gen, ok: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('timer' as const), gen, i: fc.nat(12) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('signal' as const), gen, signal: fc.constantFrom<SignalName>('SIGTTIN', 'SIGTTOU', 'SIGHUP', 'SIGUSR2', 'SIGCONT') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('signal' as const), gen, signal: fc.constantFrom<SignalName>('SIGQUIT', 'SIGTERM') }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('time' as const), ms: fc.integer({ min: 1, max: 3000 }) }) },
);
const stopSignal = fc.constantFrom<SignalName>('SIGQUIT', 'SIGTERM', 'SIGINT');

const replay = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {};

describe('an old and a new master together (property)', () => {
  const reached = new Set<string>();
  it('never more than desired + 1 workers of both generations; every stop ends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.record({ same: fc.boolean(), n: fc.integer({ min: 0, max: 4 }) }),
        fc.array(cmd, { minLength: 20, maxLength: 150, size: 'max' }),
        fc.nat(30),
        fc.constantFrom(undefined, undefined, undefined, undefined, 'SIGTERM' as const, 'SIGQUIT' as const),
        fc.record({ old: stopSignal, new: stopSignal, oldFirst: fc.boolean() }),
        (oldDesired, newConf, cmds, startAt, startStop, stops) => {
          // Half the runs keep the old config's concurrency (a runtime TTIN/TTOU count is then kept).
          const newDesired = newConf.same ? oldDesired : newConf.n;
          const world = new World(oldDesired, newDesired);
          cmds.splice(startAt, 0, { k: 'startNew', stop: startStop });
          for (const c of cmds) world.run(c);
          for (const name of world.seen) reached.add(name);
          world.stopAll(stops);
          expect(world.violations).toEqual([]);
          expect([world.m.old.state.phase, world.m.new.state.phase]).toEqual(['done', 'done']);
          expect([world.m.old.exits, world.m.new.exits]).toEqual([1, 1]);
          expect(world.live()).toEqual([]);
        },
      ),
      // Shrinking a long failing sequence is bounded too (the counterexample so far is reported).
      { numRuns: 300, interruptAfterTimeLimit: 8000, ...replay },
    );
    // The sequences reach what the hand-off is made of (a harness that never gets there proves nothing).
    if (!replay.seed) expect([...reached].sort()).toEqual(Object.keys(SCENARIOS).sort());
  }, 30_000);
});
