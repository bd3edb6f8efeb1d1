// UsageError and ControlError (a control command that could not reach or convince the master)
// are process-kit's, shared with start-server.
export { ControlError, UsageError } from '@baton/process-kit';

/**
 * A config file that cannot be loaded or does not validate. `location` is `file:line[:col]`
 * when known, so the one printed line points at the mistake.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'E_CONFIG';
  constructor(
    message: string,
    readonly path: string,
    readonly location: string = path,
    options?: ErrorOptions,
  ) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
  }

  /** The one line printed for it: `conf.ts:12:3: Expected ...`. */
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
