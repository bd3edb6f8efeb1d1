import { chmodSync, existsSync, linkSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.js';
import { ECHO, readText, startServerProcess } from './helpers/start-server.js';
import { BIN, spawnNode } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pidAlive, pollUntil, waitForPidExit } from './helpers/wait.js';

// Issue 10, start-server side: items 11 (closed log pipe), 17 (`--pid-file -- cmd`, spurious
// [error] at hand-off), 21 (log file through a symlink) and 23 (file modes).

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-ssh-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const files = () => ({ pid: join(dir, 'ss.pid'), status: join(dir, 'ss.status'), log: join(dir, 'ss.log') });
const modeOf = (p: string) => statSync(p).mode & 0o777;
/** A generation that prints nothing (so only start-server writes to the closed pipe) and stops on TERM. */
const SILENT = "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)";
const statusPids = (path: string) => [...readText(path).matchAll(/^(\d+):(\d+)$/gm)].map((m) => ({ gen: Number(m[1]), pid: Number(m[2]) }));

describe('start-server: a closed log pipe does not kill the chain (item 11)', () => {
  it('stdout and stderr closed by their reader (`| head -1`): start-server keeps serving, handles HUP and TERM, files stay right', async () => {
    const f = files();
    const ss = startServerProcess(['--interval=0.2', `--status-file=${f.status}`, `--pid-file=${f.pid}`], ['node', '-e', SILENT]);
    await ss.waitForLine(/new worker is now running/);
    const [first] = statusPids(f.status);
    expect(first).toMatchObject({ gen: 1 });
    // The reader goes away, as `head -1` does after its line.
    ss.child.stdout!.destroy();
    ss.child.stderr!.destroy();
    ss.kill('SIGHUP'); // start-server logs at once: the first write after the close fails with EPIPE
    const second = await pollUntil(
      () => {
        const s = statusPids(f.status);
        return s.length === 1 && s[0]!.gen > 1 ? s[0] : undefined;
      },
      { what: 'a newer generation alone in the status file', timeoutMs: 15_000 },
    );
    await waitForPidExit(first!.pid);
    expect(ss.exit).toBeUndefined();
    expect(readText(f.pid)).toBe(`${ss.pid}\n`);
    expect(pidAlive(second.pid)).toBe(true);
    ss.kill('SIGTERM');
    expect(await ss.waitForExit()).toEqual({ code: 0, signal: null });
    await waitForPidExit(second.pid);
    expect(existsSync(f.pid)).toBe(false);
    expect(existsSync(f.status)).toBe(false);
  });

  it('--log-file="| CMD" whose command exits: start-server keeps serving and starts the command again; new generations log into it', async () => {
    const port = await freePort();
    const f = files();
    const cmdPids = join(dir, 'cmd.pids');
    const ss = startServerProcess(
      [`--log-file=| echo $$ >> ${cmdPids}; exec cat >> ${f.log}`, `--port=127.0.0.1:${port}`, '--interval=0.2', `--status-file=${f.status}`, `--pid-file=${f.pid}`],
      ['node', ECHO],
    );
    await pollUntil(() => readText(f.log).includes('new worker is now running'), { what: 'generation 1 accepted, in the piped log' });
    const [, pid1] = await pollUntil(() => readText(f.log).match(/ready (\d+) 1/), { what: 'generation 1 output in the piped log' });
    const cat1 = Number(readText(cmdPids).trim());
    process.kill(cat1, 'SIGTERM');
    await ss.waitForLine(/the --log-file command exited \(killed by SIGTERM \(Termination\)\); start-server keeps serving and starts it again in 0\.2s/);
    const cat2 = await pollUntil(() => readText(cmdPids).trim().split('\n').map(Number)[1], { what: 'the log command to be started again' });
    expect(cat2).not.toBe(cat1);
    await pollUntil(() => readText(f.log).includes(`the --log-file command was started again (pid ${cat2})`), { what: 'the restart line in the new pipe' });
    ss.kill('SIGHUP');
    await pollUntil(() => /ready \d+ 2/.test(readText(f.log)), { what: 'generation 2 output in the new pipe', timeoutMs: 15_000 });
    await pollUntil(() => readText(f.log).includes(`old worker ${pid1} died`), { what: 'generation 1 retired' });
    const [only] = statusPids(f.status);
    expect(only).toMatchObject({ gen: 2 });
    expect(ss.exit).toBeUndefined();
    expect(readText(f.pid)).toBe(`${ss.pid}\n`);
    expect((await ss.stop()).code).toBe(0);
    await waitForPidExit(cat2);
    expect(readText(f.log)).toMatch(/\[info\] \[start-server\] exiting\n$/);
    expect(existsSync(f.pid)).toBe(false);
  });
});

