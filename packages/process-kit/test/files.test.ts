import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquirePidFile, PidFileError, readPidFile, releasePidFile, writeFileAtomic } from '../src/files.js';

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
