import { acquirePidFile, FILE_MODES, readPidFile, releasePidFile, type Logger, type ProcessHost } from '@baton/process-kit';
import { StartupError } from '../errors.js';
import { isResqueStarterMaster, pidFileOwner } from '../handoff.js';
import { messages } from '../messages.js';

/**
 * Why: the config's `pidFile` names the master that serves. A new generation takes it over
 * from the predecessor that owns it (else acquires it, refused while a live master owns it),
 * gives it back after a failed takeover, and reclaims it when a replacement of its own ends.
 */
export class PidFile {
  private release: () => void = () => undefined;

  constructor(
    private readonly path: string | undefined,
    private readonly host: Pick<ProcessHost, 'pid' | 'writeFile'>,
    private readonly logger: Logger,
  ) {}

  /** At start: taken over from a predecessor that owns it, else acquired. */
  claim(predecessors: ReadonlyArray<{ pid: number }>): void {
    const path = this.path;
    if (!path) return;
    const owner = pidFileOwner(path, this.host.pid);
    if (owner !== undefined && predecessors.some((p) => p.pid === owner)) {
      this.writeOwn(path);
      this.logger.info(messages.pidFileTaken(path, owner));
      return;
    }
    try {
      this.release = acquirePidFile(path, this.host.pid, { isOurs: isResqueStarterMaster, what: 'resque-starter' });
    } catch (err) {
      throw new StartupError((err as Error).message, { cause: err });
    }
  }

  /** A failed takeover: the predecessor that keeps serving gets the file back (best effort). */
  handTo(pid: number | undefined): void {
    if (!this.path || pid === undefined) return;
    try {
      this.host.writeFile(this.path, `${pid}\n`, { mode: FILE_MODES.pid });
    } catch {
      // best effort
    }
  }

  /** A replacement of this master ended: it serves again, so the file names it again. */
  reclaim(): void {
    const path = this.path;
    if (!path) return;
    const owner = readPidFile(path);
    if (owner === this.host.pid || (owner !== undefined && isResqueStarterMaster(owner))) return;
    try {
      this.writeOwn(path);
    } catch (err) {
      this.logger.warn(messages.pidFileReclaimFailed(path, (err as Error).message));
    }
  }

  /** At exit: removed only while it still names this master. */
  remove(): void {
    this.release();
  }

  // --- internal ---

  private writeOwn(path: string): void {
    this.host.writeFile(path, `${this.host.pid}\n`, { mode: FILE_MODES.pid });
    this.release = () => releasePidFile(path, this.host.pid);
  }
}