describe('start-server owns the pipe generations write into (item 11 follow-up)', () => {
  it('--log-file="| CMD" killed: a generation writing every few ms keeps running (same pid) and its later lines reach the new command', async () => {
    const f = files();
    const cmdPids = join(dir, 'cmd.pids');
    // Node dies of EPIPE on a pipe without a reader (SIGPIPE is ignored, the write error is not handled).
    const ticker = "let i = 0; process.on('SIGTERM', () => process.exit(0)); setInterval(() => console.log('tick ' + process.pid + ' ' + i++), 3)";
    const ss = startServerProcess(
      [`--log-file=| echo $$ >> ${cmdPids}; exec cat >> ${f.log}`, '--interval=0.2', `--status-file=${f.status}`, `--pid-file=${f.pid}`],
      ['node', '-e', ticker],
    );
    const [, pid1] = await pollUntil(() => readText(f.log).match(/tick (\d+) 5\n/), { what: 'generation 1 ticking into the piped log' });
    await pollUntil(() => readText(f.status) === `1:${pid1}\n`, { what: 'generation 1 accepted' });
    const cat1 = Number(readText(cmdPids).trim());
    process.kill(cat1, 'SIGKILL');
    await ss.waitForLine(/the --log-file command exited \(killed by SIGKILL[^)]*\)\); start-server keeps serving and starts it again in 0\.2s/);
    const cat2 = await pollUntil(() => readText(cmdPids).trim().split('\n').map(Number)[1], { what: 'the log command to be started again' });
    const restarted = `the --log-file command was started again (pid ${cat2})`;
    const after = await pollUntil(
      () => {
        const text = readText(f.log);
        const at = text.indexOf(restarted);
        const later = at < 0 ? [] : [...text.slice(at).matchAll(/^tick (\d+) (\d+)$/gm)];
        return later.length >= 20 ? later : undefined;
      },
      { what: 'ticks of generation 1 after the restart line, in the new command' },
    );
    expect(new Set(after.map((m) => m[1]))).toEqual(new Set([pid1]));
    expect(pidAlive(Number(pid1))).toBe(true);
    expect(readText(f.status)).toBe(`1:${pid1}\n`);
    expect(readText(f.log)).not.toMatch(/died|EPIPE|starting new worker \d+[\s\S]*starting new worker/);
    expect((await ss.stop()).code).toBe(0);
    await waitForPidExit(cat2);
    await waitForPidExit(Number(pid1));
  });
});

