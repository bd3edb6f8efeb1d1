export { UsageError } from '@baton/process-kit';

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

/** A control command (`status`, `scale`, …) that could not reach or convince the master. */
export class ControlError extends Error {
  override name = 'ControlError';
  readonly code = 'E_CONTROL';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
  }
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
