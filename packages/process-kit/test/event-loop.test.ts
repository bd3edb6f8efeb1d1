import { describe, expect, it } from 'vitest';
import { createEventLoop, type EventLoopOptions } from '../src/event-loop.js';

/** A loop whose state is the list of events seen and whose effects are strings, logged in `ran`. */
function recorder(extra: Partial<EventLoopOptions<string[], string, string>> = {}) {
  const ran: string[] = [];
  const loop = createEventLoop<string[], string, string>({
    initial: [],
    reduce: (state, event) => ({ state: [...state, event], effects: [`fx:${event}`] }),
    execute: (fx) => ran.push(fx),
    ...extra,
  });
  return { loop, ran };
}

describe('createEventLoop', () => {
  it('queues events until opened, then runs the opening event first and the rest in order', () => {
    const { loop, ran } = recorder();
    loop.push('a');
    loop.push('b');
    expect(ran).toEqual([]);
    expect(loop.isOpen).toBe(false);
    loop.open('start');
    loop.push('c');
    expect(loop.isOpen).toBe(true);
    expect(loop.state).toEqual(['start', 'a', 'b', 'c']);
    expect(ran).toEqual(['fx:start', 'fx:a', 'fx:b', 'fx:c']);
  });

  it('events pushed by an effect run after that step, one at a time, in push order', () => {
    const seen: string[] = [];
    const loop = createEventLoop<null, string, string>({
      initial: null,
      reduce: (state, event) => ({ state, effects: [event, `${event}'`] }),
      execute: (fx) => {
        seen.push(fx);
        if (fx === 'x') {
          loop.push('y');
          loop.push('z');
        }
      },
    });
    loop.open('x');
    expect(seen).toEqual(['x', "x'", 'y', "y'", 'z', "z'"]);
  });

  it('take removes the first matching queued event', () => {
    const { loop } = recorder();
    for (const e of ['1', '2', '3', '2']) loop.push(e);
    expect(loop.take((e) => e === '2')).toBe('2');
    expect(loop.take((e) => e === '9')).toBeUndefined();
    loop.open('go');
    expect(loop.state).toEqual(['go', '1', '3', '2']);
  });

  it('open refuses to open twice', () => {
    const { loop } = recorder();
    loop.open('a');
    expect(() => loop.open('b')).toThrow(/already open/);
  });

  it('open(first, initial) replaces the state before the first event runs', () => {
    const { loop } = recorder();
    loop.push('queued');
    loop.open('start', ['boot']);
    expect(loop.state).toEqual(['boot', 'start', 'queued']);
  });

  it('the state is visible to effects as soon as its step is reduced', () => {
    const seen: string[][] = [];
    const loop = createEventLoop<string[], string, string>({
      initial: [],
      reduce: (state, event) => ({ state: [...state, event], effects: ['look'] }),
      execute: () => seen.push(loop.state),
    });
    loop.open('a');
    loop.push('b');
    expect(seen).toEqual([['a'], ['a', 'b']]);
  });

  it('hands the reducer the injected clock', () => {
    let t = 100;
    const times: number[] = [];
    const loop = createEventLoop<null, string, never>({
      initial: null,
      now: () => t,
      reduce: (state, _e, now) => {
        times.push(now);
        return { state, effects: [] };
      },
      execute: () => undefined,
    });
    loop.open('a');
    t = 250;
    loop.push('b');
    expect(times).toEqual([100, 250]);
  });

  it('an effect that throws is reported and does not stop the loop or the later effects', () => {
    const failed: Array<[string, string]> = [];
    const ran: string[] = [];
    const loop = createEventLoop<null, string, string>({
      initial: null,
      reduce: (state, event) => ({ state, effects: [`${event}1`, `${event}2`] }),
      execute: (fx) => {
        if (fx === 'a1') throw new Error('boom');
        ran.push(fx);
      },
      onEffectError: (fx, err) => failed.push([fx, (err as Error).message]),
    });
    loop.push('b');
    loop.open('a');
    loop.push('c');
    expect(failed).toEqual([['a1', 'boom']]);
    expect(ran).toEqual(['a2', 'b1', 'b2', 'c1', 'c2']);
  });

  it('without onEffectError, the first failure is rethrown to the pusher once the queue is drained', () => {
    const ran: string[] = [];
    const loop = createEventLoop<null, string, string>({
      initial: null,
      reduce: (state, event) => ({ state, effects: [event] }),
      execute: (fx) => {
        if (fx === 'bad') {
          loop.push('after');
          throw new Error('boom');
        }
        ran.push(fx);
      },
    });
    loop.open('start');
    expect(() => loop.push('bad')).toThrow('boom');
    expect(ran).toEqual(['start', 'after']);
    loop.push('next');
    expect(ran).toEqual(['start', 'after', 'next']);
  });
});
