import { describe, expect, it } from 'vitest';
import { formatSystemError } from '../src/errors.js';

// Issue 10 item 17: a system error at the top level is one line, not a stack.
describe('formatSystemError', () => {
  const sys = (code: string, message: string, extra: Record<string, unknown>) => Object.assign(new Error(message), { code, ...extra });
  it.each([
    [sys('EACCES', "EACCES: permission denied, open '/var/log/rs.log'", { syscall: 'open', path: '/var/log/rs.log' }), /^cannot open \/var\/log\/rs\.log: permission denied \(EACCES\) \(running as uid \d+; check the directory's owner and mode\)$/],
    [sys('ENOTDIR', "ENOTDIR: not a directory, mkdir '/a/conf.ts/x'", { syscall: 'mkdir', path: '/a/conf.ts/x' }), /^cannot mkdir \/a\/conf\.ts\/x: not a directory \(ENOTDIR\)$/],
    [sys('EEXIST', "EEXIST: file already exists, mkdir '/a/b'", { syscall: 'mkdir', path: '/a/b' }), /^cannot mkdir \/a\/b: file already exists \(EEXIST\)$/],
    [sys('ENOSPC', 'ENOSPC: no space left on device, write', { syscall: 'write' }), /^cannot write: no space left on device \(ENOSPC\)$/],
    [sys('EXDEV', "EXDEV: cross-device link not permitted, rename '/a' -> '/b'", { syscall: 'rename', path: '/a', dest: '/b' }), /^cannot rename \/a → \/b: cross-device link not permitted \(EXDEV\)$/],
  ])('%s', (err, line) => {
    expect(formatSystemError(err)).toMatch(line);
  });

  it.each([[new Error('plain')], ['EACCES'], [Object.assign(new Error('x'), { code: 'E_CONFIG' })], [Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' })]])(
    'not a system error: %o',
    (err) => {
      expect(formatSystemError(err)).toBeUndefined();
    },
  );
});
