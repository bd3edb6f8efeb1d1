import { MAX_CONCURRENCY } from './config.js';
import { UsageError } from './errors.js';
import { editDistance } from '@baton/process-kit';

export type CliCommand = 'run' | 'check' | 'status' | 'scale' | 'pause' | 'resume' | 'reload' | 'reopen-logs' | 'stop' | 'failed' | 'queues' | 'web' | 'help' | 'version';

/** What `failed …` does: `list`, `show N`, `retry N|all`, `remove N`, `clear`. */
export type FailedAction = 'list' | 'show' | 'retry' | 'remove' | 'clear';

export interface FailedRequest {
  action: FailedAction;
  /** The entry's index in Resque's failed list (as `list` shows it), or `all` (`retry all`). */
  index: number | 'all' | undefined;
}

/** The `failed` actions in the order of the help. */
export const FAILED_ACTIONS: readonly FailedAction[] = ['list', 'show', 'retry', 'remove', 'clear'];

/** The commands that do something (`help` and `version` only print). */
export type ActionCommand = Exclude<CliCommand, 'help' | 'version'>;

export interface CliArgs {
  command: CliCommand;
  /** `help [command]` / `command --help`: whose help to print (undefined: the global help). */
  helpFor: ActionCommand | undefined;
  /** `-c/--config`; default `resque-starter.config.ts`. */
  config: string | undefined;
  /** `-C/--dir DIR`: chdir here before anything else. */
  dir: string | undefined;
  /** `--pid N`: talk to this master instead of the config's pidFile. */
  pid: number | undefined;
  /** `--pid-file F`: read the master's pid from here. */
  pidFile: string | undefined;
  /** `scale N`. */
  workers: number | undefined;
  /** `scale GROUP N`, `status GROUP`: one worker group; `failed`/`queues --group G`: the Redis and namespace of group G. */
  group: string | undefined;
  /** `status --json` is the default; `--text` prints a table. */
  text: boolean;
  /** `check --redis`: also connect to Redis and try what the workers need. */
  redis: boolean;
  /** `check --types`: also type-check the config with the TypeScript compiler. */
  types: boolean;
  /** `run -D/--daemonize`: start the master in the background, return once it is up. */
  daemonize: boolean;
  /** `run --log-format text|json`: overrides the config's `logFormat`. */
  logFormat: 'text' | 'json' | undefined;
  /** `stop --timeout S`: seconds to wait after QUIT before escalating to TERM. */
  timeoutSeconds: number | undefined;
  /** `failed …`: the action and its index. */
  failed: FailedRequest | undefined;
  /** `failed --queue Q`: only entries of this queue. */
  queue: string | undefined;
  /** `failed --class C`: only entries of this job class. */
  className: string | undefined;
  /** `failed --exception E`: only entries whose error is of this class (the record's `exception`). */
  exception: string | undefined;
  /** `failed list --limit N`: at most N entries (0: all); default 50. */
  limit: number | undefined;
  /** `failed`/`queues --json`: JSON instead of a table. */
  json: boolean;
  /** `web --port N` (0: any free port). */
  port: number | undefined;
  /** `web --host H`: the address to bind (default 127.0.0.1). */
  host: string | undefined;
  /** `web --token T`: required on every request. */
  token: string | undefined;
}

