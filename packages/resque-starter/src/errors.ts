// UsageError and ControlError (a control command that could not reach or convince the master)
// are process-kit's, shared with start-server.
export { ControlError, UsageError } from '@baton/process-kit';

/** One mistake in a config file: where (`file:line[:col]`) and what. */
export interface ConfigIssue {
  location: string;
  message: string;
  /** The field it is about (`concurrency`, `crashLoop.window`, `jobs.Archive`), when it is about one. */
  field?: string;
}

/**
 * A config file that cannot be loaded or does not validate. `location` is `file:line[:col]`
 * when known, so the one printed line points at the mistake. When validation found several
 * mistakes, `issues` lists each (in file order) and the message has one line per issue.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'E_CONFIG';
  /** Every mistake found, in file order (one entry for an error that stopped loading). */
  readonly issues: readonly ConfigIssue[];
  constructor(
    message: string,
    readonly path: string,
    readonly location: string = path,
    options?: ErrorOptions & { issues?: readonly ConfigIssue[] },
  ) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
    this.issues = options?.issues ?? [{ location, message }];
  }

  /**
   * Why: `check` and the master report every mistake of a config at once. One issue is the
   * plain one-line error; several are one error whose message lists them, one per line:
   * `2 errors:\n  conf.ts:3:3: Expected …\n  conf.ts:5:3: Unknown …`.
   */
  static fromIssues(path: string, issues: readonly ConfigIssue[]): ConfigError {
    if (issues.length === 1) return new ConfigError(issues[0]!.message, path, issues[0]!.location, { issues });
    const lines = issues.map((i) => `  ${i.location}: ${i.message}`);
    return new ConfigError(`${issues.length} errors:\n${lines.join('\n')}`, path, path, { issues });
  }

  /** The text printed for it: `conf.ts:12:3: Expected ...` (one line per issue when several). */
  get shortMessage(): string {
    return `${this.location}: ${this.message}`;
  }
}

/** Start-up refused before any worker started (Redis unreachable, pid file owned, …). */
export class StartupError extends Error {
  override name = 'StartupError';
  readonly code = 'E_STARTUP';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A `failed`/`queues` command that could not do what it was asked (no such entry, Redis unreachable). */
export class AdminError extends Error {
  override name = 'AdminError';
  readonly code = 'E_ADMIN';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * Why: a system error reaching the top level (an unwritable `logFile` or pid directory, a full
 * disk) must be one line, not a stack: `cannot mkdir /var/run/x: permission denied (EACCES)`.
 * Undefined when `err` is not an errno error.
 */
export function formatSystemError(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (typeof e.code !== 'string' || !/^E[A-Z0-9]+$/.test(e.code)) return undefined;
  // Node's text: "EACCES: permission denied, open '/x/y.log'".
  const reason = /^E[A-Z0-9]+: ([^,\n]+)/.exec(e.message)?.[1] ?? e.message.split('\n')[0]!;
  const what = e.syscall ? `cannot ${e.syscall}${e.path ? ` ${e.path}` : ''}${e.dest ? ` → ${e.dest}` : ''}` : (e.path ?? 'system error');
  const hint = e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS' ? ` (running as uid ${process.getuid?.() ?? '?'}; check the directory's owner and mode)` : '';
  return `${what}: ${reason} (${e.code})${hint}`;
}

/** Exit codes of the `resque-starter` binary (documented in the README). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** The rolling hand-off failed: the old generation was given its workers back. */
  rolloutFailed: 3,
  /** EX_CONFIG from sysexits.h: the config file is broken. */
  config: 78,
} as const;
