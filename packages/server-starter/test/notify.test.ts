import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createFakeHost, createLogger, type FakeHost } from '@baton/process-kit';
import { parseArgv } from '../src/argv.js';
import { renderNotifyStatus } from '../src/notify.js';
import { resolveOptions } from '../src/options.js';
import { initialState } from '../src/state.js';
import { startServer } from '../src/supervisor.js';

// What start-server tells systemd, through the fake host: every systemd-notify it runs is played
// by the test (exits 0 at once), so the messages can be read in order.

function boot(env: NodeJS.ProcessEnv) {
  const host = createFakeHost({ pid: 500, now: 0 });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const { options: raw, command } = parseArgv(['--interval=1', '--', 'app']);
  void startServer(resolveOptions(raw, command), { logger: createLogger({ tag: 't', level: 'debug', stream: sink }), env, processHost: host });
  const sent = () => {
    for (let live = notifying(); live.length > 0; live = notifying()) for (const s of live) s.exit(0);
    return host.spawns.filter((s) => s.spec.file === 'systemd-notify').map((s) => s.spec.args.slice(1).join(' '));
  };
  const notifying = () => host.liveChildren().filter((s) => s.spec.file === 'systemd-notify');
  const gens = () => host.spawns.filter((s) => s.spec.file === 'app');
  return { host, sent, gens };
}

describe('start-server and systemd (NOTIFY_SOCKET)', () => {
  it('READY=1 at acceptance, RELOADING=1 … READY=1 around a HUP, STOPPING=1; generations see none of it', () => {
    const { host, sent, gens } = boot({ PATH: '/bin', NOTIFY_SOCKET: '/run/n', WATCHDOG_USEC: '10000000', LISTEN_FDS: '1', LISTEN_PID: '7' });
    expect(gens()[0]!.spec.env).not.toHaveProperty('NOTIFY_SOCKET');
    expect(gens()[0]!.spec.env).not.toHaveProperty('WATCHDOG_USEC');
    expect(gens()[0]!.spec.env).not.toHaveProperty('LISTEN_FDS');
    expect(host.spawns[1]!.spec).toMatchObject({ file: 'systemd-notify', args: ['--pid=500', 'STATUS=no generation serving; gen 1 spawning'] });
    host.advance(1000);
    expect(sent().at(-1)).toBe('READY=1 STATUS=gen 1 (pid 1000) serving');
    host.raise('SIGHUP');
    expect(sent().slice(-2)).toEqual([
      expect.stringMatching(/^RELOADING=1 MONOTONIC_USEC=\d+ STATUS=gen 1 \(pid 1000\) serving; gen 2 spawning$/),
      expect.stringMatching(/^STATUS=gen 1 \(pid 1000\) serving; gen 2 \(pid \d+\) starting$/),
    ]);
    host.advance(1000);
    expect(sent().at(-1)).toMatch(/^READY=1 STATUS=gen 2 \(pid \d+\) serving; 1 old leaving$/);
    gens()[0]!.exit(0);
    host.advance(5000);
    expect(sent().slice(-2)).toEqual([expect.stringMatching(/^STATUS=gen 2 \(pid \d+\) serving$/), 'WATCHDOG=1']);
    host.raise('SIGTERM');
    expect(sent().at(-1)).toBe('STOPPING=1 STATUS=stopping: waiting for 1 worker(s)');
  });

  it('a reload whose new generation fails to start: READY=1 again, the old one serving, retrying', () => {
    const { host, sent, gens } = boot({ PATH: '/bin', NOTIFY_SOCKET: '/run/n' });
    host.advance(1000);
    host.raise('SIGHUP');
    gens()[1]!.exit(3);
    expect(sent().at(-1)).toBe('READY=1 STATUS=gen 1 (pid 1000) serving; gen 2 failed to start, retrying');
  });

  it('renders the status line of every phase', () => {
    const s = initialState();
    expect(renderNotifyStatus({ ...s, phase: 'running', spawning: 1, lastGeneration: 1 })).toBe('no generation serving; gen 1 spawning');
    expect(renderNotifyStatus({ ...s, phase: 'stopping', gens: [{ generation: 1, pid: 9, role: 'current', startedAt: 0 }] })).toBe('stopping: waiting for 1 worker(s)');
  });
});