/** Every option: its flags, whether it takes a value, and the commands it goes with. */
export const OPTIONS = {
  config: { flags: ['-c', '--config'], value: 'FILE', commands: ['run', 'check', 'status', 'scale', 'pause', 'resume', 'reload', 'reopen-logs', 'stop', 'failed', 'queues', 'web'] },
  dir: { flags: ['-C', '--dir'], value: 'DIR', commands: ['run', 'check', 'status', 'scale', 'pause', 'resume', 'reload', 'reopen-logs', 'stop', 'failed', 'queues', 'web'] },
  daemonize: { flags: ['-D', '--daemonize'], value: undefined, commands: ['run'] },
  logFormat: { flags: ['--log-format'], value: 'FORMAT', commands: ['run'] },
  pid: { flags: ['--pid'], value: 'N', commands: ['status', 'scale', 'pause', 'resume', 'reload', 'reopen-logs', 'stop'] },
  pidFile: { flags: ['--pid-file'], value: 'FILE', commands: ['status', 'scale', 'pause', 'resume', 'reload', 'reopen-logs', 'stop'] },
  timeout: { flags: ['--timeout'], value: 'SECONDS', commands: ['stop'] },
  text: { flags: ['--text'], value: undefined, commands: ['status'] },
  json: { flags: ['--json'], value: undefined, commands: ['status', 'failed', 'queues'] },
  queue: { flags: ['--queue'], value: 'Q', commands: ['failed'] },
  class: { flags: ['--class'], value: 'C', commands: ['failed'] },
  exception: { flags: ['--exception'], value: 'E', commands: ['failed'] },
  limit: { flags: ['--limit'], value: 'N', commands: ['failed'] },
  group: { flags: ['--group'], value: 'NAME', commands: ['failed', 'queues'] },
  redis: { flags: ['--redis'], value: undefined, commands: ['check'] },
  types: { flags: ['--types'], value: undefined, commands: ['check'] },
  port: { flags: ['--port'], value: 'N', commands: ['web'] },
  host: { flags: ['--host'], value: 'HOST', commands: ['web'] },
  token: { flags: ['--token'], value: 'TOKEN', commands: ['web'] },
  help: { flags: ['-h', '--help'], value: undefined, commands: [] },
  version: { flags: ['-v', '--version'], value: undefined, commands: [] },
} as const satisfies Record<string, { flags: readonly string[]; value: string | undefined; commands: readonly ActionCommand[] }>;

export type OptionKey = keyof typeof OPTIONS;

/** The commands in the order of the global help. */
export const COMMANDS: readonly CliCommand[] = ['run', 'check', 'status', 'scale', 'pause', 'resume', 'reload', 'reopen-logs', 'stop', 'failed', 'queues', 'web', 'help', 'version'];

/** The largest `stop --timeout` (a week): past Node's timer limit timers fire at once. */
export const MAX_STOP_TIMEOUT_SECONDS = 604_800;

/**
 * Why: citty would take `conf.ts` for an unknown sub-command and silently drop unknown flags
 * (STYLE lesson 1); this strict, pure parser gives one clear UsageError instead, with a
 * "did you mean" for a near miss and the command a flag belongs to when it is given to another.
 */
export function parseArgv(argv: readonly string[]): CliArgs {
  const out: CliArgs = {
    command: 'run',
    helpFor: undefined,
    config: undefined,
    dir: undefined,
    pid: undefined,
    pidFile: undefined,
    workers: undefined,
    group: undefined,
    text: false,
    redis: false,
    types: false,
    daemonize: false,
    logFormat: undefined,
    timeoutSeconds: undefined,
    failed: undefined,
    queue: undefined,
    className: undefined,
    exception: undefined,
    limit: undefined,
    json: false,
    port: undefined,
    host: undefined,
    token: undefined,
  };
  const rest = [...argv];
  let explicit = false;
  if (rest[0] !== undefined && !rest[0].startsWith('-')) {
    const cmd = rest.shift()!;
    if (!COMMANDS.includes(cmd as CliCommand)) throw unknownCommand(cmd);
    out.command = cmd as CliCommand;
    explicit = true;
  }
  // `--help` wins over everything else on the line: `scale --help` needs no N to print scale's help.
  if (rest.some((a) => a === '-h' || a === '--help')) return help(out, explicit && isAction(out.command) ? out.command : undefined);
  if (out.command === 'help') {
    const about = rest.shift();
    if (about !== undefined && !COMMANDS.includes(about as CliCommand)) throw unknownCommand(about);
    if (rest.length > 0) throw new UsageError(`Unexpected argument \`${rest[0]}\`; \`resque-starter help\` takes one command name`);
    // `help help` and `help version`: the global help says all there is.
    return help(out, about !== undefined && isAction(about) ? about : undefined);
  }
  const positionals: string[] = [];
  const value = (flag: string, inline: string | undefined): string => {
    const v = inline ?? rest.shift();
    // A negative number is a value (`--timeout -1` is then refused for its range, not as a flag).
    if (v === undefined || (inline === undefined && v.startsWith('-') && v !== '-' && !NEGATIVE.test(v))) throw new UsageError(`Expected a value after \`${flag}\``);
    if (v === '') throw new UsageError(`Expected a value after \`${flag}\`, got an empty one`);
    return v;
  };
  while (rest.length > 0) {
    const arg = rest.shift()!;
    if (!arg.startsWith('-') || arg === '-' || (out.command === 'scale' && NEGATIVE.test(arg))) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const key = optionOf(flag);
    if (key === undefined) throw unknownOption(flag, out.command);
    const spec = OPTIONS[key];
    if (key === 'version') {
      out.command = 'version';
      return out;
    }
    const commands: readonly string[] = spec.commands;
    if (!commands.includes(out.command)) throw misplacedOption(flag, key, out.command);
    if (spec.value === undefined && inline !== undefined) throw new UsageError(`Option \`${flag}\` takes no value, got \`${inline}\``);
    setOption(out, key, () => value(flag, inline));
  }
  // `scale GROUP N` / `status GROUP`: a group name first (the count is always last).
  const groupFirst = out.command === 'status' || out.command === 'pause' || out.command === 'resume';
  if ((out.command === 'scale' && positionals.length > 1) || (groupFirst && positionals.length > 0)) out.group = groupName(positionals.shift()!);
  if (out.command === 'scale') out.workers = scaleCount(positionals.shift());
  if (out.command === 'failed') out.failed = failedRequest(positionals, out);
  if (positionals.length > 0 && out.command !== 'version') {
    const p = positionals[0]!;
    const hint = out.command === 'run' && !explicit ? (COMMANDS.includes(p as CliCommand) ? '; the command goes first' : '; the config file goes after `-c`') : '';
    throw new UsageError(`Unexpected argument \`${p}\`${hint}`);
  }
  return out;
}

