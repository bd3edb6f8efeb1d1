import { editDistance } from '@baton/process-kit';
import { UsageError } from './errors.js';

export type OptionKind = 'string' | 'boolean' | 'list';

/** Every option start-server knows, with its kind; the order is the order of `--help`. */
export const OPTION_KINDS = {
  port: 'list',
  path: 'list',
  backlog: 'string',
  dir: 'string',
  interval: 'string',
  'signal-on-hup': 'string',
  'signal-on-term': 'string',
  'kill-old-delay': 'string',
  'term-timeout': 'string',
  'max-retry-delay': 'string',
  'status-file': 'string',
  'pid-file': 'string',
  'log-file': 'string',
  'log-level': 'string',
  'log-format': 'string',
  'file-mode': 'string',
  envdir: 'string',
  daemonize: 'boolean',
  'enable-auto-restart': 'boolean',
  'auto-restart-interval': 'string',
  restart: 'boolean',
  'restart-timeout': 'string',
  'ready-notify': 'boolean',
  'ready-timeout': 'string',
  stop: 'boolean',
  help: 'boolean',
  version: 'boolean',
} as const satisfies Record<string, OptionKind>;

export type OptionName = keyof typeof OPTION_KINDS;

export type RawOptions = {
  [K in OptionName]?: (typeof OPTION_KINDS)[K] extends 'list' ? string[] : (typeof OPTION_KINDS)[K] extends 'boolean' ? boolean : string;
};

export interface SplitArgv {
  options: RawOptions;
  /** The command and its arguments, untouched. */
  command: string[];
}

const SHORT: Record<string, OptionName> = { h: 'help', v: 'version' };

/**
 * Why: citty keeps only the last `--port` and eats unknown flags (STYLE lesson 1), so the option
 * half is parsed here, Getopt::Long style: `--opt=value` or `--opt value`, names case-insensitive,
 * unique abbreviations accepted. Options end at `--` or at the first word that is not an option.
 */
export function parseArgv(argv: readonly string[]): SplitArgv {
  const options: Record<string, unknown> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = resolveName(eq === -1 ? arg.slice(2) : arg.slice(2, eq));
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else {
      const short = SHORT[arg.slice(1)];
      if (!short) throw unknownOption(arg);
      name = short;
    }
    const kind = OPTION_KINDS[name as OptionName];
    if (kind === 'boolean') {
      if (inline !== undefined && !/^(1|0|true|false)$/i.test(inline)) {
        throw new UsageError(`Option \`--${name}\` takes no value, got \`${inline}\``);
      }
      options[name] = inline === undefined ? true : /^(1|true)$/i.test(inline);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      value = argv[i + 1];
      // `--pid-file -- cmd` must not take `--` as the file name, nor `--pid-file --port=1` the next option.
      if (value === undefined || value.startsWith('--')) {
        throw new UsageError(`Option \`--${name}\` requires a value`);
      }
      i++;
    }
    if (value === '') throw new UsageError(`Option \`--${name}\` requires a value, got an empty one`);
    if (kind === 'list') ((options[name] ??= []) as string[]).push(value);
    else options[name] = value;
  }
  return { options: options as RawOptions, command: argv.slice(i) };
}

// --- internal ---

function resolveName(given: string): OptionName {
  const lower = given.toLowerCase();
  if (lower in OPTION_KINDS) return lower as OptionName;
  const matches = Object.keys(OPTION_KINDS).filter((n) => n.startsWith(lower));
  if (matches.length === 1 && lower.length > 0) return matches[0] as OptionName;
  if (matches.length > 1) {
    throw new UsageError(`Option \`--${given}\` is ambiguous (could be ${matches.map((m) => `--${m}`).join(', ')})`);
  }
  throw unknownOption(`--${given}`);
}

/**
 * Why: a misspelled option (`--pidfile`, `--singal-on-hup`, `-d`) gets the right spelling:
 * the nearest option name (edit distance with swaps, case, `-` and `_` ignored, at most a third
 * of its length), else the plain refusal.
 */
export function unknownOption(arg: string): UsageError {
  const near = nearestOption(arg);
  return new UsageError(`Unknown option \`${arg}\`${near ? `; did you mean \`--${near}\`?` : ''} (see --help)`);
}

function nearestOption(arg: string): OptionName | undefined {
  const given = normalise(arg);
  // `-d`/`-D` is delayed_job's and Perl start_server's habit for --daemonize.
  if (/^-[dD]$/.test(arg)) return 'daemonize';
  let best: OptionName | undefined;
  let bestDistance = Infinity;
  for (const name of Object.keys(OPTION_KINDS) as OptionName[]) {
    const d = editDistance(given, normalise(name));
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(given.length / 3)) ? best : undefined;
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '');
}