describe('start-server: usage (item 17)', () => {
  it.each(['--pid-file', '--status-file', '--log-file', '--dir', '--envdir', '--interval', '--port', '--file-mode'])(
    '`%s -- cmd` is a usage error (exit 2, one line) and creates no file named `--`',
    async (option) => {
      const ss = spawnNode(BIN.startServer, [option, '--', 'node', ECHO], { cwd: dir });
      expect((await ss.waitForExit()).code).toBe(2);
      expect(ss.output).toBe(`start-server: Option \`${option}\` requires a value\nTry \`start-server --help\` for the options.\n`);
      expect(existsSync(join(dir, '--'))).toBe(false);
    },
  );

  it('an old generation that leaves on its own during a hand-off is logged as info, never [error]', async () => {
    const port = await freePort();
    const f = files();
    // Like a resque-starter master: generation 2 tells generation 1 to leave once it is up,
    // before start-server's --interval check of generation 2 has passed.
    const handOff = `
      const gen = process.env.SERVER_STARTER_GENERATION;
      process.on('SIGTERM', () => process.exit(0));
      process.on('SIGUSR2', () => process.exit(0));
      setInterval(() => {}, 1000);
      let text = '';
      try { text = require('fs').readFileSync(${JSON.stringify(f.status)}, 'utf8'); } catch {}
      const prev = text.trim().split('\\n').filter(Boolean).map((l) => Number(l.split(':')[1]));
      for (const pid of prev) process.kill(pid, 'SIGUSR2');
      console.error('up ' + process.pid + ' ' + gen + ' told ' + prev.join(','));`;
    // The check outlasts node's start-up (scaled by the measured slowness), so the hand-off happens during it.
    const ss = startServerProcess([`--port=127.0.0.1:${port}`, `--interval=${slow(1000) / 1000}`, `--status-file=${f.status}`], ['node', '-e', handOff]);
    const [, pid1] = (await ss.waitForLine(/up (\d+) 1 told/))!;
    await pollUntil(() => readText(f.status) === `1:${pid1}\n`, { what: 'generation 1 accepted' });
    ss.kill('SIGHUP');
    await ss.waitForLine(new RegExp(`up \\d+ 2 told ${pid1}`));
    await ss.waitForLine(new RegExp(`\\[info\\] \\[start-server\\] worker ${pid1} \\(generation 1\\) exited with status:0 \\(exit code 0\\) while generation 2 is starting; generation 2 takes over`));
    await ss.waitForLine(/new worker is now running, sending TERM to old workers:none/, { from: ss.output.indexOf('takes over') });
    expect(ss.output).not.toMatch(/\[error\]/);
    expect(ss.output).not.toMatch(/died unexpectedly/);
    expect(statusPids(f.status).map((s) => s.gen)).toEqual([2]);
    expect((await ss.stop()).code).toBe(0);
  });
});

