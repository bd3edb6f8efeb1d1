/** A bad command line: each CLI prints the one-line message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'E_USAGE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