/** Records one option's value (`read` takes it from the argument list). */
function setOption(out: CliArgs, key: OptionKey, read: () => string): void {
  switch (key) {
    case 'config':
      out.config = read();
      break;
    case 'dir':
      out.dir = read();
      break;
    case 'pid': {
      const v = read();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n <= 1) throw new UsageError(`Expected \`--pid\` to be a process id, got \`${v}\``);
      out.pid = n;
      break;
    }
    case 'pidFile':
      out.pidFile = read();
      break;
    case 'timeout': {
      const v = read();
      const n = Number(v);
      if (!/^\d+(\.\d+)?$|^\.\d+$/.test(v) || !(n > 0) || n > MAX_STOP_TIMEOUT_SECONDS) {
        throw new UsageError(`Expected \`--timeout\` to be a number of seconds greater than 0 and at most ${MAX_STOP_TIMEOUT_SECONDS}, got \`${v}\``);
      }
      out.timeoutSeconds = n;
      break;
    }
    case 'text':
      out.text = true;
      break;
    case 'json':
      out.text = false;
      out.json = true;
      break;
    case 'queue':
      out.queue = read();
      break;
    case 'class':
      out.className = read();
      break;
    case 'exception':
      out.exception = read();
      break;
    case 'group':
      out.group = groupName(read());
      break;
    case 'limit': {
      const v = read();
      if (!/^\d+$/.test(v)) throw new UsageError(`Expected \`--limit\` to be a number of entries (an integer ≥ 0; 0 = all), got \`${v}\``);
      out.limit = Number(v);
      break;
    }
    case 'redis':
      out.redis = true;
      break;
    case 'types':
      out.types = true;
      break;
    case 'daemonize':
      out.daemonize = true;
      break;
    case 'logFormat': {
      const v = read();
      if (v !== 'text' && v !== 'json') throw new UsageError(`Expected \`--log-format\` to be \`text\` or \`json\`, got \`${v}\``);
      out.logFormat = v;
      break;
    }
    case 'port': {
      const v = read();
      if (!/^\d+$/.test(v) || Number(v) > 65535) throw new UsageError(`Expected \`--port\` to be a TCP port (0 to 65535; 0 = any free one), got \`${v}\``);
      out.port = Number(v);
      break;
    }
    case 'host':
      out.host = read();
      break;
    case 'token':
      out.token = read();
      break;
  }
}

/** A worker group's name, as the config allows them. */
function groupName(v: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(v)) throw new UsageError(`Expected a worker group name, got \`${v}\``);
  return v;
}

/** `scale N`: a worker count from 0 to the largest concurrency. */
function scaleCount(v: string | undefined): number {
  if (v === undefined) throw new UsageError('Expected the number of workers: `resque-starter scale N`');
  if (!/^\d+$/.test(v)) throw new UsageError(`Expected \`scale\` to get a worker count (an integer ≥ 0), got \`${v}\``);
  const n = Number(v);
  if (n > MAX_CONCURRENCY.max) throw new UsageError(`Expected \`scale\` to get a worker count from 0 to ${MAX_CONCURRENCY.max}, got \`${v}\``);
  return n;
}

/**
 * Why: `failed show 3`, `failed retry all`: one action and, where it needs one, an index; the
 * filters go only where they choose entries (`list`, `retry all`, `clear`), never beside an index.
 */
