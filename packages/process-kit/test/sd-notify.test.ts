import { describe, expect, it } from 'vitest';
import { createFakeHost } from '../src/fake-host.js';
import { createSdNotify, formatNotify, monotonicUsec, parseNotify, watchdogUsec, withoutSystemdEnv } from '../src/sd-notify.js';

// The queue and the protocol through the fake host; test/systemd.test.ts sends to a real socket.

function notifier(env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/n.sock', PATH: '/bin' }) {
  const host = createFakeHost({ pid: 42 });
  const errors: string[] = [];
  const n = createSdNotify({ env, host, onError: (m) => errors.push(m) });
  return { host, n: n!, errors, args: () => host.spawns.map((s) => s.spec.args.join(' ')) };
}

describe('createSdNotify', () => {
  it('is off without NOTIFY_SOCKET', () => {
    expect(createSdNotify({ env: {}, host: createFakeHost(), onError: () => undefined })).toBeUndefined();
  });

  it('runs systemd-notify --pid=<us> with only PATH and NOTIFY_SOCKET, one message at a time, in order', () => {
    const { host, n, args } = notifier();
    n.send({ READY: 1, STATUS: 'gen 1' });
    n.send({ RELOADING: 1, MONOTONIC_USEC: 5 });
    n.send({ STATUS: 'a' });
    n.send({ STATUS: 'b' });
    expect(args()).toEqual(['--pid=42 READY=1 STATUS=gen 1']);
    expect(host.spawns[0]!.spec).toMatchObject({ file: 'systemd-notify', env: { PATH: '/bin', NOTIFY_SOCKET: '/run/n.sock' } });
    host.spawns[0]!.exit(0);
    host.spawns[1]!.exit(0);
    expect(args().slice(1)).toEqual(['--pid=42 RELOADING=1 MONOTONIC_USEC=5', '--pid=42 STATUS=b']);
  });

  it('says once that systemd-notify is missing, then sends nothing', () => {
    const { host, n, errors } = notifier();
    host.failNextSpawn(new Error('spawn systemd-notify ENOENT'));
    n.send({ READY: 1 });
    n.send({ STATUS: 'x' });
    expect(errors).toEqual(['cannot run systemd-notify (spawn systemd-notify ENOENT): NOTIFY_SOCKET is set but nothing will be sent to systemd']);
    expect(host.spawns).toHaveLength(1);
  });

  it('WATCHDOG=1 every WATCHDOG_USEC/2, only for the pid the manager named', () => {
    const { host, n, args } = notifier({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '2000000', WATCHDOG_PID: '42' });
    const stop = n.startWatchdog();
    host.advance(1000);
    expect(args()).toEqual(['--pid=42 WATCHDOG=1']);
    stop();
    expect(host.intervalCount()).toBe(0);
    expect(watchdogUsec({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '7' }, 42)).toBeUndefined();
    expect(watchdogUsec({ WATCHDOG_USEC: '2000000' }, 42)).toBe(2_000_000);
    expect(watchdogUsec({}, 42)).toBeUndefined();
  });

  it('formats, parses and cleans the protocol', () => {
    expect(formatNotify({ READY: 1, STATUS: 'a\nb' })).toBe('READY=1\nSTATUS=a b');
    expect(parseNotify('READY=1\nSTATUS=up=yes\r\njunk\n')).toEqual({ READY: '1', STATUS: 'up=yes' });
    expect(withoutSystemdEnv({ A: '1', NOTIFY_SOCKET: 'x', LISTEN_FDS: '1', LISTEN_PID: '2', LISTEN_FDNAMES: 'a', WATCHDOG_USEC: '1', WATCHDOG_PID: '1' })).toEqual({ A: '1' });
    expect(monotonicUsec()).toBeGreaterThan(0n);
  });
});
