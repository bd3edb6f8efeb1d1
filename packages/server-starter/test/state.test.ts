import { describe, expect, it } from 'vitest';
import {
  initialState,
  reduce,
  retryDelayMs,
  stableAfterMs,
  type Effect,
  type SupervisorConfig,
  type SupervisorEvent,
  type SupervisorState,
} from '../src/state.js';

const config: SupervisorConfig = {
  intervalMs: 1000,
  killOldDelayMs: 0,
  signalOnHup: 'SIGTERM',
  signalOnTerm: 'SIGTERM',
  termTimeoutMs: 30_000,
  maxRetryDelayMs: 60_000,
  autoRestart: { enabled: false, intervalMs: 360_000 },
};

/** Feeds events in order (each at its time) and returns the state and the effects of the LAST event. */
function play(events: Array<[number, SupervisorEvent]>, cfg: SupervisorConfig = config, from: SupervisorState = initialState()) {
  let state = from;
  let effects: Effect[] = [];
  for (const [t, ev] of events) ({ state, effects } = reduce(state, ev, cfg, t));
  return { state, effects };
}

/** Effects without log lines, for compact comparisons. */
const acts = (fx: Effect[]) => fx.filter((e) => e.type !== 'log');
const logs = (fx: Effect[]) => fx.filter((e): e is Extract<Effect, { type: 'log' }> => e.type === 'log').map((e) => e.message);

const start: Array<[number, SupervisorEvent]> = [
  [0, { type: 'start' }],
  [1, { type: 'spawned', generation: 1, pid: 101 }],
  [1001, { type: 'timer', timer: 'check', generation: 1 }],
];

