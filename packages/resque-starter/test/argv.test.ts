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
    [['check', '-c', 'conf.ts'], { command: 'check', redis: false }],
    [['check', '--redis', '-c', 'conf.ts'], { command: 'check', redis: true }],
    [['scale', '4096', '-c', 'c.ts'], { command: 'scale', workers: 4096 }],
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
    // Issue 10 item 14: no scale past the largest possible maxConcurrency, whatever the config.
    [['scale', '4097'], /Expected `scale` to get a worker count from 0 to 4096, got `4097`/],
    [['scale', '1000000000', '--pid', '123'], /from 0 to 4096, got `1000000000`/],
    [['--redis', '-c', 'a.ts'], /`--redis` goes with `check`/],
    [['status', '--redis'], /`--redis` goes with `check`/],
  ])('%j → UsageError %s', (argv, message) => {
    expect(() => parseArgv(argv)).toThrow(message);
  });
});
