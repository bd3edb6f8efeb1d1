import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.js';
import { ask, ECHO, parseReply, readText, startServerProcess } from './helpers/start-server.js';
import { BIN, ROOT, spawnNode } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pidAlive, pollUntil, waitForPidExit } from './helpers/wait.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-ss-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * `--interval` stretched by the measured slowness: a generation must print its `ready` line (node
 * start-up, 100 ms idle, 400 ms on a loaded 2-core host) inside the check, or the ordering these
 * tests assert does not hold.
 */
const intervalMs = (s: number) => slow(s * 1000);
const interval = (s: number) => `--interval=${intervalMs(s) / 1000}`;
const secs = (ms: number) => String(ms / 1000).replace('.', '\\.');

const files = () => ({ pid: join(dir, 'ss.pid'), status: join(dir, 'ss.status'), signals: join(dir, 'signals.log'), envdir: join(dir, 'env') });

describe('start-server', () => {
  it('HUP rolls a generation: the new one serves, the old one gets --signal-on-hup only after the new one is up', async () => {
    const port = await freePort();
    const f = files();
    const ss = startServerProcess(
      [`--port=127.0.0.1:${port}`, interval(0.3), `--status-file=${f.status}`, `--pid-file=${f.pid}`, '--signal-on-hup=USR1'],
      ['node', ECHO],
      { env: { SIGNAL_LOG: f.signals, EXTRA: 'x' } },
    );
    const [, pid1] = (await ss.waitForLine(/ready (\d+) 1/))!;
    await pollUntil(() => readText(f.status) === `1:${pid1}\n`, { what: 'status 1:pid' });
    expect(readText(f.pid)).toBe(`${ss.pid}\n`);
    expect(parseReply(await ask(port))).toMatchObject({ pid: Number(pid1), generation: 1 });

    ss.kill('SIGHUP');
    const [, pid2] = (await ss.waitForLine(/ready (\d+) 2/))!;
    await ss.waitForLine(new RegExp(`new worker is now running, sending USR1 to old workers:${pid1}`));
    // The new generation was up before the old one was signalled.
    const out = ss.output;
    expect(out.indexOf(`ready ${pid2} 2`)).toBeLessThan(out.indexOf(`sending USR1 to old workers:${pid1}`));
    await pollUntil(() => readText(f.signals) === `${pid1}:1:SIGUSR1\n`, { what: 'generation 1 to record USR1' });
    await pollUntil(() => readText(f.status) === `1:${pid1}\n2:${pid2}\n`, { what: 'status lists both until the old one exits' });
    expect(parseReply(await ask(port)).generation).toBeGreaterThanOrEqual(1);
    // USR1 does not stop the fixture: stop it the way an operator would, then only gen 2 is listed.
    process.kill(Number(pid1), 'SIGTERM');
    await ss.waitForLine(new RegExp(`old worker ${pid1} died, status:0`));
    expect(readText(f.status)).toBe(`2:${pid2}\n`);
    expect(parseReply(await ask(port))).toMatchObject({ pid: Number(pid2), generation: 2 });

    ss.kill('SIGTERM');
    expect(await ss.waitForExit()).toEqual({ code: 0, signal: null });
    expect(existsSync(f.pid)).toBe(false);
    expect(existsSync(f.status)).toBe(false);
  });

  it('a new generation that exits at once leaves the old one serving, says why, and is retried with a growing delay', async () => {
    const port = await freePort();
    const f = files();
    mkdirSync(f.envdir);
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, interval(0.2), `--status-file=${f.status}`, `--envdir=${f.envdir}`], ['node', ECHO]);
    const [, pid1] = (await ss.waitForLine(/ready (\d+) 1/))!;
    await pollUntil(() => readText(f.status) === `1:${pid1}\n`);
    writeFileSync(join(f.envdir, 'FAIL'), '1\n'); // envdir is re-read for every generation
    ss.kill('SIGHUP');
    await ss.waitForLine(/new worker \d+ seems to have failed to start, exit status:768 \(exit code 3\)/);
    await ss.waitForLine(new RegExp(`retrying in ${secs(intervalMs(0.2))}s \\(failure 1 in a row\\); worker \\d+ \\(generation 1\\) keeps serving`));
    await ss.waitForLine(new RegExp(`retrying in ${secs(2 * intervalMs(0.2))}s \\(failure 2 in a row\\)`), { timeoutMs: slow(10_000) });
    // Meanwhile generation 1 serves and was never signalled.
    expect(parseReply(await ask(port))).toMatchObject({ pid: Number(pid1), generation: 1 });
    expect(readText(f.status)).toBe(`1:${pid1}\n`);
    expect(ss.output).not.toMatch(/killing old workers/);
    // Fix the deploy: the next attempt succeeds and replaces generation 1.
    rmSync(join(f.envdir, 'FAIL'));
    const [, pidN, genN] = (await ss.waitForLine(/ready (\d+) (\d+)/, { from: ss.output.indexOf('failure 2'), timeoutMs: slow(15_000) }))!;
    expect(Number(genN)).toBeGreaterThanOrEqual(4);
    await ss.waitForLine(new RegExp(`old worker ${pid1} died`));
    expect(parseReply(await ask(port))).toMatchObject({ pid: Number(pidN), generation: Number(genN) });
    expect((await ss.stop()).code).toBe(0);
  });

  it('several HUPs in a row end with exactly one live newest generation, each checked for the full interval', async () => {
    const port = await freePort();
    const f = files();
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, '--interval=0.5', `--status-file=${f.status}`], ['node', ECHO]);
    await ss.waitForLine(/ready \d+ 1/);
    await pollUntil(() => readText(f.status).startsWith('1:'));
    ss.kill('SIGHUP');
    await ss.waitForLine(/starting new worker \d+ \(generation 2\)/);
    // More HUPs while generation 2 is under check (one at a time: the kernel merges a burst).
    for (let i = 1; i <= 3; i++) {
      ss.kill('SIGHUP');
      await pollUntil(() => ss.count(/received HUP while generation 2 is being checked/) === i, { what: `HUP ${i} to be logged` });
    }
    // None of them cut generation 2's check short: it is accepted a full interval after its start.
    const startedAt = Date.parse(ss.output.match(/^(\S+) .*starting new worker \d+ \(generation 2\)/m)![1]!);
    await ss.waitForLine(/new worker is now running, sending TERM to old workers:\d+\n/, { from: ss.output.indexOf('(generation 2)') });
    const acceptedAt = Date.parse(ss.output.slice(ss.output.indexOf('(generation 2)')).match(/\n(\S+) .*new worker is now running/)![1]!);
    expect(acceptedAt - startedAt).toBeGreaterThanOrEqual(490);
    // Gen 2 gets its full interval, then exactly one more restart for the HUPs that came meanwhile.
    const [, pid3] = (await ss.waitForLine(/ready (\d+) 3/, { timeoutMs: 10_000 }))!;
    await pollUntil(() => readText(f.status) === `3:${pid3}\n`, { what: 'only generation 3 left', timeoutMs: 10_000 });
    expect(ss.count(/starting new worker/)).toBe(3);
    const accepted = [...ss.output.matchAll(/new worker is now running/g)].length;
    expect(accepted).toBe(3);
    expect((await ss.stop()).code).toBe(0);
  });

  it('a crashed generation is replaced, and a connection made while nobody accepts is served by the next one', async () => {
    const port = await freePort();
    const f = files();
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, interval(0.3), `--status-file=${f.status}`], ['node', ECHO]);
    const [, pid1] = (await ss.waitForLine(/ready (\d+) 1/))!;
    await ss.waitForLine(/new worker is now running/);
    process.kill(Number(pid1), 'SIGKILL');
    await waitForPidExit(Number(pid1));
    // Nobody accepts now: the connection waits in the backlog start-server holds.
    const reply = ask(port, 'waiting', { timeoutMs: 10_000 });
    await ss.waitForLine(new RegExp(`worker ${pid1} died unexpectedly with status:9 \\(killed by SIGKILL`));
    const r = parseReply(await reply);
    expect(r).toMatchObject({ generation: 2, data: 'waiting' });
    await pollUntil(() => readText(f.status) === `2:${r.pid}\n`);
    expect((await ss.stop()).code).toBe(0);
  });

  it('TERM stops every generation; one that ignores TERM is killed after --term-timeout', async () => {
    const port = await freePort();
    const f = files();
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, interval(0.2), '--term-timeout=1', `--pid-file=${f.pid}`], ['node', ECHO], {
      env: { IGNORE_TERM: '1', SIGNAL_LOG: f.signals },
    });
    const [, pid1] = (await ss.waitForLine(/ready (\d+) 1/))!;
    await ss.waitForLine(/new worker is now running/);
    ss.kill('SIGHUP');
    const [, pid2] = (await ss.waitForLine(/ready (\d+) 2/))!;
    await ss.waitForLine(/killing old workers/);
    ss.kill('SIGTERM');
    await ss.waitForLine(/received TERM, sending TERM to all workers:\d+,\d+/);
    await ss.waitForLine(/still alive 1s after the stop signal: sending SIGKILL to/);
    expect(await ss.waitForExit()).toEqual({ code: 0, signal: null });
    expect(pidAlive(Number(pid1))).toBe(false);
    expect(pidAlive(Number(pid2))).toBe(false);
    expect(readText(f.signals)).toMatch(new RegExp(`${pid2}:2:SIGTERM`));
    expect(existsSync(f.pid)).toBe(false);
  });

  it('a second start-server on the same pid file refuses and leaves the running one alone', async () => {
    const [port, port2] = [await freePort(), await freePort()];
    const f = files();
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, interval(0.2), `--pid-file=${f.pid}`, `--status-file=${f.status}`], ['node', ECHO]);
    await ss.waitForLine(/new worker is now running/);
    const status = readText(f.status);
    const second = startServerProcess([`--port=127.0.0.1:${port2}`, `--pid-file=${f.pid}`, `--status-file=${f.status}`], ['node', ECHO]);
    expect((await second.waitForExit()).code).toBe(1);
    expect(second.output).toMatch(new RegExp(`start-server is already running with pid ${ss.pid} \\(pid file .*\\); refusing to start`));
    expect(second.output).not.toMatch(/starting new worker/);
    expect(readText(f.pid)).toBe(`${ss.pid}\n`);
    expect(readText(f.status)).toBe(status);
    expect((await ss.stop()).code).toBe(0);
  });

  it('a stale pid file (dead pid, or a pid that is not a start-server) is replaced', async () => {
    const port = await freePort();
    const f = files();
    writeFileSync(f.pid, `${process.pid}\n`); // alive, but the test runner, not a start-server
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, interval(0.2), `--pid-file=${f.pid}`], ['node', ECHO]);
    await ss.waitForLine(/new worker is now running/);
    expect(readText(f.pid)).toBe(`${ss.pid}\n`);
    expect((await ss.stop()).code).toBe(0);
  });

  it('--restart waits for a newer generation even when a failed attempt skipped a number; --stop stops it', async () => {
    const port = await freePort();
    const f = files();
    const failOnce = join(dir, 'fail-once');
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, interval(0.3), `--pid-file=${f.pid}`, `--status-file=${f.status}`], ['node', ECHO], {
      env: { FAIL_ONCE_FILE: failOnce },
    });
    await ss.waitForLine(/new worker is now running/);
    writeFileSync(failOnce, ''); // generation 2 fails, generation 3 comes up
    const restart = spawnNode(BIN.startServer, ['--restart', `--pid-file=${f.pid}`, `--status-file=${f.status}`]);
    expect((await restart.waitForExit({ timeoutMs: 15_000 })).code).toBe(0);
    expect(restart.output).toMatch(/restart done: generation 3 \(pid \d+\) is the only one running/);
    expect(ss.output).toMatch(/seems to have failed to start/);
    expect(readText(f.status)).toMatch(/^3:\d+\n$/);

    const stop = spawnNode(BIN.startServer, ['--stop', `--pid-file=${f.pid}`]);
    expect((await stop.waitForExit()).code).toBe(0);
    expect(stop.output).toMatch(new RegExp(`stopping now \\(pid:${ss.pid}\\)`));
    expect(await ss.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('--restart and --stop refuse to signal a pid that is not a live start-server', async () => {
    const f = files();
    writeFileSync(f.pid, `${process.pid}\n`);
    writeFileSync(f.status, '1:1\n');
    const stop = spawnNode(BIN.startServer, ['--stop', `--pid-file=${f.pid}`]);
    expect((await stop.waitForExit()).code).toBe(1);
    expect(stop.output).toMatch(new RegExp(`names pid ${process.pid}, which is not a start-server; refusing to signal it`));
    const restart = spawnNode(BIN.startServer, ['--restart', `--pid-file=${f.pid}`, `--status-file=${f.status}`]);
    expect((await restart.waitForExit()).code).toBe(1);
    expect(restart.output).toMatch(/not a start-server; refusing/);
  });

  it('serves a unix socket (--path) across a HUP and removes the socket file on exit', async () => {
    const sock = join(dir, 'app.sock');
    writeFileSync(join(dir, 'placeholder'), '');
    const ss = startServerProcess([`--path=${sock}`, interval(0.2)], ['node', ECHO]);
    const [, pid1] = (await ss.waitForLine(/ready (\d+) 1/))!;
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o777);
    expect(parseReply(await ask(sock))).toMatchObject({ pid: Number(pid1), generation: 1 });
    await ss.waitForLine(/new worker is now running/);
    ss.kill('SIGHUP');
    await ss.waitForLine(new RegExp(`old worker ${pid1} died`));
    expect(parseReply(await ask(sock)).generation).toBe(2);
    expect((await ss.stop()).code).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });

  it('announces SERVER_STARTER_PORT in Server::Starter format with fds in order, ports then paths, =fd pinned', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const sock = join(dir, 's.sock');
    const envOut = join(dir, 'env.json');
    const script = `require('fs').writeFileSync(${JSON.stringify(envOut)}, JSON.stringify({port: process.env.SERVER_STARTER_PORT, gen: process.env.SERVER_STARTER_GENERATION, pid: process.env.SERVER_STARTER_PID, fds: require('fs').readdirSync('/proc/self/fd')})); setInterval(()=>{}, 1000); process.on('SIGTERM', () => process.exit(0)); console.error('ready')`;
    const ss = startServerProcess([`--path=${sock}`, `--port=127.0.0.1:${p1}`, `--port=${p2}=7`, interval(0.2)], ['node', '-e', script]);
    await ss.waitForLine(/ready/);
    const env = await pollUntil(() => (existsSync(envOut) ? JSON.parse(readFileSync(envOut, 'utf8')) : undefined));
    expect(env.port).toBe(`127.0.0.1:${p1}=3;${p2}=7;${sock}=4`);
    expect(env.gen).toBe('1');
    expect(env.pid).toBe(String(ss.pid));
    expect(env.fds).toEqual(expect.arrayContaining(['3', '4', '7']));
    expect((await ss.stop()).code).toBe(0);
  });

  it('usage errors are one clear line and exit code 2; a taken port is exit 3', async () => {
    const bad = spawnNode(BIN.startServer, ['--interval=soon', '--', 'node', ECHO]);
    expect((await bad.waitForExit()).code).toBe(2);
    expect(bad.output).toBe('start-server: Expected the `--interval` option to be a non-negative number of seconds, got `soon`\nTry `start-server --help` for the options.\n');
    const port = await freePort();
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, interval(0.2)], ['node', ECHO]);
    await ss.waitForLine(/ready/);
    const taken = startServerProcess([`--port=127.0.0.1:${port}`], ['node', ECHO]);
    expect((await taken.waitForExit()).code).toBe(3);
    expect(taken.output).toMatch(new RegExp(`failed to listen on --port=127.0.0.1:${port}: EADDRINUSE`));
    expect((await ss.stop()).code).toBe(0);
  });

  it('dying of a signal it does not handle (ALRM) still stops the generations and removes the pid file', async () => {
    const port = await freePort();
    const f = files();
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, interval(0.2), `--pid-file=${f.pid}`], ['node', ECHO]);
    const [, pid1] = (await ss.waitForLine(/ready (\d+) 1/))!;
    ss.kill('SIGALRM');
    expect((await ss.waitForExit()).signal).toBe('SIGALRM');
    await waitForPidExit(Number(pid1));
    expect(existsSync(f.pid)).toBe(false);
  });

  it('--help documents every option, the signals and the environment', async () => {
    const help = spawnNode(BIN.startServer, ['--help']);
    expect((await help.waitForExit()).code).toBe(0);
    for (const word of ['--port', '--path', '--backlog', '--daemonize', '--interval', '--signal-on-hup', '--signal-on-term', '--kill-old-delay', '--status-file', '--pid-file', '--log-file', '--file-mode', '--dir', '--envdir', '--enable-auto-restart', '--auto-restart-interval', '--restart', '--stop', '--term-timeout', 'SERVER_STARTER_PORT', 'SERVER_STARTER_GENERATION', 'HUP', 'TERM']) {
      expect(help.output).toContain(word);
    }
  });

  it('--daemonize returns once the supervisor is up; --log-file gets its log and the workers output', async () => {
    const port = await freePort();
    const f = files();
    const log = join(dir, 'ss.log');
    const d = startServerProcess(['--daemonize', `--log-file=${log}`, `--port=127.0.0.1:${port}`, interval(0.2), `--pid-file=${f.pid}`], ['node', ECHO]);
    expect((await d.waitForExit()).code).toBe(0);
    const pid = Number(readText(f.pid).trim());
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(d.pid);
    await pollUntil(() => /ready \d+ 1/.test(readText(log)), { what: 'worker output in the log file' });
    expect(readText(log)).toMatch(/start_server \(pid:\d+\) starting now/);
    expect(parseReply(await ask(port)).generation).toBe(1);
    const stop = spawnNode(BIN.startServer, ['--stop', `--pid-file=${f.pid}`]);
    expect((await stop.waitForExit()).code).toBe(0);
    await waitForPidExit(pid);
    expect(readText(log)).toMatch(/exiting/);
  });
});

