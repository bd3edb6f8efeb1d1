import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquirePidFile,
  FILE_MODES,
  LogFileError,
  openLogFile,
  PidFileError,
  readPidFile,
  releasePidFile,
  resolveFileMode,
  checkFileMode,
  writeFileAtomic,
} from '../src/files.js';

const modeOf = (p: string) => statSync(p).mode & 0o777;
/** O_NONBLOCK (04000) in the fd's open flags, from /proc/self/fdinfo. */
const isNonBlocking = (fd: number) => (parseInt(/flags:\s*(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8) & 0o4000) !== 0;
/** Retries an open that fails while the reader of a FIFO is not there yet, with a deadline. */
async function pollOpen(open: () => number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return open();
    } catch (err) {
      if (Date.now() > deadline || !/without a reader/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('replaces the content and leaves no temp file', () => {
    const p = join(dir, 'status');
    writeFileAtomic(p, 'a\n');
    writeFileAtomic(p, 'b\n');
    expect(readFileSync(p, 'utf8')).toBe('b\n');
    expect(readFileSync(p, 'utf8')).toBe('b\n');
    expect(existsSync(p)).toBe(true);
    const leftovers = readdirSync(dir);
    expect(leftovers).toEqual(['status']);
  });

  it('does not follow a planted symlink: the link is replaced, its target untouched', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const p = join(dir, 'status');
    symlinkSync(victim, p);
    writeFileAtomic(p, '1:123\n');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(p).isSymbolicLink()).toBe(false);
    expect(readFileSync(p, 'utf8')).toBe('1:123\n');
  });
});

describe('pid files', () => {
  const ours = { isOurs: () => true, what: 'test-daemon' };

  it('writes the pid and removes it on release, only if it is still ours', () => {
    const p = join(dir, 'x.pid');
    const release = acquirePidFile(p, 4242, ours);
    expect(readFileSync(p, 'utf8')).toBe('4242\n');
    writeFileSync(p, '999\n');
    release();
    expect(readFileSync(p, 'utf8')).toBe('999\n');
    releasePidFile(p, 999);
    expect(existsSync(p)).toBe(false);
  });

  it('refuses when a live process of ours owns the file, and leaves the file alone', () => {
    const p = join(dir, 'x.pid');
    writeFileSync(p, `${process.pid}\n`);
    expect(() => acquirePidFile(p, 4242, ours)).toThrow(PidFileError);
    expect(() => acquirePidFile(p, 4242, ours)).toThrow(`test-daemon is already running with pid ${process.pid}`);
    expect(readFileSync(p, 'utf8')).toBe(`${process.pid}\n`);
  });

  it('replaces a stale file: dead pid, a live pid that is not ours, garbage', () => {
    const p = join(dir, 'x.pid');
    for (const content of ['2147483646\n', `${process.pid}\n`, 'garbage\n', '']) {
      writeFileSync(p, content);
      const release = acquirePidFile(p, 4242, { isOurs: () => false, what: 'd' });
      expect(readFileSync(p, 'utf8')).toBe('4242\n');
      release();
    }
  });

  it('does not write through a symlink planted at the pid file path', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const p = join(dir, 'x.pid');
    symlinkSync(victim, p);
    const release = acquirePidFile(p, 4242, ours);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(p).isSymbolicLink()).toBe(false);
    expect(readPidFile(p)).toBe(4242);
    release();
    expect(existsSync(victim)).toBe(true);
    expect(() => readlinkSync(p)).toThrow();
  });
});

