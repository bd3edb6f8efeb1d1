import { describe, expect, it } from 'vitest';
import {
  formatServerStarterPort,
  formatStatusFile,
  parsePathSpec,
  parsePortSpec,
  parseServerStarterPort,
  parseStatusFile,
} from '../src/protocol.js';

describe('parsePortSpec', () => {
  it.each([
    ['8080', { kind: 'tcp', host: undefined, port: 8080, family: 4, fd: undefined, key: '8080' }],
    ['127.0.0.1:8080', { kind: 'tcp', host: '127.0.0.1', port: 8080, family: 4, fd: undefined, key: '127.0.0.1:8080' }],
    ['localhost:80', { kind: 'tcp', host: 'localhost', port: 80, family: 4, fd: undefined, key: 'localhost:80' }],
    ['[::1]:8080', { kind: 'tcp', host: '::1', port: 8080, family: 6, fd: undefined, key: '[::1]:8080' }],
    ['127.0.0.1:8080=9', { kind: 'tcp', host: '127.0.0.1', port: 8080, family: 4, fd: 9, key: '127.0.0.1:8080' }],
    ['8080=5', { kind: 'tcp', host: undefined, port: 8080, family: 4, fd: 5, key: '8080' }],
    ['u443', { kind: 'udp', host: undefined, port: 443, family: 4, fd: undefined, key: '443' }],
    ['0.0.0.0:u5353', { kind: 'udp', host: '0.0.0.0', port: 5353, family: 4, fd: undefined, key: '0.0.0.0:5353' }],
    ['[::1]:u53=7', { kind: 'udp', host: '::1', port: 53, family: 6, fd: 7, key: '[::1]:53' }],
  ])('%s', (spec, expected) => {
    expect(parsePortSpec(spec)).toEqual({ ...expected, spec });
  });

  it.each([
    ['abc', /expected PORT/],
    ['foo:bar', /expected PORT/],
    ['70000', /between 0 and 65535/],
    ['8080=2', /3 or more/],
    ['8080=x', /file descriptor/],
    ['[zzz]:80', /not an IPv6 address/],
    ['1:2:3', /expected PORT/],
  ])('rejects %s', (spec, message) => {
    expect(() => parsePortSpec(spec)).toThrow(message);
  });
});

describe('parsePathSpec', () => {
  it('keeps the path as the key, with an optional fd', () => {
    expect(parsePathSpec('/run/app.sock')).toEqual({ kind: 'unix', path: '/run/app.sock', fd: undefined, key: '/run/app.sock', spec: '/run/app.sock' });
    expect(parsePathSpec('/run/app.sock=8')).toMatchObject({ path: '/run/app.sock', fd: 8 });
  });
  it('rejects an empty path', () => {
    expect(() => parsePathSpec('')).toThrow(/empty path/);
  });
});

describe('SERVER_STARTER_PORT', () => {
  // The exact value Perl's start_server produced for these options (server-starter-details §2.1).
  const perl = '127.0.0.1:21001=4;[::1]:21002=5;21003=6;127.0.0.1:21004=9;127.0.0.1:21005=7;scratch/s1.sock=8';

  it('parses what Perl start_server announces, every field', () => {
    expect(parseServerStarterPort(perl)).toEqual([
      { address: '127.0.0.1:21001', fd: 4, host: '127.0.0.1', port: 21001 },
      { address: '[::1]:21002', fd: 5, host: '::1', port: 21002 },
      { address: '21003', fd: 6, port: 21003 },
      { address: '127.0.0.1:21004', fd: 9, host: '127.0.0.1', port: 21004 },
      { address: '127.0.0.1:21005', fd: 7, host: '127.0.0.1', port: 21005 },
      { address: 'scratch/s1.sock', fd: 8, path: 'scratch/s1.sock' },
    ]);
  });

  it('round-trips', () => {
    const entries = parseServerStarterPort(perl);
    expect(formatServerStarterPort(entries)).toBe(perl);
  });

  it('an empty or missing variable means no sockets', () => {
    expect(parseServerStarterPort('')).toEqual([]);
    expect(parseServerStarterPort(undefined)).toEqual([]);
    expect(formatServerStarterPort([])).toBe('');
  });

  it('a unix path that contains = keeps everything before the last =', () => {
    expect(parseServerStarterPort('/tmp/a=b.sock=3')).toEqual([{ address: '/tmp/a=b.sock', fd: 3, path: '/tmp/a=b.sock' }]);
  });

  it('rejects malformed entries', () => {
    expect(() => parseServerStarterPort('8080')).toThrow(/ADDRESS=FD/);
    expect(() => parseServerStarterPort('8080=x')).toThrow(/bad fd/);
  });
});

describe('status file', () => {
  it('sorts generations as numbers (Perl sorted 10 before 9)', () => {
    expect(formatStatusFile([{ generation: 10, pid: 6913 }, { generation: 9, pid: 6904 }])).toBe('9:6904\n10:6913\n');
  });
  it('parses gen:pid lines and ignores anything else', () => {
    expect(parseStatusFile('10:6913\n9:6904\ngarbage\n\n')).toEqual([
      { generation: 9, pid: 6904 },
      { generation: 10, pid: 6913 },
    ]);
  });
  it('an empty file lists nothing', () => {
    expect(formatStatusFile([])).toBe('');
    expect(parseStatusFile('')).toEqual([]);
  });
});
