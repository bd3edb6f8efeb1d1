import { OPTION_KINDS, type OptionName } from './argv.js';

const DESCRIPTIONS: Record<OptionName, [arg: string, text: string]> = {
  port: ['SPEC', 'TCP socket to bind and pass on (repeatable): 8080 (0.0.0.0), 127.0.0.1:8080, [::1]:8080, u5353 for UDP, SPEC=FD to pin its fd in the workers'],
  path: ['PATH', 'unix socket to bind (repeatable; an existing socket file is replaced, the file is removed on exit)'],
  backlog: ['N', 'listen backlog (default 4096, SOMAXCONN)'],
  dir: ['DIR', 'working directory of each generation (resolved at each start, so symlinked deploys work)'],
  interval: ['SECONDS', 'a new generation must stay up this long to count as started; also the first retry delay (default 1, fractions allowed)'],
  'signal-on-hup': ['SIG', 'signal for old generations once the new one is up (default TERM)'],
  'signal-on-term': ['SIG', 'signal for all generations when start-server gets TERM, INT or QUIT (default TERM)'],
  'kill-old-delay': ['SECONDS', 'wait before signalling old generations (default 0, or 5 with auto-restart; env KILL_OLD_DELAY)'],
  'term-timeout': ['SECONDS', 'on stop, SIGKILL generations still alive after this long (default 30; 0 waits forever)'],
  'max-retry-delay': ['SECONDS', 'cap of the growing delay between attempts to start a failing generation (default 60)'],
  'status-file': ['FILE', 'keep `generation:pid` lines of live generations here (written atomically)'],
  'pid-file': ['FILE', "write start-server's pid here; refuses to start if a live start-server owns it"],
  'log-file': ['FILE|"| CMD"', 'append start-server and worker output to FILE (a regular file with one link, or a character device; see SIGNALS.md), or relay it to CMD (restarted if it exits)'],
  'log-level': ['LEVEL', 'silent, error, warn, info (default), debug (env BATON_LOG_LEVEL)'],
  'log-format': ['FORMAT', "text (default) or json: start-server's own lines as one JSON object each (env BATON_LOG_FORMAT); exported to each generation as BATON_LOG_FORMAT"],
  'file-mode': ['MODE', 'octal permission bits of the pid, status and log files start-server creates (default: pid file 0644, status and log files 0640; an existing log file keeps its mode)'],
  envdir: ['DIR', 'daemontools-style env dir (file name = variable, first line = value), re-read for every generation (env ENVDIR)'],
  daemonize: ['', 'run in the background (needs --log-file; use --pid-file to find it)'],
  'enable-auto-restart': ['', 'restart the generation every --auto-restart-interval (env ENABLE_AUTO_RESTART)'],
  'auto-restart-interval': ['SECONDS', 'interval of --enable-auto-restart (default 360; env AUTO_RESTART_INTERVAL)'],
  'ready-notify': ['', 'accept a generation when it writes READY=1 to the fd in SERVER_STARTER_NOTIFY_FD, not after --interval (env START_SERVER_READY_NOTIFY=1)'],
  'ready-timeout': ['SECONDS', 'with --ready-notify, stop a generation still silent after this long (a failed start; default 0: wait for ever)'],
  restart: ['', 'client: HUP the start-server in --pid-file and wait until --status-file shows only a newer generation'],
  'restart-timeout': ['SECONDS', 'how long --restart waits (default 300)'],
  stop: ['', 'client: TERM the start-server in --pid-file and wait until it has exited'],
  help: ['', 'show this help'],
  version: ['', 'show the version'],
};

/** Why: `--help` must answer questions: every option, the signals, the environment, exit codes. */
export function renderHelp(version: string): string {
  const rows = (Object.keys(OPTION_KINDS) as OptionName[]).map((name) => {
    const [arg, text] = DESCRIPTIONS[name];
    return [`--${name}${arg ? `=${arg}` : ''}`, text] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return `start-server ${version}: a Server::Starter-compatible zero-downtime supervisor

Usage:
  start-server [options] -- command [args...]
  start-server --restart --pid-file=FILE --status-file=FILE
  start-server --stop --pid-file=FILE

Binds the sockets, then runs the command as generation 1 with the sockets as inherited fds.
On HUP it starts the next generation and, once that one has stayed up --interval seconds,
sends --signal-on-hup to the older ones. A generation that fails to start never takes down
the running one; it is retried with a growing delay.

Options:
${rows.map(([l, t]) => `  ${l.padEnd(width)}${t}`).join('\n')}

Signals:
  HUP                 start a new generation; retire the old ones once it is up (several HUPs
                      in a row end with exactly one newest generation)
  TERM, INT, QUIT     send --signal-on-term to every generation, wait for them (SIGKILL after
                      --term-timeout), remove pid/status files and unix sockets, exit 0
  USR1, USR2, TTIN, TTOU, TSTP   logged and ignored

Environment given to each generation:
  SERVER_STARTER_PORT        sockets as ADDRESS=FD;... (e.g. 8080=3;/tmp/app.sock=4)
  SERVER_STARTER_GENERATION  1 for the first generation, +1 for every start attempt
  SERVER_STARTER_PID         start-server's pid; SERVER_STARTER_STATUS_FILE when --status-file is set
  SERVER_STARTER_BACKLOG     the --backlog value, for apps that call listen() on the fd again
  SERVER_STARTER_NOTIFY_FD   with --ready-notify: write READY=1 and a newline there once ready
  plus ENVDIR, KILL_OLD_DELAY, ENABLE_AUTO_RESTART, AUTO_RESTART_INTERVAL, BATON_LOG_FORMAT when set by options,
  and the variables of --envdir

Finding the previous generation: read --status-file (lines GENERATION:PID, sorted); the
previous generations are the lines whose generation is lower than SERVER_STARTER_GENERATION.

systemd: with NOTIFY_SOCKET set (Type=notify) start-server sends READY=1 once generation 1
is accepted, RELOADING=1 on HUP and READY=1 once the new generation took over, STOPPING=1,
STATUS=, and WATCHDOG=1 every WATCHDOG_USEC/2, by running systemd-notify (NotifyAccess=all).
Sockets passed by socket activation (LISTEN_FDS) are used in place of --port/--path.
Generations never see NOTIFY_SOCKET, WATCHDOG_* or LISTEN_*. See examples/systemd/.

Exit codes: 0 stopped cleanly; 1 error (e.g. pid file taken, --restart failed);
  2 usage error; 3 could not bind a socket.

In Node apps: import { listen, closeOnSignal } from '@baton/server-starter'.
`;
}