function failedRequest(positionals: string[], out: CliArgs): FailedRequest {
  const word = positionals.shift() ?? 'list';
  if (!FAILED_ACTIONS.includes(word as FailedAction)) {
    const near = suggest(word, FAILED_ACTIONS);
    throw new UsageError(`Unknown \`failed\` action \`${word}\`; ${near ? `did you mean \`${near}\`?` : `expected one of ${FAILED_ACTIONS.join(', ')}`}`);
  }
  const action = word as FailedAction;
  let index: number | 'all' | undefined;
  if (action === 'show' || action === 'retry' || action === 'remove') {
    const v = positionals.shift();
    const what = action === 'retry' ? 'an index (as `failed list` shows it) or `all`' : 'an index (as `failed list` shows it)';
    if (v === undefined) throw new UsageError(`Expected \`failed ${action}\` to get ${what}`);
    if (v === 'all' && action === 'retry') index = 'all';
    else if (/^\d+$/.test(v)) index = Number(v);
    else throw new UsageError(`Expected \`failed ${action}\` to get ${what}, got \`${v}\`${v === 'all' ? '; `failed clear` removes every entry' : ''}`);
  }
  const filtered = out.queue !== undefined ? '--queue' : out.className !== undefined ? '--class' : out.exception !== undefined ? '--exception' : undefined;
  if (filtered && typeof index === 'number') throw new UsageError(`\`${filtered}\` chooses entries for \`failed list\`, \`failed retry all\` and \`failed clear\`; \`failed ${action} ${index}\` names one already`);
  if (out.limit !== undefined && action !== 'list') throw new UsageError(`\`--limit\` goes with \`failed list\`, not \`failed ${action}\``);
  return { action, index };
}

/**
 * Why: a misspelled flag or command deserves the right spelling, not just a refusal: the
 * closest of `candidates` to `given` (Damerau–Levenshtein, case-insensitive, at most a third of
 * the length apart, or the one candidate it is a prefix of), else undefined.
 */
export function suggest(given: string, candidates: readonly string[]): string | undefined {
  const g = given.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(g, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(g.replace(/^-+/, '').length / 3));
  if (best !== undefined && bestDistance <= limit) return best;
  const bare = g.replace(/^-+/, '');
  const prefixed = candidates.filter((c) => bare.length >= 3 && c.toLowerCase().replace(/^-+/, '').startsWith(bare));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

// --- internal ---

const NEGATIVE = /^-\d/;

function isAction(word: string): word is ActionCommand {
  return COMMANDS.includes(word as CliCommand) && word !== 'help' && word !== 'version';
}

function help(out: CliArgs, about: ActionCommand | undefined): CliArgs {
  out.command = 'help';
  out.helpFor = about;
  return out;
}

function optionOf(flag: string): OptionKey | undefined {
  for (const [key, spec] of Object.entries(OPTIONS)) if ((spec.flags as readonly string[]).includes(flag)) return key as OptionKey;
  return undefined;
}

function unknownCommand(word: string): UsageError {
  const near = suggest(word, COMMANDS);
  if (near) return new UsageError(`Unknown command \`${word}\`; did you mean \`${near}\`?`);
  const file = /[./]/.test(word) ? '; the config file goes after `-c`' : '';
  return new UsageError(`Unknown command \`${word}\`; expected one of ${COMMANDS.join(', ')}${file}`);
}

function unknownOption(flag: string, command: CliCommand): UsageError {
  // The options of this command first, then any other (it may be right but misplaced).
  const own = Object.values(OPTIONS).filter((s) => (s.commands as readonly string[]).includes(command) || s.commands.length === 0);
  const near = suggest(flag, own.flatMap((s) => s.flags)) ?? suggest(flag, Object.values(OPTIONS).flatMap((s) => s.flags));
  if (near) return new UsageError(`Unknown option \`${flag}\`; did you mean \`${near}\`?`);
  return new UsageError(`Unknown option \`${flag}\``);
}

function misplacedOption(flag: string, key: OptionKey, command: CliCommand): UsageError {
  const commands: readonly string[] = OPTIONS[key].commands;
  const example = key === 'redis' ? ': `resque-starter check --redis -c conf.ts`' : '';
  const list = commands.map((c) => `\`${c}\``).join(', ');
  return new UsageError(`\`${flag}\` goes with ${list}${command === 'run' ? '' : `, not \`${command}\``}${example}`);
}