describe('restart state machine', () => {
  it('start → spawn generation 1', () => {
    const { state, effects } = play([[0, { type: 'start' }]]);
    expect(effects).toEqual([{ type: 'spawn', generation: 1 }]);
    expect(state.spawning).toBe(1);
  });

  it('spawned → checking, check timer of --interval', () => {
    const { state, effects } = play(start.slice(0, 2));
    expect(state.gens).toEqual([{ generation: 1, pid: 101, role: 'checking', startedAt: 1 }]);
    expect(acts(effects)).toEqual([{ type: 'setTimer', key: 'check:1', ms: 1000, event: { type: 'timer', timer: 'check', generation: 1 } }]);
    expect(logs(effects)).toEqual(['starting new worker 101 (generation 1)']);
  });

  it('check passes → current, status written, nobody signalled', () => {
    const { state, effects } = play(start);
    expect(state.gens[0]).toMatchObject({ role: 'current', acceptedAt: 1001 });
    expect(effects).toContainEqual({ type: 'writeStatus', lines: [{ generation: 1, pid: 101 }] });
    expect(effects.some((e) => e.type === 'kill')).toBe(false);
  });

  it('HUP with a live generation 1 → spawn generation 2; the old one is signalled only once 2 is accepted', () => {
    const hup = play([...start, [5000, { type: 'signal', signal: 'SIGHUP' }]]);
    expect(acts(hup.effects)).toEqual([{ type: 'spawn', generation: 2 }]);
    expect(logs(hup.effects)).toEqual(['received HUP, spawning a new worker']);
    const spawned = play([[5001, { type: 'spawned', generation: 2, pid: 202 }]], config, hup.state);
    expect(spawned.effects.some((e) => e.type === 'kill')).toBe(false);
    const accepted = play([[6001, { type: 'timer', timer: 'check', generation: 2 }]], config, spawned.state);
    expect(accepted.effects).toContainEqual({ type: 'kill', pids: [101], signal: 'SIGTERM' });
    expect(accepted.effects).toContainEqual({ type: 'writeStatus', lines: [{ generation: 1, pid: 101 }, { generation: 2, pid: 202 }] });
    expect(logs(accepted.effects)).toContain('new worker is now running, sending TERM to old workers:101');
    const reaped = play([[6100, { type: 'exit', pid: 101, code: 0, signal: null }]], config, accepted.state);
    expect(reaped.effects).toContainEqual({ type: 'writeStatus', lines: [{ generation: 2, pid: 202 }] });
    expect(logs(reaped.effects)).toEqual(['old worker 101 died, status:0 (exit code 0)']);
  });

  it('with --kill-old-delay the old one is signalled after the delay, and only if the new one still lives', () => {
    const cfg = { ...config, killOldDelayMs: 2000, signalOnHup: 'SIGUSR1' as const };
    const base: Array<[number, SupervisorEvent]> = [
      ...start,
      [5000, { type: 'signal', signal: 'SIGHUP' }],
      [5001, { type: 'spawned', generation: 2, pid: 202 }],
      [6001, { type: 'timer', timer: 'check', generation: 2 }],
    ];
    const accepted = play(base, cfg);
    expect(accepted.effects).toContainEqual({ type: 'setTimer', key: 'killOld', ms: 2000, event: { type: 'timer', timer: 'killOld', generation: 2 } });
    expect(accepted.effects.some((e) => e.type === 'kill')).toBe(false);
    const fired = play([[8001, { type: 'timer', timer: 'killOld', generation: 2 }]], cfg, accepted.state);
    expect(fired.effects).toContainEqual({ type: 'kill', pids: [101], signal: 'SIGUSR1' });
    // The new generation dies during the delay: the old one is not signalled (Server::Starter killed it anyway).
    const died = play([[7000, { type: 'exit', pid: 202, code: 1, signal: null }], [8001, { type: 'timer', timer: 'killOld', generation: 2 }]], cfg, accepted.state);
    expect(died.effects.some((e) => e.type === 'kill')).toBe(false);
    expect(logs(died.effects)[0]).toMatch(/generation 2 died during --kill-old-delay; old workers are not signalled/);
  });

  it('a new generation that exits during its check leaves the old one serving and retries with a growing delay', () => {
    let r = play([...start, [5000, { type: 'signal', signal: 'SIGHUP' }], [5001, { type: 'spawned', generation: 2, pid: 202 }]]);
    const delays: number[] = [];
    let pid = 202;
    for (let gen = 2; gen <= 6; gen++) {
      r = play([[0, { type: 'exit', pid, code: 3, signal: null }]], config, r.state);
      expect(r.effects.some((e) => e.type === 'kill')).toBe(false);
      expect(logs(r.effects)[0]).toBe(`new worker ${pid} seems to have failed to start, exit status:768 (exit code 3)`);
      expect(logs(r.effects)[1]).toMatch(/worker 101 \(generation 1\) keeps serving/);
      const timer = r.effects.find((e) => e.type === 'setTimer' && e.key === 'retry');
      delays.push((timer as { ms: number }).ms);
      r = play([[0, { type: 'timer', timer: 'retry' }]], config, r.state);
      expect(r.effects).toEqual([{ type: 'spawn', generation: gen + 1 }]);
      pid = 200 + gen + 1;
      r = play([[0, { type: 'spawned', generation: gen + 1, pid }]], config, r.state);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(r.state.gens.find((g) => g.role === 'current')).toMatchObject({ pid: 101 });
  });

  it('the retry delay is capped by --max-retry-delay', () => {
    expect(retryDelayMs({ ...config, maxRetryDelayMs: 5000 }, 10)).toBe(5000);
    expect(retryDelayMs(config, 1)).toBe(1000);
  });

  it('a HUP while a generation is being checked does not cut the check short; exactly one more restart follows', () => {
    let r = play([...start, [5000, { type: 'signal', signal: 'SIGHUP' }], [5001, { type: 'spawned', generation: 2, pid: 202 }]]);
    for (const t of [5050, 5100, 5150]) {
      r = play([[t, { type: 'signal', signal: 'SIGHUP' }]], config, r.state);
      expect(acts(r.effects)).toEqual([]);
      expect(logs(r.effects)[0]).toMatch(/while generation 2 is being checked/);
    }
    r = play([[6001, { type: 'timer', timer: 'check', generation: 2 }]], config, r.state);
    expect(r.effects.filter((e) => e.type === 'spawn')).toEqual([{ type: 'spawn', generation: 3 }]);
    r = play([[6002, { type: 'spawned', generation: 3, pid: 303 }], [7002, { type: 'timer', timer: 'check', generation: 3 }]], config, r.state);
    expect(r.effects.filter((e) => e.type === 'spawn')).toEqual([]);
    expect(r.effects).toContainEqual({ type: 'kill', pids: [101, 202], signal: 'SIGTERM' });
    expect(r.state.pendingRestart).toBe(false);
  });

  it('the current generation dying on its own is respawned after --interval', () => {
    const r = play([...start, [100_000, { type: 'exit', pid: 101, code: null, signal: 'SIGKILL' }]]);
    expect(logs(r.effects)[0]).toBe('worker 101 died unexpectedly with status:9 (killed by SIGKILL (Forced termination)), restarting');
    expect(r.effects).toContainEqual({ type: 'setTimer', key: 'retry', ms: 1000, event: { type: 'timer', timer: 'retry' } });
    expect(r.effects).toContainEqual({ type: 'writeStatus', lines: [] });
    const again = play([[101_000, { type: 'timer', timer: 'retry' }]], config, r.state);
    expect(again.effects).toEqual([{ type: 'spawn', generation: 2 }]);
  });

  it('the current generation exiting 0 by itself (an operator\'s QUIT to it) is a stop, not a crash: info, and a new one after --interval', () => {
    const r = play([...start, [100_000, { type: 'exit', pid: 101, code: 0, signal: null }]]);
    const lines = r.effects.filter((e): e is Extract<Effect, { type: 'log' }> => e.type === 'log');
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['info', 'worker 101 (generation 1) exited by itself with status:0 (exit code 0): a stop, not a crash (to stop everything, send TERM to start-server); restarting'],
      ['info', 'starting a new worker in 1s'],
    ]);
    expect(r.effects).toContainEqual({ type: 'setTimer', key: 'retry', ms: 1000, event: { type: 'timer', timer: 'retry' } });
    expect(play([[101_000, { type: 'timer', timer: 'retry' }]], config, r.state).effects).toEqual([{ type: 'spawn', generation: 2 }]);
    // Soon after acceptance again and again: the same growing delay as for crashes (no busy loop).
    const quick = play([...start, [1500, { type: 'exit', pid: 101, code: 0, signal: null }]]);
    expect(quick.state.failures).toBe(1);
  });

  it('the current generation exiting while a newer one is being checked (a hand-off) is no [error] and no respawn of its own', () => {
    const hup: Array<[number, SupervisorEvent]> = [...start, [5000, { type: 'signal', signal: 'SIGHUP' }], [5001, { type: 'spawned', generation: 2, pid: 202 }]];
    for (const [code, signal, level] of [
      [0, null, 'info'],
      [1, null, 'warn'],
      [null, 'SIGTERM', 'warn'],
    ] as const) {
      const r = play([...hup, [5500, { type: 'exit', pid: 101, code, signal }]]);
      const lines = r.effects.filter((e): e is Extract<Effect, { type: 'log' }> => e.type === 'log');
      expect(lines.map((l) => l.level)).toEqual([level]);
      expect(lines[0]!.message).toMatch(/^worker 101 \(generation 1\) exited with status:\d+ \(.*\) while generation 2 is starting; generation 2 takes over$/);
      expect(r.effects.some((e) => e.type === 'setTimer' && e.key === 'retry')).toBe(false);
      expect(r.effects).toContainEqual({ type: 'writeStatus', lines: [] });
      expect(r.state.failures).toBe(0);
      // The newcomer is accepted as usual; nobody is left to signal.
      const next = play([[6001, { type: 'timer', timer: 'check', generation: 2 }]], config, r.state);
      expect(next.state.gens).toMatchObject([{ generation: 2, role: 'current' }]);
      expect(next.effects.some((e) => e.type === 'kill')).toBe(false);
    }
    // Also while the spawn of the newcomer is still out.
    const spawning = play([...start, [5000, { type: 'signal', signal: 'SIGHUP' }], [5001, { type: 'exit', pid: 101, code: 0, signal: null }]]);
    expect(spawning.effects.filter((e) => e.type === 'log' && e.level === 'error')).toEqual([]);
  });

  it('a crash loop (deaths soon after acceptance) backs off; a stable generation resets the count', () => {
    let r = play(start);
    const delays: number[] = [];
    let pid = 101;
    let t = 1001;
    for (let gen = 2; gen <= 5; gen++) {
      t += 500;
      r = play([[t, { type: 'exit', pid, code: 1, signal: null }]], config, r.state);
      delays.push((r.effects.find((e) => e.type === 'setTimer' && e.key === 'retry') as { ms: number }).ms);
      pid = gen * 100 + gen;
      r = play([[t, { type: 'timer', timer: 'retry' }], [t, { type: 'spawned', generation: gen, pid }], [t + 1000, { type: 'timer', timer: 'check', generation: gen }]], config, r.state);
      t += 1000;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
    r = play([[t + stableAfterMs(config), { type: 'timer', timer: 'stable', generation: 5 }]], config, r.state);
    expect(r.state.failures).toBe(0);
  });

  it('TERM → signal-on-term to every generation, SIGKILL after --term-timeout, exit once all are gone', () => {
    const cfg = { ...config, signalOnTerm: 'SIGINT' as const };
    let r = play([...start, [5000, { type: 'signal', signal: 'SIGHUP' }], [5001, { type: 'spawned', generation: 2, pid: 202 }], [5500, { type: 'signal', signal: 'SIGTERM' }]], cfg);
    expect(r.effects).toContainEqual({ type: 'kill', pids: [101, 202], signal: 'SIGINT' });
    expect(r.effects).toContainEqual({ type: 'setTimer', key: 'force', ms: 30_000, event: { type: 'timer', timer: 'force' } });
    expect(r.effects).toContainEqual({ type: 'clearTimer', key: 'check:2' });
    expect(logs(r.effects)).toContain('received TERM, sending INT to all workers:101,202');
    r = play([[6000, { type: 'exit', pid: 101, code: 0, signal: null }]], cfg, r.state);
    expect(r.effects.some((e) => e.type === 'exit')).toBe(false);
    const forced = play([[35_500, { type: 'timer', timer: 'force' }]], cfg, r.state);
    expect(forced.effects).toContainEqual({ type: 'kill', pids: [202], signal: 'SIGKILL' });
    r = play([[36_000, { type: 'exit', pid: 202, code: null, signal: 'SIGKILL' }]], cfg, forced.state);
    expect(r.effects).toContainEqual({ type: 'exit', code: 0 });
    expect(logs(r.effects)).toEqual(['worker 202 died, status:9 (killed by SIGKILL (Forced termination))', 'exiting']);
  });

  it('HUP after stop began is ignored; a checking generation that appears during stop is stopped too', () => {
    let r = play([[0, { type: 'start' }], [1, { type: 'signal', signal: 'SIGTERM' }]]);
    expect(r.effects.some((e) => e.type === 'exit')).toBe(false); // generation 1 is still being spawned
    r = play([[2, { type: 'spawned', generation: 1, pid: 101 }]], config, r.state);
    expect(r.effects).toContainEqual({ type: 'kill', pids: [101], signal: 'SIGTERM' });
    r = play([[3, { type: 'signal', signal: 'SIGHUP' }]], config, r.state);
    expect(acts(r.effects)).toEqual([]);
    r = play([[4, { type: 'exit', pid: 101, code: 0, signal: null }]], config, r.state);
    expect(r.effects).toContainEqual({ type: 'exit', code: 0 });
  });

  it('TERM with nothing running exits at once', () => {
    const r = play([[0, { type: 'start' }], [1, { type: 'spawnFailed', generation: 1, error: 'spawn nope ENOENT' }], [2, { type: 'signal', signal: 'SIGTERM' }]]);
    expect(r.effects).toContainEqual({ type: 'exit', code: 0 });
  });

  it('a command that cannot be spawned is retried with a clear reason', () => {
    const r = play([[0, { type: 'start' }], [1, { type: 'spawnFailed', generation: 1, error: 'spawn nope ENOENT' }]]);
    expect(logs(r.effects)).toEqual(['new worker (generation 1) could not be started: spawn nope ENOENT', 'retrying in 1s (failure 1 in a row); no worker is serving']);
  });

  it('HUP during the retry wait starts the next attempt at once', () => {
    const r = play([[0, { type: 'start' }], [1, { type: 'spawnFailed', generation: 1, error: 'x' }], [2, { type: 'signal', signal: 'SIGHUP' }]]);
    expect(acts(r.effects)).toEqual([{ type: 'clearTimer', key: 'retry' }, { type: 'spawn', generation: 2 }]);
  });

  it('other signals are logged and ignored', () => {
    const r = play([...start, [2000, { type: 'signal', signal: 'SIGUSR2' }]]);
    expect(acts(r.effects)).toEqual([]);
    expect(logs(r.effects)[0]).toMatch(/received USR2; ignored/);
  });

  it('auto-restart triggers after the interval, waits for old workers, and is forced at twice the interval', () => {
    const cfg = { ...config, autoRestart: { enabled: true, intervalMs: 3000 } };
    const accepted = play(start, cfg);
    expect(accepted.effects).toContainEqual({ type: 'setTimer', key: 'autoRestart', ms: 3000, event: { type: 'timer', timer: 'autoRestart' } });
    const fired = play([[4001, { type: 'timer', timer: 'autoRestart' }]], cfg, accepted.state);
    expect(logs(fired.effects)).toEqual(['autorestart triggered (interval=3)']);
    expect(acts(fired.effects)).toEqual([{ type: 'spawn', generation: 2 }]);
    // With an old generation still draining, it waits, then forces at 2× the interval.
    let r = play([[4002, { type: 'spawned', generation: 2, pid: 202 }], [5002, { type: 'timer', timer: 'check', generation: 2 }]], cfg, fired.state);
    r = play([[8002, { type: 'timer', timer: 'autoRestart' }]], cfg, r.state);
    expect(acts(r.effects)).toEqual([{ type: 'setTimer', key: 'autoRestart', ms: 1000, event: { type: 'timer', timer: 'autoRestart' } }]);
    r = play([[11_002, { type: 'timer', timer: 'autoRestart' }]], cfg, r.state);
    expect(logs(r.effects)).toEqual(['autorestart triggered (forced, interval=3)']);
  });
});
