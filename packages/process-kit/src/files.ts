import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isAlive } from './terminate.js';

/**
 * Why: pid and status files are read by other tools at any moment; write a fresh temp file
 * (O_EXCL, so a planted symlink is never followed) and rename it over the target.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o644): void {
  const tmp = tempPathFor(path);
  writeExclusive(tmp, data, mode);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export class PidFileError extends Error {
  override name = 'PidFileError';
  readonly code = 'E_PIDFILE';
  constructor(
    message: string,
    readonly path: string,
    readonly pid?: number,
  ) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export interface PidFileOptions {
  /** Tells whether a live pid is a process of ours (e.g. its cmdline names our binary). */
  isOurs: (pid: number) => boolean;
  /** Shown in the refusal message, e.g. `start-server`. */
  what: string;
}

/**
 * Why: a second supervisor on the same pid file must refuse without touching the running one's
 * file, and a stale file (dead pid, or a pid reused by an unrelated process) must be replaced.
 * Exclusivity comes from link(2), which fails atomically when the target exists.
 */
export function acquirePidFile(path: string, pid: number, options: PidFileOptions): () => void {
  const tmp = tempPathFor(path);
  writeExclusive(tmp, `${pid}\n`, 0o644);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, path);
        return () => releasePidFile(path, pid);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readPidFile(path);
      if (owner !== undefined && owner !== pid && isAlive(owner) && options.isOurs(owner)) {
        throw new PidFileError(
          `${options.what} is already running with pid ${owner} (pid file ${path}); refusing to start`,
          path,
          owner,
        );
      }
      // Stale: the owner is gone or the pid now belongs to something else. Replace it.
      rmSync(path, { force: true });
    }
    throw new PidFileError(`could not take pid file ${path}: it keeps reappearing`, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Removes the pid file only if it still names this pid (never someone else's). */
export function releasePidFile(path: string, pid: number): void {
  try {
    if (readPidFile(path) === pid) rmSync(path, { force: true });
  } catch {
    // best effort at exit
  }
}

/** First line of a pid file as a positive integer, or undefined. */
export function readPidFile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^\s*(\d+)\s*$/m.exec(text.split('\n')[0] ?? '');
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The command line of a live pid (NULs as spaces), or '' when unreadable. */
export function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

// --- internal ---

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function writeExclusive(path: string, data: string, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}
