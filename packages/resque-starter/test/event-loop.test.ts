import { describe, expect, it } from 'vitest';
import { EventLoop } from '../src/event-loop.js';
import { initialState, reduce, type MasterEvent, type MasterState } from '../src/state.js';

describe('EventLoop', () => {
  it('queues events until opened, then runs the opening event first and the rest in order', () => {
    const seen: string[] = [];
    const loop = new EventLoop<string>((e) => seen.push(e));
    loop.push('a');
    loop.push('b');
    expect(seen).toEqual([]);
    loop.open('start');
    loop.push('c');
    expect(seen).toEqual(['start', 'a', 'b', 'c']);
  });

  it('events pushed by a step run after it, one at a time', () => {
    const seen: string[] = [];
    const loop: EventLoop<string> = new EventLoop<string>((e) => {
      seen.push(`>${e}`);
      if (e === 'x') loop.push('y');
      seen.push(`<${e}`);
    });
    loop.open('x');
    expect(seen).toEqual(['>x', '<x', '>y', '<y']);
  });

  it('take removes the first matching queued event', () => {
    const loop = new EventLoop<number>(() => undefined);
    for (const n of [1, 2, 3, 2]) loop.push(n);
    expect(loop.take((n) => n === 2)).toBe(2);
    expect(loop.take((n) => n === 9)).toBeUndefined();
  });

  // Issue 10 item 1: a HUP storm's new master linked two old masters; the first one left while
  // the second was still being linked, its `oldGone` reached the reducer before `start` and was
  // dropped, and the master counted 2 workers of a dead master for ever (stuck at 2 of 3).
  it('an old master that leaves while the master is still starting is not counted for ever', () => {
    const settings = {
      readyTimeoutMs: 5000, stopTimeoutMs: 10_000, termTimeoutMs: 2000, jobTimeoutMs: undefined, maxMemoryKb: undefined,
      crashLoop: { deaths: 4, windowMs: 60_000, delayMs: 1000, maxDelayMs: 8000 }, maxConcurrency: 64, maxStarting: 8, reapJobProcesses: true,
    };
    let state: MasterState = initialState(settings);
    let spawned = 0;
    const loop = new EventLoop<MasterEvent>((event) => {
      const step = reduce(state, event, 1000);
      state = step.state;
      spawned += step.effects.filter((e) => e.type === 'spawn').length;
    });
    // the tracker's poll reports the first old master gone while attach() links the second one
    loop.push({ type: 'oldWorkers', pid: 50, live: 0 });
    loop.push({ type: 'oldGone', pid: 50 });
    loop.open({ type: 'start', desired: 3, olds: [{ pid: 50, generation: 4, live: 2, linked: false }] });
    expect(state.olds).toEqual([]);
    expect(spawned).toBe(3);
  });
});
