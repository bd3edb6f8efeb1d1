import { describe, expect, it } from 'vitest';
import { parseArgv, suggest } from '../src/argv.js';

describe('parseArgv', () => {
  it.each([
    [[], { command: 'run', config: undefined }],
    [['-c', 'conf.ts'], { command: 'run', config: 'conf.ts' }],
    [['--config=conf.ts'], { command: 'run', config: 'conf.ts' }],
    [['check', '-c', 'conf.ts'], { command: 'check', config: 'conf.ts' }],
    [['status', '--pid', '123', '--text'], { command: 'status', pid: 123, text: true }],
    [['scale', '4', '--pid-file', 'tmp/m.pid'], { command: 'scale', workers: 4, pidFile: 'tmp/m.pid' }],
    [['scale', '0', '-c', 'c.ts'], { command: 'scale', workers: 0, config: 'c.ts' }],
    [['scale', 'mail', '3', '-c', 'c.ts'], { command: 'scale', group: 'mail', workers: 3 }],
    [['status', 'mail', '--text'], { command: 'status', group: 'mail', text: true }],
    [['reload'], { command: 'reload' }],
    [['reopen-logs'], { command: 'reopen-logs' }],
    [['--help'], { command: 'help' }],
    [['-v'], { command: 'version' }],
    [['check', '-c', 'conf.ts'], { command: 'check', redis: false }],
    [['check', '--redis', '-c', 'conf.ts'], { command: 'check', redis: true }],
    [['scale', '4096', '-c', 'c.ts'], { command: 'scale', workers: 4096 }],
    // Issue 11 item 5: stop, daemon mode, a working directory, per-command help, check --types.
    [['stop'], { command: 'stop', timeoutSeconds: undefined }],
    [['stop', '--timeout', '2.5', '--pid-file', 'm.pid'], { command: 'stop', timeoutSeconds: 2.5, pidFile: 'm.pid' }],
    [['stop', '--timeout=.5', '--pid', '77'], { command: 'stop', timeoutSeconds: 0.5, pid: 77 }],
    [['-D', '-c', 'conf.ts'], { command: 'run', daemonize: true, config: 'conf.ts' }],
    [['run', '--daemonize'], { command: 'run', daemonize: true }],
    [['--log-format', 'json', '-c', 'conf.ts'], { command: 'run', logFormat: 'json', config: 'conf.ts' }],
    [['run', '--log-format=text'], { command: 'run', logFormat: 'text' }],
    [['-C', 'app', '-c', 'conf.ts'], { command: 'run', dir: 'app', config: 'conf.ts' }],
    [['status', '--dir=/srv/app'], { command: 'status', dir: '/srv/app' }],
    [['check', '--types', '--redis'], { command: 'check', types: true, redis: true }],
    [['--help'], { command: 'help', helpFor: undefined }],
    [['help'], { command: 'help', helpFor: undefined }],
    [['help', 'stop'], { command: 'help', helpFor: 'stop' }],
    [['help', 'version'], { command: 'help', helpFor: undefined }],
    [['scale', '--help'], { command: 'help', helpFor: 'scale' }],
    [['scale', '-h', '--bogus'], { command: 'help', helpFor: 'scale' }],
    [['run', '-h'], { command: 'help', helpFor: 'run' }],
    [['status', '-v'], { command: 'version' }],
    // Issue 14: the failed list and the queues.
    [['failed'], { command: 'failed', failed: { action: 'list', index: undefined }, json: false }],
    [['failed', 'list', '--queue', 'mail', '--class=Mailer', '--json'], { command: 'failed', failed: { action: 'list' }, queue: 'mail', className: 'Mailer', json: true }],
    [['failed', 'list', '--limit', '0'], { failed: { action: 'list' }, limit: 0 }],
    [['failed', 'show', '3', '-c', 'c.ts'], { failed: { action: 'show', index: 3 }, config: 'c.ts' }],
    [['failed', 'retry', '0'], { failed: { action: 'retry', index: 0 } }],
    [['failed', 'retry', 'all', '--class', 'Mailer'], { failed: { action: 'retry', index: 'all' }, className: 'Mailer' }],
    [['failed', 'remove', '12'], { failed: { action: 'remove', index: 12 } }],
    [['failed', 'clear', '--queue', 'q'], { failed: { action: 'clear', index: undefined }, queue: 'q' }],
    [['queues', '--json', '-C', 'app'], { command: 'queues', json: true, dir: 'app' }],
    [['failed', '--help'], { command: 'help', helpFor: 'failed' }],
    [['failed', 'list', '--group', 'mail'], { failed: { action: 'list' }, group: 'mail' }],
    [['queues', '--group=low'], { command: 'queues', group: 'low' }],
  ])('%j → %o', (argv, expected) => {
    expect(parseArgv(argv)).toMatchObject(expected);
  });

  it.each([
    [['conf.ts'], /Unknown command `conf.ts`/],
    [['-c'], /Expected a value after `-c`/],
    [['--port', '80'], /Unknown option `--port`/],
    [['scale'], /Expected the number of workers/],
    [['scale', '-1'], /^Expected `scale` to get a worker count \(an integer ≥ 0\), got `-1`$/],
    [['scale', '1.5', '-c', 'c.ts'], /worker count \(an integer ≥ 0\), got `1.5`/],
    [['scale', 'x'], /worker count \(an integer ≥ 0\), got `x`/],
    [['scale', 'a b', '2'], /^Expected a worker group name, got `a b`$/],
    [['scale', 'mail', 'x'], /worker count \(an integer ≥ 0\), got `x`/],
    [['status', '--pid', 'abc'], /`--pid` to be a process id/],
    [['-c', 'a.ts', 'b.ts'], /Unexpected argument `b.ts`/],
    // Issue 10 item 14: no scale past the largest possible maxConcurrency, whatever the config.
    [['scale', '4097'], /Expected `scale` to get a worker count from 0 to 4096, got `4097`/],
    [['scale', '1000000000', '--pid', '123'], /from 0 to 4096, got `1000000000`/],
    [['--redis', '-c', 'a.ts'], /`--redis` goes with `check`/],
    [['status', '--redis'], /`--redis` goes with `check`, not `status`/],
    // Suggestions for near misses, among the command's own options first.
    [['stop', '--pidfile', 'x'], /^Unknown option `--pidfile`; did you mean `--pid-file`\?$/],
    [['--confg', 'c.ts'], /^Unknown option `--confg`; did you mean `--config`\?$/],
    [['--daemon'], /^Unknown option `--daemon`; did you mean `--daemonize`\?$/],
    [['-d'], /^Unknown option `-d`; did you mean `-D`\?$/],
    [['stop', '--timout', '3'], /did you mean `--timeout`\?/],
    [['status', '--txet'], /did you mean `--text`\?/],
    [['--zzzzzz'], /^Unknown option `--zzzzzz`$/],
    [['stpo'], /^Unknown command `stpo`; did you mean `stop`\?$/],
    [['satus'], /did you mean `status`\?/],
    [['help', 'scal'], /did you mean `scale`\?/],
    [['conf.ts'], /Unknown command `conf.ts`; expected one of .*; the config file goes after `-c`/],
    // Options of another command say where they belong.
    [['status', '--timeout', '3'], /^`--timeout` goes with `stop`, not `status`$/],
    [['check', '-D'], /^`-D` goes with `run`, not `check`$/],
    [['--log-format', 'xml'], /^Expected `--log-format` to be `text` or `json`, got `xml`$/],
    [['status', '--log-format', 'json'], /^`--log-format` goes with `run`, not `status`$/],
    [['--pid', '12'], /^`--pid` goes with `status`, `scale`, `pause`, `resume`, `reload`, `reopen-logs`, `stop`$/],
    [['status', '--types'], /`--types` goes with `check`/],
    // Values.
    [['stop', '--timeout', '0'], /`--timeout` to be a number of seconds greater than 0/],
    [['stop', '--timeout', '-1'], /`--timeout` to be a number of seconds greater than 0 and at most 604800, got `-1`/],
    [['stop', '--timeout', '1e3'], /got `1e3`/],
    [['stop', '--timeout'], /Expected a value after `--timeout`/],
    [['-C'], /Expected a value after `-C`/],
    [['--dir='], /got an empty one/],
    [['-D=1'], /Unknown option `-D=1`/],
    [['--daemonize=yes'], /`--daemonize` takes no value/],
    [['stop', 'now'], /Unexpected argument `now`/],
    [['-c', 'a.ts', 'stop'], /Unexpected argument `stop`; the command goes first/],
    [['failed', 'retyr', '1'], /^Unknown `failed` action `retyr`; did you mean `retry`\?$/],
    [['failed', 'zap'], /^Unknown `failed` action `zap`; expected one of list, show, retry, remove, clear$/],
    [['failed', 'show'], /^Expected `failed show` to get an index \(as `failed list` shows it\)$/],
    [['failed', 'retry'], /to get an index \(as `failed list` shows it\) or `all`$/],
    [['failed', 'remove', 'all'], /got `all`; `failed clear` removes every entry$/],
    [['failed', 'show', '-1'], /Unknown option `-1`|got `-1`/],
    [['failed', 'show', 'x'], /got `x`/],
    [['failed', 'retry', '2', '--queue', 'q'], /^`--queue` chooses entries for `failed list`, `failed retry all` and `failed clear`; `failed retry 2` names one already$/],
    [['failed', 'clear', '--limit', '3'], /^`--limit` goes with `failed list`, not `failed clear`$/],
    [['failed', 'list', '--limit', 'ten'], /`--limit` to be a number of entries/],
    [['failed', 'list', 'extra'], /Unexpected argument `extra`/],
    [['queues', '--queue', 'x'], /`--queue` goes with `failed`, not `queues`/],
    [['status', '--limit', '1'], /`--limit` goes with `failed`/],
  ])('%j → UsageError %s', (argv, message) => {
    expect(() => parseArgv(argv)).toThrow(message);
  });
});

describe('suggest', () => {
  it.each([
    ['--pidfile', ['--pid', '--pid-file', '--config'], '--pid-file'],
    ['--PID-FILE', ['--pid', '--pid-file'], '--pid-file'],
    ['--stat', ['--status-file', '--pid-file'], '--status-file'],
    ['--xyz', ['--pid', '--port'], undefined],
    ['relaod', ['reload', 'run'], 'reload'],
    ['x', ['run', 'stop'], undefined],
  ])('%s among %j → %s', (given, candidates, expected) => {
    expect(suggest(given, candidates)).toBe(expected);
  });
});
