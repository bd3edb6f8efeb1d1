import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isAlive } from './terminate.js';

/**
 * Default permission bits of the files a supervisor writes. Pid files stay readable by every
 * user (monitoring, `kill $(cat …)` from another account); status files list queues, job
 * classes and worker ids, and logs carry whatever the app prints, so they are owner and group only.
 */
export const FILE_MODES = { pid: 0o644, status: 0o640, log: 0o640 } as const;

export interface FileModeOptions {
  /** Permission bits of a file we create, applied as given (the umask does not narrow them). */
  mode?: number | undefined;
}

/**
 * Why: pid and status files are read by other tools at any moment; write a fresh temp file
 * (O_EXCL, so a planted symlink is never followed) and rename it over the target. The mode
 * defaults to FILE_MODES.status (0640); a bare number is accepted as the mode, as before.
 */
export function writeFileAtomic(path: string, data: string, options: FileModeOptions | number = {}): void {
  const mode = typeof options === 'number' ? options : (options.mode ?? FILE_MODES.status);
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

export interface PidFileOptions extends FileModeOptions {
  /** Tells whether a live pid is a process of ours (e.g. its cmdline names our binary). */
  isOurs: (pid: number) => boolean;
  /** Shown in the refusal message, e.g. `start-server`. */
  what: string;
}

/**
 * Why: a second supervisor on the same pid file must refuse without touching the running one's
 * file, and a stale file (dead pid, or a pid reused by an unrelated process) must be replaced.
 * Exclusivity comes from link(2), which fails atomically when the target exists. The mode
 * defaults to FILE_MODES.pid (0644).
 */
export function acquirePidFile(path: string, pid: number, options: PidFileOptions): () => void {
  const tmp = tempPathFor(path);
  writeExclusive(tmp, `${pid}\n`, options.mode ?? FILE_MODES.pid);
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

/** A log file that cannot be opened safely: a symlink, not a regular file, or an open error. */
export class LogFileError extends Error {
  override name = 'LogFileError';
  readonly code = 'E_LOGFILE';
  constructor(
    message: string,
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * Why: a supervisor running as root must not append to whatever a planted symlink points at
 * (item 21). Opens `path` for appending without following a final-component symlink and only
 * if it is a regular file; a file it creates gets `mode` (default FILE_MODES.log, 0640), an
 * existing file keeps its mode. Returns the fd; the caller closes it. Throws LogFileError.
 */
export function openLogFile(path: string, options: FileModeOptions = {}): number {
  const mode = options.mode ?? FILE_MODES.log;
  // O_NONBLOCK so that a FIFO planted at the path fails (ENXIO) or is refused below instead of
  // blocking the open; it has no effect on a regular file.
  const base = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NOCTTY | constants.O_NONBLOCK;
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    let created = true;
    try {
      fd = openSync(path, base | constants.O_CREAT | constants.O_EXCL, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw logOpenError(path, err);
      created = false;
      try {
        fd = openSync(path, base);
      } catch (err2) {
        if ((err2 as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed in between: create it
        throw logOpenError(path, err2);
      }
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new LogFileError(`refusing to open log file ${path}: it is not a regular file`, path);
      if (created) fchmodSync(fd, mode);
    } catch (err) {
      closeSync(fd);
      throw err instanceof LogFileError ? err : logOpenError(path, err);
    }
    return fd;
  }
  throw new LogFileError(`could not open log file ${path}: it keeps disappearing`, path);
}

/**
 * Why: `--file-mode=0640` and config `fileMode` take octal permission bits; anything that is not
 * 0–0777 (setuid/sticky bits included) is refused with one line naming the option.
 */
export function resolveFileMode(value: string | number, optionName: string): number {
  const text = String(value).trim();
  const n = typeof value === 'number' ? value : /^0?[0-7]{1,3}$/.test(text) ? parseInt(text, 8) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o777) {
    throw new TypeError(
      `Expected the \`${optionName}\` option to be an octal file mode between 0000 and 0777 such as 0640, got \`${text}\``,
    );
  }
  return n;
}

// --- internal ---

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function writeExclusive(path: string, data: string, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    fchmodSync(fd, mode);
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

function logOpenError(path: string, err: unknown): LogFileError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return new LogFileError(`refusing to open log file ${path}: it is a symbolic link`, path, { cause: err });
  if (code === 'ENXIO') return new LogFileError(`refusing to open log file ${path}: it is not a regular file`, path, { cause: err });
  return new LogFileError(`could not open log file ${path}: ${code ?? (err as Error).message}`, path, { cause: err });
}
