import { describe, expect, it } from 'vitest';
import { createFakeHost } from '../src/fake-host.js';
import type { ChildEvents } from '../src/host.js';
import { signalAndWake } from '../src/host.js';

function recordingEvents() {
  const log: string[] = [];
  const events: ChildEvents = {
    exit: (code, signal) => log.push(`exit ${code} ${signal}`),
    message: (m) => log.push(`message ${JSON.stringify(m)}`),
    spawnError: (e) => log.push(`spawnError ${e.message}`),
  };
  return { log, events };
}

const spec = { file: 'node', args: ['app.js'], env: {}, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] as const };

describe('createFakeHost', () => {
  it('records spawns with pids from 1000 and lets the test play the child', () => {
    const host = createFakeHost();
    const { log, events } = recordingEvents();
    const a = host.spawn({ ...spec, stdio: [...spec.stdio] }, events)!;
    const b = host.spawn({ ...spec, stdio: 'inherit' }, events)!;
    expect([a.pid, b.pid]).toEqual([1000, 1001]);
    expect(a.stdout).not.toBeNull();
    expect(b.stdout).toBeNull();
    expect(a.connected).toBe(true);
    a.send({ hi: 1 });
    expect(host.spawnOf(1000).sent).toEqual([{ hi: 1 }]);
    host.spawnOf(1000).message({ ready: true });
    host.spawnOf(1000).exit(null, 'SIGTERM');
    expect(log).toEqual(['message {"ready":true}', 'exit null SIGTERM']);
    expect(a.connected).toBe(false);
    expect(host.liveChildren().map((s) => s.pid)).toEqual([1001]);
    expect(() => host.spawnOf(1000).exit()).toThrow(/already ended/);
  });

  it('fails the next spawn at once or when the test delivers the error', () => {
    const host = createFakeHost();
    const { log, events } = recordingEvents();
    host.failNextSpawn(new Error('ENOENT'));
    expect(host.spawn({ ...spec, stdio: 'inherit' }, events)).toBeUndefined();
    expect(log).toEqual(['spawnError ENOENT']);
    host.failNextSpawn(new Error('EACCES'), { async: true });
    expect(host.spawn({ ...spec, stdio: 'inherit' }, events)).toBeUndefined();
    expect(log).toEqual(['spawnError ENOENT']);
    host.spawns[1]!.spawnError();
    expect(log).toEqual(['spawnError ENOENT', 'spawnError EACCES']);
    expect(host.spawn({ ...spec, stdio: 'inherit' }, events)?.pid).toBe(1000);
  });

  it('records signals; live children and livePids answer true', () => {
    const host = createFakeHost();
    const child = host.spawn({ ...spec, stdio: 'inherit' }, recordingEvents().events)!;
    host.livePids.add(42);
    expect(signalAndWake(host, child.pid, 'SIGTERM', { group: true })).toBe(true);
    expect(host.signal(42, 'SIGHUP')).toBe(true);
    expect(host.signal(7, 'SIGUSR1')).toBe(false);
    expect(host.signals).toEqual([
      { pid: 1000, signal: 'SIGTERM', group: true },
      { pid: 1000, signal: 'SIGCONT', group: true },
      { pid: 42, signal: 'SIGHUP', group: false },
      { pid: 7, signal: 'SIGUSR1', group: false },
    ]);
  });

  it('signalAndWake adds SIGCONT only after TERM, INT and QUIT', () => {
    const host = createFakeHost();
    for (const s of ['SIGHUP', 'SIGINT', 'SIGUSR2', 'SIGQUIT'] as const) signalAndWake(host, 5, s);
    expect(host.signals.map((s) => s.signal)).toEqual(['SIGHUP', 'SIGINT', 'SIGCONT', 'SIGUSR2', 'SIGQUIT', 'SIGCONT']);
  });

  it('advance fires due timers and intervals in time order on the manual clock', () => {
    const host = createFakeHost({ now: 0 });
    const fired: string[] = [];
    host.timers.set('b', 300, () => fired.push(`b@${host.now()}`));
    host.timers.set('a', 100, () => {
      fired.push(`a@${host.now()}`);
      host.timers.set('c', 50, () => fired.push(`c@${host.now()}`));
    });
    host.timers.set('gone', 120, () => fired.push('gone'));
    host.timers.clear('gone');
    const stop = host.every(100, () => fired.push(`tick@${host.now()}`));
    host.advance(250);
    expect(fired).toEqual(['a@100', 'tick@100', 'c@150', 'tick@200']);
    expect(host.now()).toBe(250);
    expect(host.timerKeys()).toEqual(['b']);
    stop();
    host.advance(100);
    expect(fired.slice(4)).toEqual(['b@300']);
    expect(host.intervalCount()).toBe(0);
  });

  it('setting a key again replaces its timer; clearAll drops every timer', () => {
    const host = createFakeHost({ now: 0 });
    const fired: string[] = [];
    host.timers.set('k', 100, () => fired.push('first'));
    host.timers.set('k', 200, () => fired.push('second'));
    host.advance(150);
    expect(fired).toEqual([]);
    host.advance(50);
    expect(fired).toEqual(['second']);
    host.timers.set('x', 10, () => fired.push('x'));
    host.timers.clearAll();
    host.advance(100);
    expect(fired).toEqual(['second']);
  });

  it('raise delivers a signal to the installed handlers until they are removed', () => {
    const host = createFakeHost();
    const got: string[] = [];
    const remove = host.onSignals(['SIGHUP', 'SIGTERM'], (s) => got.push(s));
    expect(host.raise('SIGHUP')).toBe(true);
    expect(host.raise('SIGUSR1')).toBe(false);
    remove();
    expect(host.raise('SIGTERM')).toBe(false);
    expect(got).toEqual(['SIGHUP']);
    expect(host.handlerCount('SIGHUP')).toBe(0);
  });

  it('records files, watchers, exit guards and titles', () => {
    const host = createFakeHost();
    host.writeFile('/run/status', '1:1000\n', { mode: 0o640 });
    expect(host.files.get('/run/status')).toEqual({ data: '1:1000\n', mode: 0o640 });
    host.removeFile('/run/status');
    expect(host.files.has('/run/status')).toBe(false);
    expect(host.removed).toEqual(['/run/status']);

    let changes = 0;
    const unwatch = host.watchFile('/app/restart', () => changes++);
    host.touch('/app/restart');
    unwatch();
    host.touch('/app/restart');
    expect(changes).toBe(1);

    const died: string[] = [];
    const removeGuard = host.onFatalSignal((s) => died.push(s));
    host.dieOf('SIGABRT');
    removeGuard();
    host.dieOf('SIGABRT');
    expect(died).toEqual(['SIGABRT']);
    expect(host.fatalGuardCount()).toBe(0);

    host.setTitle('one');
    host.setTitle('two');
    expect(host.titles).toEqual(['one', 'two']);
  });
});
