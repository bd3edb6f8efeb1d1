/** A bad command line: each CLI prints the one-line message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'E_USAGE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * A control-client failure (start-server `--restart`/`--stop`, resque-starter `status`/`scale`/…):
 * the supervisor could not be reached or did not do what was asked. Printed as one line, exit 1.
 */
export class ControlError extends Error {
  override name = 'ControlError';
  readonly code = 'E_CONTROL';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