describe('file modes (item 23)', () => {
  it('defaults: pid file 0644, status (writeFileAtomic) 0640, whatever the umask', () => {
    const old = process.umask(0o077);
    try {
      const pid = join(dir, 'x.pid');
      const release = acquirePidFile(pid, 4242, { isOurs: () => true, what: 'd' });
      expect(modeOf(pid)).toBe(0o644);
      release();
      const status = join(dir, 'status');
      writeFileAtomic(status, 'a\n');
      expect(modeOf(status)).toBe(0o640);
    } finally {
      process.umask(old);
    }
    expect(FILE_MODES).toEqual({ pid: 0o644, status: 0o640, log: 0o640 });
  });

  it('takes the mode as an option (and as a bare number, as before)', () => {
    const pid = join(dir, 'x.pid');
    acquirePidFile(pid, 4242, { isOurs: () => true, what: 'd', mode: 0o600 })();
    const p = join(dir, 'p');
    acquirePidFile(p, 4242, { isOurs: () => true, what: 'd', mode: 0o600 });
    expect(modeOf(p)).toBe(0o600);
    const status = join(dir, 'status');
    writeFileAtomic(status, 'a\n', { mode: 0o600 });
    expect(modeOf(status)).toBe(0o600);
    writeFileAtomic(status, 'b\n', 0o604);
    expect(modeOf(status)).toBe(0o604);
  });

  it.each([
    ['0640', 0o640],
    ['640', 0o640],
    ['0600', 0o600],
    ['660', 0o660],
    ['0700', 0o700],
    [0o644, 0o644],
  ])('resolveFileMode(%j) = %o', (input, mode) => {
    expect(resolveFileMode(input, '--file-mode')).toBe(mode);
  });

  it.each(['0o640', '8', '0999', '4755', '01777', 'rw-r-----', '', '-1'])('resolveFileMode rejects %j with one line', (input) => {
    expect(() => resolveFileMode(input, '--file-mode')).toThrow(
      `Expected the \`--file-mode\` option to be an octal file mode between 0000 and 0777 such as 0640, got \`${input}\``,
    );
  });

  // Modes are applied with fchmod (no umask): 0666 would give a world-writable file owned by root.
  it.each([
    ['0666', 'others could write the files'],
    ['0602', 'others could write the files'],
    ['0777', 'others could write the files'],
    ['0', 'the owner could not read and write the files'],
    ['0400', 'the owner could not read and write the files'],
    ['0244', 'the owner could not read and write the files'],
  ])('resolveFileMode refuses the unsafe %j in one line: %s', (input, why) => {
    const run = () => resolveFileMode(input, '--file-mode');
    expect(run).toThrow(
      `Expected the \`--file-mode\` option to be a file mode with owner read and write and no write for others, such as 0640, got \`${input}\`: ${why}`,
    );
    expect(() => resolveFileMode(parseInt(input, 8), '--file-mode')).toThrow(why);
  });

  it.each([
    [0o640, undefined],
    [0o600, undefined],
    [0o660, undefined],
    [0o644, undefined],
    [0o755, undefined],
    [0o666, 'others could write the files'],
    [0o646, 'others could write the files'],
    [0o440, 'the owner could not read and write the files'],
    [0o000, 'the owner could not read and write the files'],
    [0o1640, 'not a permission mode between 0000 and 0777'],
    [-1, 'not a permission mode between 0000 and 0777'],
    [6.4, 'not a permission mode between 0000 and 0777'],
  ])('checkFileMode(%o) is %j (pure, shared with resque-starter)', (mode, why) => {
    expect(checkFileMode(mode)).toBe(why);
  });
});

