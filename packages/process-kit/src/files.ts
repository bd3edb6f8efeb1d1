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
  statSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isAlive } from './kill.js';

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

/** A log file that cannot be opened safely: a planted link, an unsafe kind of file, or an open error. */
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
 * Why: a supervisor running as root must not append to whatever a planted symlink or hard link
 * points at (item 21), yet `/dev/null`, `/dev/stdout` and a terminal are reasonable log targets.
 * Opens `path` for appending and accepts:
 * - a regular file with a single link (created with `mode`, default FILE_MODES.log, 0640; an
 *   existing file keeps its mode); a final-component symlink to a regular file is never followed;
 * - a character device (only root can make one);
 * - a final-component symlink only if nobody else could have planted it (its directory belongs
 *   to root or to us and is writable by neither group nor others, as `/dev` and `/proc/self/fd`
 *   are) and it leads to a character device or a pipe (`/dev/stdout` under `| logger`).
 * Returns a blocking fd; the caller closes it. Throws LogFileError with a one-line message.
 */
export function openLogFile(path: string, options: FileModeOptions = {}): number {
  const mode = options.mode ?? FILE_MODES.log;
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    let created = true;
    let viaLink = false;
    try {
      fd = openSync(path, PROBE | constants.O_NOFOLLOW | constants.O_CREAT | constants.O_EXCL, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw logOpenError(path, err);
      created = false;
      try {
        fd = openSync(path, PROBE | constants.O_NOFOLLOW);
      } catch (err2) {
        const code = (err2 as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue; // removed in between: create it
        if (code !== 'ELOOP') throw logOpenError(path, err2);
        viaLink = true;
        fd = openTrustedLink(path);
      }
    }
    try {
      const st = fstatSync(fd);
      if (st.isCharacterDevice() || (viaLink && st.isFIFO())) return reopenBlocking(fd, path);
      if (viaLink) throw new LogFileError(`refusing to open log file ${path}: it is a symbolic link to ${kindOf(st)} (name the file itself)`, path);
      if (!st.isFile()) throw new LogFileError(`refusing to open log file ${path}: it is not a regular file or a character device`, path);
      if (st.nlink > 1) {
        throw new LogFileError(`refusing to open log file ${path}: it has ${st.nlink} hard links (one may have been planted); give it a path with a single link`, path);
      }
      if (created) fchmodSync(fd, mode);
    } catch (err) {
      closeFdQuietly(fd);
      throw err instanceof LogFileError ? err : logOpenError(path, err);
    }
    return fd;
  }
  throw new LogFileError(`could not open log file ${path}: it keeps disappearing`, path);
}

/**
 * Why: start-server's `--file-mode` and resque-starter's `fileMode` must agree on what is safe.
 * Modes are applied as given (the umask does not narrow them), so a mode writable by others
 * gives a world-writable file owned by root, and one without owner read+write breaks rewrites.
 * Pure: returns why `mode` is refused, or undefined when it is acceptable.
 */
export function checkFileMode(mode: number): string | undefined {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) return 'not a permission mode between 0000 and 0777';
  if ((mode & 0o600) !== 0o600) return 'the owner could not read and write the files';
  if ((mode & 0o002) !== 0) return 'others could write the files';
  return undefined;
}

/**
 * Why: `--file-mode=0640` takes octal permission bits; anything that is not 0–0777 (setuid and
 * sticky bits included), or that checkFileMode refuses, is refused with one line naming the option.
 */
export function resolveFileMode(value: string | number, optionName: string): number {
  const text = String(value).trim();
  const n = typeof value === 'number' ? value : /^0?[0-7]{1,3}$/.test(text) ? parseInt(text, 8) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o777) {
    throw new TypeError(
      `Expected the \`${optionName}\` option to be an octal file mode between 0000 and 0777 such as 0640, got \`${text}\``,
    );
  }
  const problem = checkFileMode(n);
  if (problem !== undefined) {
    throw new TypeError(
      `Expected the \`${optionName}\` option to be a file mode with owner read and write and no write for others, such as 0640, got \`${text}\`: ${problem}`,
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

// O_NONBLOCK so that a FIFO at the path fails (ENXIO) or is refused instead of blocking the
// open; it has no effect on a regular file, and special files are reopened without it.
const PROBE = constants.O_WRONLY | constants.O_APPEND | constants.O_NOCTTY | constants.O_NONBLOCK;

/** Follows a final-component symlink only when its directory could not have been written by anybody but root or us. */
function openTrustedLink(path: string): number {
  let dir: Stats;
  try {
    dir = statSync(dirname(path));
  } catch (err) {
    throw logOpenError(path, err);
  }
  const euid = process.geteuid?.() ?? -1;
  if ((dir.uid !== 0 && dir.uid !== euid) || (dir.mode & 0o022) !== 0) {
    throw new LogFileError(`refusing to open log file ${path}: it is a symbolic link in a directory others can write`, path);
  }
  try {
    return openSync(path, PROBE); // no O_CREAT: nothing is ever created through a link
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LogFileError(`refusing to open log file ${path}: it is a symbolic link to nothing`, path, { cause: err });
    }
    throw logOpenError(path, err);
  }
}

/**
 * Generations inherit the fd as stdout/stderr: a pipe or terminal must not stay non-blocking
 * (writers would get EAGAIN), so the same object is opened again through /proc without O_NONBLOCK.
 */
function reopenBlocking(probe: number, path: string): number {
  try {
    const before = fstatSync(probe);
    const fd = openSync(`/proc/self/fd/${probe}`, constants.O_WRONLY | constants.O_APPEND | constants.O_NOCTTY);
    const after = fstatSync(fd);
    if (after.dev !== before.dev || after.ino !== before.ino) {
      closeFdQuietly(fd);
      throw new LogFileError(`refusing to open log file ${path}: it changed while being opened`, path);
    }
    return fd;
  } catch (err) {
    throw err instanceof LogFileError ? err : logOpenError(path, err);
  } finally {
    closeFdQuietly(probe);
  }
}

function kindOf(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'something other than a character device or a pipe';
}

function closeFdQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

function logOpenError(path: string, err: unknown): LogFileError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return new LogFileError(`refusing to open log file ${path}: it is a symbolic link`, path, { cause: err });
  if (code === 'ENXIO') {
    return new LogFileError(`refusing to open log file ${path}: it is not a regular file or a character device (a pipe without a reader, or a socket)`, path, { cause: err });
  }
  return new LogFileError(`could not open log file ${path}: ${code ?? (err as Error).message}`, path, { cause: err });
}
