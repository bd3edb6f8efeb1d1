import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
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
  writeFileAtomic,
} from '../src/files.js';

const modeOf = (p: string) => statSync(p).mode & 0o777;

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
    ['0', 0],
    [0o644, 0o644],
  ])('resolveFileMode(%j) = %o', (input, mode) => {
    expect(resolveFileMode(input, '--file-mode')).toBe(mode);
  });

  it.each(['0o640', '8', '0999', '4755', '01777', 'rw-r-----', '', '-1'])('resolveFileMode rejects %j with one line', (input) => {
    expect(() => resolveFileMode(input, '--file-mode')).toThrow(
      `Expected the \`--file-mode\` option to be an octal file mode between 0000 and 0777 such as 0640, got \`${input}\``,
    );
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

  it('refuses a symlink at the path (dangling or not), and writes nothing through it', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    chmodSync(victim, 0o600);
    const p = join(dir, 'a.log');
    symlinkSync(victim, p);
    expect(() => openLogFile(p)).toThrow(LogFileError);
    expect(() => openLogFile(p)).toThrow(`refusing to open log file ${p}: it is a symbolic link`);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(modeOf(victim)).toBe(0o600);
    const dangling = join(dir, 'd.log');
    symlinkSync(join(dir, 'nowhere'), dangling);
    expect(() => openLogFile(dangling)).toThrow('it is a symbolic link');
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });

  it('refuses what is not a regular file (a directory, a FIFO) without blocking', () => {
    const d = join(dir, 'adir');
    mkdirSync(d);
    expect(() => openLogFile(d)).toThrow(/refusing to open log file .*adir: it is not a regular file|could not open log file .*adir: EISDIR/);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => openLogFile(fifo)).toThrow(`refusing to open log file ${fifo}: it is not a regular file`);
  });

  it('says why in one line when the directory is missing', () => {
    const p = join(dir, 'missing', 'a.log');
    expect(() => openLogFile(p)).toThrow(`could not open log file ${p}: ENOENT`);
  });
});
