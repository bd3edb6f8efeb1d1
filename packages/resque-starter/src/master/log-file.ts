import { closeSync, writeSync } from 'node:fs';
import { openLogFile } from '@baton/process-kit';

/**
 * Why: the config's `logFile` takes the master's lines and its workers' output; `reopen-logs`
 * reopens it after logrotate moved it. Writes are synchronous, and a full disk must not take
 * the master down.
 */
export class LogFile {
  private fd: number;

  constructor(
    readonly path: string,
    private readonly mode: number,
  ) {
    this.fd = openLogFile(path, { mode });
  }

  write(chunk: string | Uint8Array): boolean {
    try {
      if (typeof chunk === 'string') writeSync(this.fd, chunk);
      else writeSync(this.fd, chunk);
    } catch {
      // a full disk must not take the master down
    }
    return true;
  }

  reopen(): void {
    const old = this.fd;
    this.fd = openLogFile(this.path, { mode: this.mode });
    closeSync(old);
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
