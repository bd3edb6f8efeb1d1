import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.js';
import { slow } from './helpers/slowness.js';
import { ask, ECHO, parseReply } from './helpers/start-server.js';
import { BIN, spawnTracked } from './helpers/spawn.js';
import { notifySocket, type Notification } from './helpers/notify-socket.js';
import { pollUntil } from './helpers/wait.js';

// start-server under a real notify socket (a unix datagram socket read by a small python3
// process, since Node cannot read one) and Debian's systemd-socket-activate, which execs
// start-server with the listening socket on fd 3 and LISTEN_FDS/LISTEN_PID set.


/** Why a tool is missing here, or undefined when it runs ('.ci/run' installs Debian's `systemd` and `python3`). */
function missing(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error ? `${cmd} is not installed (Debian package ${cmd === 'python3' ? 'python3' : 'systemd'})` : undefined;
}
const skipWhy = missing('systemd-socket-activate', ['--version']) ?? missing('systemd-notify', ['--version']) ?? missing('python3', ['--version']);
if (skipWhy) console.warn(`test/systemd.test.ts skipped: ${skipWhy}`);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-sd-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});


/** Index of the first message after `from` that has `key=value`, or -1. */
const indexOf = (ms: Notification[], key: string, value: string, from = 0) => ms.findIndex((m, i) => i >= from && m.fields[key] === value);

describe.skipIf(skipWhy !== undefined)('start-server under systemd', () => {
  it('socket activation + notify socket: READY=1, HUP with RELOADING=1 then READY=1 and no refused connection, STOPPING=1', async () => {
    const port = await freePort();
    const sd = await notifySocket(dir);
    const ss = spawnTracked(
      'systemd-socket-activate',
      ['-E', 'NOTIFY_SOCKET', '-E', 'BATON_LOG_LEVEL', '-l', `127.0.0.1:${port}`, process.execPath, BIN.startServer, `--interval=${slow(300) / 1000}`, '--', 'node', ECHO],
      { env: { NOTIFY_SOCKET: sd.path }, label: 'systemd-socket-activate start-server' },
    );
    await ss.waitForLine(/Listening on/);
    // systemd-socket-activate execs start-server on the first connection: it is served by generation 1.
    expect(parseReply(await ask(port, 'first', { timeoutMs: slow(10_000) }))).toMatchObject({ generation: 1, data: 'first' });
    await ss.waitForLine(/using the 1 socket\(s\) systemd passed \(LISTEN_FDS\): 127\.0\.0\.1:\d+=3/);
    await pollUntil(() => indexOf(sd.messages(), 'READY', '1') >= 0, { what: 'READY=1', timeoutMs: slow(10_000) });
    const ready = sd.messages()[indexOf(sd.messages(), 'READY', '1')]!;
    // As root, --pid= makes the credentials name start-server; otherwise they name systemd-notify
    // itself (hence NotifyAccess=all in the unit files).
    if (process.getuid?.() === 0) expect(ready.pid).toBe(ss.pid);
    else expect(ready.pid).not.toBe(ss.pid);
    expect(ready.fields).toMatchObject({ MAINPID: String(ss.pid), STATUS: expect.stringMatching(/^gen 1 \(pid \d+\) serving$/) });

    // HUP while a client keeps connecting: every connection is answered, by 1 then by 2.
    const answered: number[] = [];
    const failures: string[] = [];
    let hammering = true;
    const hammer = (async () => {
      while (hammering) {
        try {
          answered.push(parseReply(await ask(port, 'x', { timeoutMs: slow(5000) })).generation);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    ss.kill('SIGHUP');
    await pollUntil(() => answered.includes(2), { what: 'generation 2 to answer', timeoutMs: slow(15_000) });
    await ss.waitForLine(/old worker \d+ died/, { timeoutMs: slow(10_000) });
    hammering = false;
    await hammer;
    expect(failures).toEqual([]);
    // Messages leave one systemd-notify at a time: wait for the READY=1 that ends the reload.
    const readyAgain = await pollUntil(() => {
      const i = indexOf(sd.messages(), 'READY', '1', indexOf(sd.messages(), 'RELOADING', '1') + 1);
      return i > 0 ? i : undefined;
    }, { what: 'READY=1 after RELOADING=1', timeoutMs: slow(10_000) });
    const ms = sd.messages();
    const reloading = indexOf(ms, 'RELOADING', '1');
    expect(reloading).toBeGreaterThan(indexOf(ms, 'READY', '1'));
    expect(ms[reloading]!.fields.MONOTONIC_USEC).toMatch(/^\d+$/);
    // MONOTONIC_USEC is CLOCK_MONOTONIC (/proc/uptime counts the same clock, give or take suspend).
    const uptimeUs = Number(spawnSync('cat', ['/proc/uptime']).stdout.toString().split(' ')[0]) * 1e6;
    expect(Math.abs(Number(ms[reloading]!.fields.MONOTONIC_USEC) - uptimeUs)).toBeLessThan(60e6);
    expect(readyAgain).toBeGreaterThan(reloading);
    expect(ms[readyAgain]!.fields.STATUS).toMatch(/^gen 2 \(pid \d+\) serving/);

    ss.kill('SIGTERM');
    expect(await ss.waitForExit({ timeoutMs: slow(10_000) })).toEqual({ code: 0, signal: null });
    await pollUntil(() => indexOf(sd.messages(), 'STOPPING', '1') > readyAgain, { what: 'STOPPING=1', timeoutMs: slow(5000) });
    sd.reader.kill('SIGTERM');
  });

  it('WATCHDOG=1 every WATCHDOG_USEC/2, and the generation sees none of NOTIFY_SOCKET, WATCHDOG_* or LISTEN_*', async () => {
    const port = await freePort();
    const sd = await notifySocket(dir);
    const envOut = join(dir, 'env.json');
    const ss = spawnTracked(
      'systemd-socket-activate',
      ['-E', 'NOTIFY_SOCKET', '-E', 'WATCHDOG_USEC', '-E', 'ENV_OUT', '-l', `127.0.0.1:${port}`, '--fdname=web', process.execPath, BIN.startServer, '--interval=0.1', '--',
        process.execPath, '-e', "require('fs').writeFileSync(process.env.ENV_OUT, JSON.stringify(process.env)); setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0))"],
      { env: { NOTIFY_SOCKET: sd.path, WATCHDOG_USEC: '400000', ENV_OUT: envOut }, label: 'start-server with a watchdog' },
    );
    await ss.waitForLine(/Listening on/);
    // The first connection makes it exec start-server (nobody answers it: this generation only sleeps).
    await ask(port, 'wake', { timeoutMs: 300 }).catch(() => undefined);
    await pollUntil(() => sd.messages().filter((m) => m.fields.WATCHDOG === '1').length >= 3, { what: '3 WATCHDOG=1', timeoutMs: slow(10_000) });
    const env = await pollUntil(() => {
      try {
        return JSON.parse(spawnSync('cat', [envOut]).stdout.toString()) as Record<string, string>;
      } catch {
        return undefined;
      }
    }, { what: 'the generation environment' });
    for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) expect(env[k]).toBeUndefined();
    expect(env.SERVER_STARTER_PORT).toBe(`127.0.0.1:${port}=3`);
    ss.kill('SIGTERM');
    expect(await ss.waitForExit({ timeoutMs: slow(10_000) })).toEqual({ code: 0, signal: null });
    sd.reader.kill('SIGTERM');
  });
});
