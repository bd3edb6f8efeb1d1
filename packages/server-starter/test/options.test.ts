import { describe, expect, it } from 'vitest';
import { parseArgv } from '../src/argv.js';
import { DEFAULT_BACKLOG, resolveOptions } from '../src/options.js';

const resolve = (argv: string[], env: Record<string, string> = {}) => {
  const { options, command } = parseArgv(argv);
  return resolveOptions(options, command, env);
};

describe('resolveOptions', () => {
  it('applies Server::Starter defaults', () => {
    const o = resolve(['--port=8080', '--', 'node', 'app.js']);
    expect(o).toMatchObject({
      mode: 'run',
      backlog: DEFAULT_BACKLOG,
      intervalMs: 1000,
      signalOnHup: 'SIGTERM',
      signalOnTerm: 'SIGTERM',
      killOldDelayMs: 0,
      termTimeoutMs: 30_000,
      maxRetryDelayMs: 60_000,
      autoRestart: { enabled: false, intervalMs: 360_000 },
      command: ['node', 'app.js'],
      exportedEnv: {},
    });
    expect(o.listen.map((l) => l.key)).toEqual(['8080']);
  });

  it('the readiness gate is off by default; --ready-notify/--ready-timeout or their env twins START_SERVER_READY_NOTIFY/_TIMEOUT turn it on', () => {
    expect(resolve(['--', 'x'])).toMatchObject({ readyNotify: false, readyTimeoutMs: 0 });
    expect(resolve(['--', 'x'], { START_SERVER_READY_NOTIFY: '1', START_SERVER_READY_TIMEOUT: '2.5' })).toMatchObject({ readyNotify: true, readyTimeoutMs: 2500 });
    expect(resolve(['--ready-notify', '--ready-timeout=7', '--', 'x'])).toMatchObject({ readyNotify: true, readyTimeoutMs: 7000 });
    expect(() => resolve(['--', 'x'], { START_SERVER_READY_TIMEOUT: 'soon' })).toThrow('Expected the `--ready-timeout` option to be a non-negative number of seconds, got `soon`');
  });

  it('normalises signal names and accepts fractions of seconds', () => {
    const o = resolve(['--signal-on-hup=usr1', '--signal-on-term=SIGINT', '--interval=0.25', '--kill-old-delay=1.5', '--', 'x']);
    expect(o).toMatchObject({ signalOnHup: 'SIGUSR1', signalOnTerm: 'SIGINT', intervalMs: 250, killOldDelayMs: 1500 });
  });

  it('puts ports before paths, in the order given', () => {
    const o = resolve(['--path=/tmp/a.sock', '--port=1', '--port=2,3', '--', 'x']);
    expect(o.listen.map((l) => l.key)).toEqual(['1', '2', '3', '/tmp/a.sock']);
  });

  it('auto-restart defaults kill-old-delay to 5 s and exports the variables it was given', () => {
    const o = resolve(['--enable-auto-restart', '--auto-restart-interval=3', '--', 'x']);
    expect(o.killOldDelayMs).toBe(5000);
    expect(o.exportedEnv).toEqual({ ENABLE_AUTO_RESTART: '1', AUTO_RESTART_INTERVAL: '3' });
  });

  it('reads KILL_OLD_DELAY, ENVDIR, ENABLE_AUTO_RESTART from the environment', () => {
    const o = resolve(['--', 'x'], { KILL_OLD_DELAY: '2', ENVDIR: '/e', ENABLE_AUTO_RESTART: '1' });
    expect(o).toMatchObject({ killOldDelayMs: 2000, envdir: '/e', autoRestart: { enabled: true } });
  });

  it('parses the log target', () => {
    expect(resolve(['--log-file=/tmp/x.log', '--', 'x']).logFile).toEqual({ kind: 'file', path: '/tmp/x.log' });
    expect(resolve(['--log-file=  | logger -t app', '--', 'x']).logFile).toEqual({ kind: 'pipe', command: 'logger -t app' });
    // start-server's own fds are used as they are (a socket stdout cannot be opened by name).
    expect(resolve(['--log-file=/dev/stdout', '--', 'x']).logFile).toEqual({ kind: 'fd', fd: 1 });
    expect(resolve(['--log-file=/dev/stderr', '--', 'x']).logFile).toEqual({ kind: 'fd', fd: 2 });
    expect(resolve(['--log-file=/dev/fd/5', '--', 'x']).logFile).toEqual({ kind: 'fd', fd: 5 });
    expect(resolve(['--log-file=/proc/self/fd/1', '--', 'x']).logFile).toEqual({ kind: 'fd', fd: 1 });
    expect(resolve(['--log-file=/dev/stdout2', '--', 'x']).logFile).toEqual({ kind: 'file', path: '/dev/stdout2' });
  });

  it.each([
    [['--signal-on-hup=BOGUS', '--', 'x'], /`--signal-on-hup` option to be a signal name.*got `BOGUS`/],
    [['--interval=abc', '--', 'x'], /`--interval` option to be a non-negative number of seconds, got `abc`/],
    [['--interval=-1', '--', 'x'], /non-negative/],
    [['--backlog=0', '--', 'x'], /`--backlog` option to be an integer of at least 1/],
    [['--port=3000=4', '--port=3001=4', '--', 'x'], /file descriptor 4 is given to more than one/],
    [['--port=nope', '--', 'x'], /invalid --port value `nope`/],
    [[], /server program not specified/],
    [['--daemonize', '--', 'x'], /--log-file option must be specified together with --daemonize/],
    [['--restart', '--pid-file=p'], /--restart option requires --pid-file and --status-file/],
    [['--stop'], /--stop option requires --pid-file/],
    [['--log-level=loud', '--', 'x'], /`--log-level` option to be one of/],
    [['--enable-auto-restart', '--auto-restart-interval=0', '--', 'x'], /at least 1 second/],
    [['--file-mode=0888', '--', 'x'], /^Expected the `--file-mode` option to be an octal file mode between 0000 and 0777 such as 0640, got `0888`$/],
    [['--file-mode=4755', '--', 'x'], /`--file-mode` option to be an octal file mode/],
    [['--file-mode=rw', '--', 'x'], /`--file-mode` option to be an octal file mode/],
  ])('rejects %j with one clear line', (argv, message) => {
    expect(() => resolve(argv)).toThrow(message);
  });

  it('--file-mode is octal; unset, each file keeps its own default', () => {
    expect(resolve(['--file-mode=0600', '--', 'x']).fileMode).toBe(0o600);
    expect(resolve(['--file-mode', '640', '--', 'x']).fileMode).toBe(0o640);
    expect(resolve(['--', 'x']).fileMode).toBeUndefined();
  });

  it('--help and --version need no command', () => {
    expect(resolve(['--help']).mode).toBe('help');
    expect(resolve(['--version']).mode).toBe('version');
  });
});
