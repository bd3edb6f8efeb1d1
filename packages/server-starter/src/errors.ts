export { UsageError } from '@baton/process-kit';

/** A socket that could not be bound (`EADDRINUSE`, `EACCES`, …); carries the spec and the cause. */
export class ListenError extends Error {
  override name = 'ListenError';
  readonly code = 'E_LISTEN';
  constructor(
    readonly spec: string,
    cause: unknown,
  ) {
    const reason = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
    super(`failed to listen on ${spec}: ${reason}`, { cause });
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A client-mode failure (`--restart`, `--stop`): printed as one line, exit 1. */
export class ControlError extends Error {
  override name = 'ControlError';
  readonly code = 'E_CONTROL';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