describe('openLogFile (item 21)', () => {
  const append = (fd: number, text: string) => {
    writeSync(fd, text);
    closeSync(fd);
  };

  it('creates the file with the given mode (default 0640) and appends', () => {
    const p = join(dir, 'a.log');
    append(openLogFile(p), 'one\n');
    expect(modeOf(p)).toBe(0o640);
    append(openLogFile(p), 'two\n');
    expect(readFileSync(p, 'utf8')).toBe('one\ntwo\n');
    const q = join(dir, 'b.log');
    append(openLogFile(q, { mode: 0o600 }), 'x\n');
    expect(modeOf(q)).toBe(0o600);
  });

  it('leaves the mode of an existing file alone', () => {
    const p = join(dir, 'a.log');
    writeFileSync(p, 'old\n');
    chmodSync(p, 0o604);
    append(openLogFile(p, { mode: 0o600 }), 'new\n');
    expect(modeOf(p)).toBe(0o604);
    expect(readFileSync(p, 'utf8')).toBe('old\nnew\n');
  });

  it('refuses a symlink in a directory others can write (dangling or not), and writes nothing through it', () => {
    chmodSync(dir, 0o1777); // like /tmp or /dev/shm: anybody could have planted the link
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    chmodSync(victim, 0o600);
    const p = join(dir, 'a.log');
    symlinkSync(victim, p);
    expect(() => openLogFile(p)).toThrow(LogFileError);
    expect(() => openLogFile(p)).toThrow(`refusing to open log file ${p}: it is a symbolic link in a directory others can write`);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(modeOf(victim)).toBe(0o600);
    const dangling = join(dir, 'd.log');
    symlinkSync(join(dir, 'nowhere'), dangling);
    expect(() => openLogFile(dangling)).toThrow('it is a symbolic link in a directory others can write');
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
    const toNull = join(dir, 'null.log');
    symlinkSync('/dev/null', toNull);
    expect(() => openLogFile(toNull)).toThrow('it is a symbolic link in a directory others can write');
  });

  it('never follows a symlink to a regular file or to nothing, even in a private directory', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    chmodSync(victim, 0o600);
    const p = join(dir, 'a.log');
    symlinkSync(victim, p);
    expect(() => openLogFile(p)).toThrow(`refusing to open log file ${p}: it is a symbolic link to a regular file (name the file itself)`);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(modeOf(victim)).toBe(0o600);
    const dangling = join(dir, 'd.log');
    symlinkSync(join(dir, 'nowhere'), dangling);
    expect(() => openLogFile(dangling)).toThrow(`refusing to open log file ${dangling}: it is a symbolic link to nothing`);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });

  it('refuses a regular file with more than one hard link (a planted link to a file of root)', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const p = join(dir, 'a.log');
    linkSync(victim, p);
    expect(() => openLogFile(p)).toThrow(
      `refusing to open log file ${p}: it has 2 hard links (one may have been planted); give it a path with a single link`,
    );
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('accepts a character device (/dev/null), directly or through a symlink in a private directory, blocking', () => {
    const check = (fd: number) => {
      expect(fstatSync(fd).isCharacterDevice()).toBe(true);
      expect(isNonBlocking(fd)).toBe(false);
      append(fd, 'dropped\n');
    };
    check(openLogFile('/dev/null'));
    const p = join(dir, 'null.log');
    symlinkSync('/dev/null', p);
    check(openLogFile(p));
    expect(lstatSync(p).isSymbolicLink()).toBe(true);
  });

  it('accepts /dev/stdout-like links to a pipe with a reader (blocking), and writes reach the reader', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let got = '';
      reader.stdout.on('data', (d) => (got += d));
      const p = join(dir, 'out.log');
      symlinkSync(fifo, p);
      // The reader opens the FIFO when it is scheduled; until then the open fails (ENXIO), never blocks.
      const fd = await pollOpen(() => openLogFile(p));
      expect(isNonBlocking(fd)).toBe(false);
      append(fd, 'through the pipe\n');
      await new Promise((r) => reader.once('close', r));
      expect(got).toBe('through the pipe\n');
    } finally {
      reader.kill();
    }
  });

  it('refuses what is not a regular file (a directory, a FIFO) without blocking', () => {
    const d = join(dir, 'adir');
    mkdirSync(d);
    expect(() => openLogFile(d)).toThrow(/refusing to open log file .*adir: it is not a regular file|could not open log file .*adir: EISDIR/);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => openLogFile(fifo)).toThrow(`refusing to open log file ${fifo}: it is not a regular file or a character device`);
  });

  it('says why in one line when the directory is missing', () => {
    const p = join(dir, 'missing', 'a.log');
    expect(() => openLogFile(p)).toThrow(`could not open log file ${p}: ENOENT`);
  });
});