describe('start-server, more sockets and outputs', () => {
  it('passes a UDP socket (u prefix); datagrams sent before a generation reads wait for it', async () => {
    const { createSocket } = await import('node:dgram');
    const port = await freePort();
    const ss = startServerProcess([`--port=127.0.0.1:u${port}`, interval(0.2)], ['node', `${ROOT}test/fixtures/udp-echo.mjs`]);
    const [, address] = (await ss.waitForLine(/ready udp (\S+)/))!;
    expect(address).toBe(`127.0.0.1:${port}`); // Server::Starter's format: no `u` in the variable
    const client = createSocket('udp4');
    const reply = new Promise<string>((resolve) => client.once('message', (m) => resolve(String(m))));
    client.send('hi', port, '127.0.0.1');
    expect(await reply).toBe('1:hi');
    client.close();
    expect(ss.output).not.toMatch(/DeprecationWarning/);
    expect((await ss.stop()).code).toBe(0);
  });

  it('--log-file="| command" pipes start-server and worker output to the command; --dir sets the cwd', async () => {
    const port = await freePort();
    const log = join(dir, 'piped.log');
    const work = join(dir, 'work');
    mkdirSync(work);
    const script = "console.error('cwd=' + process.cwd()); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)";
    const ss = startServerProcess([`--log-file=| cat >> ${log}`, `--dir=${work}`, `--port=127.0.0.1:${port}`, interval(0.2)], ['node', '-e', script]);
    await pollUntil(() => readText(log).includes('new worker is now running'), { what: 'start-server log in the pipe' });
    expect(readText(log)).toContain(`cwd=${work}`);
    expect(ss.output).toBe('');
    expect((await ss.stop()).code).toBe(0);
    await pollUntil(() => readText(log).includes('exiting'), { what: 'the last line to reach the pipe' });
  });
});
