import { MAX_CONCURRENCY } from './config.js';
import { UsageError } from './errors.js';

export type CliCommand = 'run' | 'check' | 'status' | 'scale' | 'reload' | 'reopen-logs' | 'help' | 'version';

export interface CliArgs {
  command: CliCommand;
  /** `-c/--config`; default `resque-starter.config.ts`. */
  config: string | undefined;
  /** `--pid N`: talk to this master instead of the config's pidFile. */
  pid: number | undefined;
  /** `--pid-file F`: read the master's pid from here. */
  pidFile: string | undefined;
  /** `scale N`. */
  workers: number | undefined;
  /** `status --json` is the default; `--text` prints a table. */
  text: boolean;
  /** `check --redis`: also connect to Redis and try what the workers need. */
  redis: boolean;
}

const COMMANDS = new Set<CliCommand>(['run', 'check', 'status', 'scale', 'reload', 'reopen-logs', 'help', 'version']);

/**
 * Why: citty would take `conf.ts` for an unknown sub-command and silently drop unknown flags
 * (STYLE lesson 1); this strict, pure parser gives one clear UsageError instead.
 */
export function parseArgv(argv: readonly string[]): CliArgs {
  const out: CliArgs = { command: 'run', config: undefined, pid: undefined, pidFile: undefined, workers: undefined, text: false, redis: false };
  const rest = [...argv];
  if (rest[0] !== undefined && !rest[0].startsWith('-')) {
    const cmd = rest.shift()!;
    if (!COMMANDS.has(cmd as CliCommand)) throw new UsageError(`Unknown command \`${cmd}\`; expected one of ${[...COMMANDS].join(', ')}`);
    out.command = cmd as CliCommand;
  }
  const positionals: string[] = [];
  const value = (flag: string, inline: string | undefined): string => {
    const v = inline ?? rest.shift();
    if (v === undefined || (inline === undefined && v.startsWith('-') && v !== '-')) throw new UsageError(`Expected a value after \`${flag}\``);
    return v;
  };
  while (rest.length > 0) {
    const arg = rest.shift()!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    switch (flag) {
      case '-c':
      case '--config':
        out.config = value(flag, inline);
        break;
      case '--pid': {
        const v = value(flag, inline);
        const n = Number(v);
        if (!/^\d+$/.test(v) || n <= 1) throw new UsageError(`Expected \`--pid\` to be a process id, got \`${v}\``);
        out.pid = n;
        break;
      }
      case '--pid-file':
        out.pidFile = value(flag, inline);
        break;
      case '--text':
        out.text = true;
        break;
      case '--json':
        out.text = false;
        break;
      case '--redis':
        out.redis = true;
        break;
      case '-h':
      case '--help':
        out.command = 'help';
        break;
      case '-v':
      case '--version':
        out.command = 'version';
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(`Unknown option \`${flag}\``);
        positionals.push(arg);
    }
  }
  if (out.command === 'scale') {
    const v = positionals.shift();
    if (v === undefined) throw new UsageError('Expected the number of workers: `resque-starter scale N`');
    const n = Number(v);
    if (!/^\d+$/.test(v)) throw new UsageError(`Expected \`scale\` to get a worker count ≥ 0, got \`${v}\``);
    if (n > MAX_CONCURRENCY.max) throw new UsageError(`Expected \`scale\` to get a worker count from 0 to ${MAX_CONCURRENCY.max}, got \`${v}\``);
    out.workers = n;
  }
  if (out.redis && !['check', 'help', 'version'].includes(out.command)) throw new UsageError('`--redis` goes with `check`: `resque-starter check --redis -c conf.ts`');
  if (positionals.length > 0 && out.command !== 'help' && out.command !== 'version') {
    throw new UsageError(`Unexpected argument \`${positionals[0]}\`${out.command === 'run' ? '; the config file goes after `-c`' : ''}`);
  }
  return out;
}

/** Help text (pure). */
export function renderHelp(version: string): string {
  return `resque-starter ${version} — a master for Resque worker processes

Usage:
  resque-starter [-c conf.ts]             run the master (TERM/INT quick stop, QUIT graceful, TTIN/TTOU ±1, HUP reload)
  resque-starter check [-c conf.ts]       load and validate the config, then exit (0 = valid, 78 = broken)
                   [--redis]              also connect to Redis and try what the workers need (1 = refused)
  resque-starter status [-c conf.ts]      the running master's state as JSON (--text for a table)
  resque-starter scale N [-c conf.ts]     set the number of workers exactly, up to maxConcurrency (signals may merge; this does not)
  resque-starter reload [-c conf.ts]      reload the config and replace the workers one by one (like HUP)
  resque-starter reopen-logs [-c conf.ts] reopen logFile (for logrotate)

Options:
  -c, --config FILE   config file (default: resque-starter.config.ts)
  --pid N             talk to the master with this pid (status, scale, reload, reopen-logs)
  --pid-file FILE     read the master's pid from FILE (default: the config's pidFile)
  -h, --help          this help
  -v, --version       the version

Under start-server:  start-server --signal-on-hup=CONT --status-file tmp/start-server.status -- resque-starter -c conf.ts
See SIGNALS.md for every signal.
`;
}
