import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.js';
import { slow } from './helpers/slowness.js';
import { ask, parseReply, startServerProcess } from './helpers/start-server.js';
import { ROOT } from './helpers/spawn.js';

// The readiness gate (--ready-notify, here through its env twin START_SERVER_READY_NOTIFY=1):
// a generation is accepted when it writes READY=1 to the fd in SERVER_STARTER_NOTIFY_FD, not
// after --interval; one that stays silent past --ready-timeout is a failed start.

const APP = `${ROOT}test/fixtures/systemd-ready-app.mjs`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-ready-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('start-server --ready-notify', () => {
  it('retires the old generation only once the new one reported READY=1, however long past --interval', async () => {
    const port = await freePort();
    const readyFile = join(dir, 'go');
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, '--interval=0.05'], ['node', APP], {
      env: { START_SERVER_READY_NOTIFY: '1', READY_FILE: readyFile },
    });
    writeFileSync(readyFile, '');
    const [, pid1] = (await ss.waitForLine(/worker (\d+) \(generation 1\) reported READY=1/))!;
    await ss.waitForLine(/new worker is now running, sending TERM to old workers:none/);
    rmSync(readyFile);

    ss.kill('SIGHUP');
    const [, pid2] = (await ss.waitForLine(/listening (\d+) 2/))!;
    // Generation 2 looks for its go-ahead every 50 ms: after four looks (4× --interval) it is
    // still not accepted, and generation 1 was never signalled (both accept on the socket meanwhile).
    const from = ss.output.indexOf(`listening ${pid2} 2`);
    await ss.waitForLine(new RegExp(`(not ready yet ${pid2}[^]*){4}`), { from });
    expect(ss.output).not.toMatch(/sending TERM to old workers:\d/);
    expect(() => process.kill(Number(pid1), 0)).not.toThrow();

    writeFileSync(readyFile, '');
    await ss.waitForLine(new RegExp(`worker ${pid2} \\(generation 2\\) reported READY=1`));
    await ss.waitForLine(new RegExp(`new worker is now running, sending TERM to old workers:${pid1}`));
    await ss.waitForLine(new RegExp(`old worker ${pid1} died, status:0`));
    expect(parseReply(await ask(port))).toMatchObject({ pid: Number(pid2), generation: 2 });
    ss.kill('SIGTERM');
    expect(await ss.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('--ready-timeout: a generation that never reports is stopped as a failed start; the serving one keeps serving', async () => {
    const port = await freePort();
    const neverFile = join(dir, 'never');
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, '--interval=0.05', '--max-retry-delay=60'], ['sh', '-c', `if [ -e ${neverFile} ]; then NEVER_READY=1 exec node ${APP}; else exec node ${APP}; fi`], {
      env: { START_SERVER_READY_NOTIFY: '1', START_SERVER_READY_TIMEOUT: String(slow(1500) / 1000) },
    });
    const [, pid1] = (await ss.waitForLine(/worker (\d+) \(generation 1\) reported READY=1/))!;
    writeFileSync(neverFile, '');
    ss.kill('SIGHUP');
    const [, pid2] = (await ss.waitForLine(/listening (\d+) 2/))!;
    await ss.waitForLine(new RegExp(`worker ${pid2} \\(generation 2\\) did not report READY=1 within [\\d.]+s \\(--ready-timeout\\); sending TERM`), { timeoutMs: slow(10_000) });
    await ss.waitForLine(new RegExp(`new worker ${pid2} seems to have failed to start`));
    await ss.waitForLine(/retrying in [\d.]+s \(failure 1 in a row\); worker \d+ \(generation 1\) keeps serving/);
    expect(ss.output).not.toMatch(/sending TERM to old workers:\d/);
    expect(parseReply(await ask(port))).toMatchObject({ pid: Number(pid1), generation: 1 });
    ss.kill('SIGTERM');
    expect(await ss.waitForExit()).toEqual({ code: 0, signal: null });
  });
});