describe('start-server: log file and file modes (items 21, 23)', () => {
  it('refuses a --log-file that is a symlink (exit 1, one line) and appends nothing to its target', async () => {
    const f = files();
    const victim = join(dir, 'root-owned');
    writeFileSync(victim, 'precious\n');
    chmodSync(victim, 0o600);
    symlinkSync(victim, f.log);
    const ss = startServerProcess([`--log-file=${f.log}`, '--interval=0.2', `--pid-file=${f.pid}`], ['node', '-e', SILENT]);
    expect((await ss.waitForExit()).code).toBe(1);
    expect(ss.output).toMatch(new RegExp(`^\\S+ \\[error\\] \\[start-server\\] refusing to open log file ${f.log}: it is a symbolic link to a regular file \\(name the file itself\\)\n$`));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(modeOf(victim)).toBe(0o600);
    expect(existsSync(f.pid)).toBe(false);
  });

  it('defaults: pid file 0644, status and log files 0640; --file-mode sets all three; an existing log keeps its mode', async () => {
    const f = files();
    const old = process.umask(0o022);
    try {
      let ss = startServerProcess([`--log-file=${f.log}`, '--interval=0.2', `--pid-file=${f.pid}`, `--status-file=${f.status}`], ['node', '-e', SILENT]);
      await pollUntil(() => readText(f.log).includes('new worker is now running'), { what: 'generation 1 accepted' });
      expect([modeOf(f.pid), modeOf(f.status), modeOf(f.log)]).toEqual([0o644, 0o640, 0o640]);
      expect((await ss.stop()).code).toBe(0);

      rmSync(f.log);
      ss = startServerProcess([`--log-file=${f.log}`, '--file-mode=0600', '--interval=0.2', `--pid-file=${f.pid}`, `--status-file=${f.status}`], ['node', '-e', SILENT]);
      await pollUntil(() => readText(f.log).includes('new worker is now running'), { what: 'generation 1 accepted' });
      expect([modeOf(f.pid), modeOf(f.status), modeOf(f.log)]).toEqual([0o600, 0o600, 0o600]);
      expect((await ss.stop()).code).toBe(0);

      chmodSync(f.log, 0o644);
      ss = startServerProcess([`--log-file=${f.log}`, '--file-mode=0600', '--interval=0.2'], ['node', '-e', SILENT]);
      await pollUntil(() => readText(f.log).split('new worker is now running').length === 3, { what: 'third run accepted' });
      expect(modeOf(f.log)).toBe(0o644);
      expect((await ss.stop()).code).toBe(0);
    } finally {
      process.umask(old);
    }
  });

  it('refuses a --log-file with a second hard link (exit 1, one line) and appends nothing to it', async () => {
    const f = files();
    const victim = join(dir, 'root-owned');
    writeFileSync(victim, 'precious\n');
    linkSync(victim, f.log);
    const ss = startServerProcess([`--log-file=${f.log}`, '--interval=0.2', `--pid-file=${f.pid}`], ['node', '-e', SILENT]);
    expect((await ss.waitForExit()).code).toBe(1);
    expect(ss.output).toMatch(
      new RegExp(`^\\S+ \\[error\\] \\[start-server\\] refusing to open log file ${f.log}: it has 2 hard links \\(one may have been planted\\); give it a path with a single link\n$`),
    );
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(existsSync(f.pid)).toBe(false);
  });

  it('--log-file=/dev/stdout (our own stdout, a socket here: used as it is) and --log-file=/dev/null (a character device) are accepted', async () => {
    const f = files();
    const hello = "process.on('SIGTERM', () => process.exit(0)); console.log('hello from ' + process.pid); setInterval(() => {}, 1000)";
    let ss = startServerProcess(['--log-file=/dev/stdout', '--interval=0.2', `--status-file=${f.status}`], ['node', '-e', hello]);
    let stdout = '';
    ss.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    await pollUntil(() => /new worker is now running/.test(stdout) && /hello from \d+/.test(stdout), { what: 'start-server and generation lines on stdout' });
    expect((await ss.stop()).code).toBe(0);
    expect(stdout).toMatch(/\[info\] \[start-server\] exiting\n$/);

    ss = startServerProcess(['--log-file=/dev/null', '--interval=0.2', `--status-file=${f.status}`], ['node', '-e', hello]);
    await pollUntil(() => /^1:\d+\n$/.test(readText(f.status)), { what: 'generation 1 accepted with --log-file=/dev/null' });
    expect((await ss.stop()).code).toBe(0);
    expect(ss.output).toBe('');
    expect(existsSync('/dev/null') && statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('--file-mode refuses a mode others can write, or one without owner read and write: exit 2, one line', async () => {
    for (const [mode, why] of [
      ['0666', 'others could write the files'],
      ['0400', 'the owner could not read and write the files'],
    ] as const) {
      const ss = spawnNode(BIN.startServer, [`--file-mode=${mode}`, `--pid-file=${join(dir, 'x.pid')}`, '--', 'node', ECHO]);
      expect((await ss.waitForExit()).code).toBe(2);
      expect(ss.output).toBe(
        `start-server: Expected the \`--file-mode\` option to be a file mode with owner read and write and no write for others, such as 0640, got \`${mode}\`: ${why}\nTry \`start-server --help\` for the options.\n`,
      );
      expect(existsSync(join(dir, 'x.pid'))).toBe(false);
    }
  });

  it('--file-mode is validated: exit 2, one line', async () => {
    const ss = spawnNode(BIN.startServer, ['--file-mode=0999', '--', 'node', ECHO]);
    expect((await ss.waitForExit()).code).toBe(2);
    expect(ss.output).toBe(
      'start-server: Expected the `--file-mode` option to be an octal file mode between 0000 and 0777 such as 0640, got `0999`\nTry `start-server --help` for the options.\n',
    );
  });
});
