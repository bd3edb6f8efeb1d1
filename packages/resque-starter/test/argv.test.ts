import { describe, expect, it } from 'vitest';
import { parseArgv } from '../src/argv.js';

describe('parseArgv', () => {
  it.each([
    [[], { command: 'run', config: undefined }],
    [['-c', 'conf.ts'], { command: 'run', config: 'conf.ts' }],
    [['--config=conf.ts'], { command: 'run', config: 'conf.ts' }],
    [['check', '-c', 'conf.ts'], { command: 'check', config: 'conf.ts' }],
    [['status', '--pid', '123', '--text'], { command: 'status', pid: 123, text: true }],
    [['scale', '4', '--pid-file', 'tmp/m.pid'], { command: 'scale', workers: 4, pidFile: 'tmp/m.pid' }],
    [['scale', '0', '-c', 'c.ts'], { command: 'scale', workers: 0, config: 'c.ts' }],
    [['reload'], { command: 'reload' }],
    [['reopen-logs'], { command: 'reopen-logs' }],
    [['--help'], { command: 'help' }],
    [['-v'], { command: 'version' }],
  ])('%j → %o', (argv, expected) => {
    expect(parseArgv(argv)).toMatchObject(expected);
  });

  it.each([
    [['conf.ts'], /Unknown command `conf.ts`/],
    [['-c'], /Expected a value after `-c`/],
    [['--port', '80'], /Unknown option `--port`/],
    [['scale'], /Expected the number of workers/],
    [['scale', '-1'], /Unknown option `-1`|worker count/],
    [['scale', 'x'], /worker count ≥ 0/],
    [['status', '--pid', 'abc'], /`--pid` to be a process id/],
    [['-c', 'a.ts', 'b.ts'], /Unexpected argument `b.ts`/],
  ])('%j → UsageError %s', (argv, message) => {
    expect(() => parseArgv(argv)).toThrow(message);
  });
});
