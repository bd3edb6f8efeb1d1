import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.js';
import { slow } from './helpers/slowness.js';
import { get } from 'node:http';
import { BIN, ROOT, spawnTracked, type Spawned } from './helpers/spawn.js';
import { notifySocket, type NotifySocket } from './helpers/notify-socket.js';

const fieldsOf = (sd: NotifySocket) => sd.messages().map((m) => m.fields);
import { pollUntil } from './helpers/wait.js';

// The unit files of examples/systemd, run as far as a machine without systemd as PID 1 allows:
// the exact ExecStart line (only /srv/app, the port and the bin paths replaced) with the unit's
// Environment= lines, a real notify socket (python3 reader) and, for the .socket unit, Debian's
// systemd-socket-activate with the socket's ListenStream and FileDescriptorName. ExecReload is
// `kill -HUP $MAINPID`; the stop is the TERM that KillMode=mixed sends to the main process only.

const UNITS = `${ROOT}examples/systemd/`;

function missing(cmd: string): string | undefined {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error ? `${cmd} is not installed (Debian package ${cmd === 'python3' ? 'python3' : 'systemd'})` : undefined;
}
const skipWhy = missing('systemd-socket-activate') ?? missing('systemd-notify') ?? missing('python3');
if (skipWhy) console.warn(`test/systemd-units.test.ts skipped: ${skipWhy}`);

/** `[Section] Key=value` lines of a unit file (repeated keys in order). */
function readUnit(name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of readFileSync(`${UNITS}${name}`, 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

/** The ExecStart words with the install paths replaced by this checkout's. */
function execStart(unit: Map<string, string[]>, port: number): string[] {
  return unit
    .get('ExecStart')![0]!
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)
    .split(/\s+/)
    .flatMap((w) => (w === '/srv/app/node_modules/.bin/start-server' ? [process.execPath, BIN.startServer] : w === '/usr/bin/node' ? [process.execPath] : [w]));
}

const unitEnv = (unit: Map<string, string[]>) => Object.fromEntries((unit.get('Environment') ?? []).map((e) => e.split('=', 2) as [string, string]));

/** One HTTP GET on a fresh connection: the body. */
function httpGet(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer on ${port} within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-units-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});


/** READY=1, then `systemctl reload` (HUP): RELOADING=1 and READY=1 for generation 2, then `systemctl stop`: STOPPING=1, exit 0. */
async function lifecycle(ss: Spawned, sd: NotifySocket, port: number): Promise<void> {
  await pollUntil(() => fieldsOf(sd).some((f) => f.READY === '1'), { what: 'READY=1', timeoutMs: slow(15_000) });
  expect(await httpGet(port, slow(5000))).toMatch(/generation 1/);
  ss.kill('SIGHUP');
  await pollUntil(() => fieldsOf(sd).filter((f) => f.READY === '1').length === 2, { what: 'READY=1 after the reload', timeoutMs: slow(15_000) });
  const reloading = fieldsOf(sd).findIndex((f) => f.RELOADING === '1');
  expect(reloading).toBeGreaterThan(0);
  expect(fieldsOf(sd)[reloading]!.MONOTONIC_USEC).toMatch(/^\d+$/);
  await ss.waitForLine(/worker \d+ \(generation 2\) reported READY=1/);
  expect(await httpGet(port, slow(5000))).toMatch(/generation [12]/);
  await pollUntil(() => fieldsOf(sd).some((f) => f.WATCHDOG === '1'), { what: 'WATCHDOG=1', timeoutMs: slow(10_000) });
  ss.kill('SIGTERM');
  expect(await ss.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
  await pollUntil(() => fieldsOf(sd).some((f) => f.STOPPING === '1'), { what: 'STOPPING=1' });
  sd.reader.kill('SIGTERM');
}

describe.skipIf(skipWhy !== undefined)('examples/systemd unit files, run', () => {
  it('web.service: Type=notify, reload by HUP, stop by TERM', async () => {
    const unit = readUnit('web.service');
    expect(unit.get('Type')).toEqual(['notify']);
    expect(unit.get('NotifyAccess')).toEqual(['all']);
    expect(unit.get('KillMode')).toEqual(['mixed']);
    const port = await freePort();
    const sd = await notifySocket(dir);
    const [cmd, ...args] = execStart(unit, port);
    const ss = spawnTracked(cmd!, args, {
      cwd: UNITS,
      env: { ...unitEnv(unit), NOTIFY_SOCKET: sd.path, WATCHDOG_USEC: String(Number(unit.get('WatchdogSec')![0]) * 1e6 / 30) },
      label: 'web.service ExecStart',
    });
    await lifecycle(ss, sd, port);
  });

  it('web-activated.socket + web-activated.service: the socket from systemd-socket-activate, named by FileDescriptorName', async () => {
    const socket = readUnit('web-activated.socket');
    const unit = readUnit('web-activated.service');
    const port = await freePort();
    const sd = await notifySocket(dir);
    const listen = socket.get('ListenStream')![0]!.replace('127.0.0.1:8080', `127.0.0.1:${port}`);
    const env = { ...unitEnv(unit), NOTIFY_SOCKET: sd.path, WATCHDOG_USEC: '1000000' };
    const ss = spawnTracked(
      'systemd-socket-activate',
      [...Object.keys(env).flatMap((k) => ['-E', k]), '-l', listen, `--fdname=${socket.get('FileDescriptorName')![0]}`, ...execStart(unit, port)],
      { cwd: UNITS, env, label: 'web-activated ExecStart under systemd-socket-activate' },
    );
    await ss.waitForLine(/Listening on/);
    // systemd starts the service on the first connection; it is answered once generation 1 listens.
    expect(await httpGet(port, slow(15_000))).toMatch(/generation 1/);
    await ss.waitForLine(new RegExp(`using the 1 socket\\(s\\) systemd passed \\(LISTEN_FDS\\): 127\\.0\\.0\\.1:${port}=3`));
    await lifecycle(ss, sd, port);
  });
});
