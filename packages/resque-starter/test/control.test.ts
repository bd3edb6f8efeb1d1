import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controlSocketPath, ensureRuntimeDir, findControlSocket, runtimeDir } from '../src/control.js';
import { ControlError } from '../src/errors.js';

// Issue 10 items 18–20: the runtime directory (control sockets, jiti cache).
const uid = process.getuid!();
const asRoot = uid === 0;
let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'rs-runtime-'));
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});
const mode = (p: string) => statSync(p).mode & 0o7777;
const shared = () => {
  const dir = join(base, 'shared');
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  return dir;
};

describe('runtimeDir', () => {
  it('uses RESQUE_STARTER_RUNTIME_DIR itself when it does not exist yet or is private to us', () => {
    const own = join(base, 'run');
    expect(runtimeDir({ RESQUE_STARTER_RUNTIME_DIR: own })).toBe(own);
    mkdirSync(own, { mode: 0o700 });
    expect(runtimeDir({ RESQUE_STARTER_RUNTIME_DIR: own })).toBe(own);
    chmodSync(own, 0o755);
    expect(runtimeDir({ RESQUE_STARTER_RUNTIME_DIR: own })).toBe(own);
  });

  it('uses a private subdirectory of a shared RESQUE_STARTER_RUNTIME_DIR (1777) and leaves its mode alone', () => {
    const dir = shared();
    const env = { RESQUE_STARTER_RUNTIME_DIR: dir };
    expect(runtimeDir(env)).toBe(join(dir, `resque-starter-${uid}`));
    expect(ensureRuntimeDir(runtimeDir(env))).toBe(join(dir, `resque-starter-${uid}`));
    expect(mode(dir)).toBe(0o1777);
    expect(mode(join(dir, `resque-starter-${uid}`))).toBe(0o700);
    // The next master computes the same place.
    expect(runtimeDir(env)).toBe(join(dir, `resque-starter-${uid}`));
  });

  it('prefers XDG_RUNTIME_DIR (when ours), then /run for root, then <tmp>/resque-starter-<uid>', () => {
    const xdg = join(base, 'xdg');
    mkdirSync(xdg, { mode: 0o700 });
    expect(runtimeDir({ XDG_RUNTIME_DIR: xdg })).toBe(join(xdg, 'resque-starter'));
    expect(runtimeDir({ XDG_RUNTIME_DIR: 'relative/dir' }, 4242)).toBe(join(tmpdir(), 'resque-starter-4242'));
    expect(runtimeDir({ XDG_RUNTIME_DIR: xdg }, 4242)).toBe(join(tmpdir(), 'resque-starter-4242'));
    expect(runtimeDir({}, 4242)).toBe(join(tmpdir(), 'resque-starter-4242'));
    expect(runtimeDir({}, 0)).toBe(lstatSync('/run', { throwIfNoEntry: false })?.uid === 0 ? '/run/resque-starter' : join(tmpdir(), 'resque-starter-0'));
  });
});

describe('ensureRuntimeDir', () => {
  it('creates the directory with mode 0700', () => {
    const dir = join(base, 'new');
    ensureRuntimeDir(dir);
    expect(mode(dir)).toBe(0o700);
    expect(lstatSync(dir).uid).toBe(uid);
  });

  it('refuses a planted symlink and does not touch its target', () => {
    const dir = shared();
    const victim = join(base, 'victim');
    mkdirSync(victim, { mode: 0o755 });
    chmodSync(victim, 0o755);
    const planted = join(dir, `resque-starter-${uid}`);
    symlinkSync(victim, planted);
    expect(() => ensureRuntimeDir(runtimeDir({ RESQUE_STARTER_RUNTIME_DIR: dir }))).toThrow(
      new ControlError(`runtime directory ${planted} is a symbolic link: another user may have created it; remove it, or set RESQUE_STARTER_RUNTIME_DIR to a directory only this user can write`),
    );
    expect(mode(victim)).toBe(0o755);
  });

  it('refuses a directory writable by group or others, and never chmods it', () => {
    const dir = join(base, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(() => ensureRuntimeDir(dir)).toThrow(/runtime directory .*open is writable by group or others \(mode 0777\): .*set RESQUE_STARTER_RUNTIME_DIR/);
    expect(mode(dir)).toBe(0o777);
  });

  it('refuses a file in its place', () => {
    const file = join(base, 'file');
    writeFileSync(file, '');
    expect(() => ensureRuntimeDir(file)).toThrow(/is not a directory/);
  });

  it('refuses to create it in a parent others can write without the sticky bit', () => {
    const parent = join(base, 'nosticky');
    mkdirSync(parent);
    chmodSync(parent, 0o777);
    expect(() => ensureRuntimeDir(join(parent, 'rs'))).toThrow(/nosticky \(parent of the runtime directory\) is writable by others without the sticky bit/);
  });

  it.runIf(asRoot)('as root: refuses a directory pre-created by another user, saying what to do', () => {
    const dir = shared();
    const taken = join(dir, 'resque-starter-0');
    mkdirSync(taken, { mode: 0o700 });
    chownSync(taken, 65534, 65534);
    expect(() => ensureRuntimeDir(runtimeDir({ RESQUE_STARTER_RUNTIME_DIR: dir }))).toThrow(
      `runtime directory ${taken} is owned by uid 65534, not by this user (uid 0): another user may have created it; remove it, or set RESQUE_STARTER_RUNTIME_DIR to a directory only this user can write`,
    );
    expect(statSync(taken).uid).toBe(65534);
  });
});

describe('findControlSocket', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('finds a socket in another candidate directory (a shell with XDG_RUNTIME_DIR, a master without)', async () => {
    const own = join(base, 'own');
    const xdg = join(base, 'xdg');
    mkdirSync(xdg, { mode: 0o700 });
    // The master ran with RESQUE_STARTER_RUNTIME_DIR unset but the same XDG dir; the client has both.
    const dir = ensureRuntimeDir(join(xdg, 'resque-starter'));
    server = createServer();
    await new Promise<void>((r) => server!.listen(controlSocketPath(4321, dir), r));
    expect(findControlSocket(4321, { XDG_RUNTIME_DIR: xdg, RESQUE_STARTER_RUNTIME_DIR: own })).toBe(controlSocketPath(4321, dir));
    expect(findControlSocket(9999, { XDG_RUNTIME_DIR: xdg, RESQUE_STARTER_RUNTIME_DIR: own })).toBe(controlSocketPath(9999, own));
  });
});
