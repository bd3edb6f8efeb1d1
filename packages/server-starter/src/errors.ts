export { UsageError, ControlError } from '@baton/process-kit';

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
