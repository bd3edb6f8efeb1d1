import { describe, expect, it } from 'vitest';
import { OPTION_KINDS, parseArgv } from '../src/argv.js';

describe('parseArgv', () => {
  it.each([
    [['--port=8080', '--', 'node', 'app.js'], { port: ['8080'] }, ['node', 'app.js']],
    [['--port', '8080', '--port=127.0.0.1:9090', '--', 'x'], { port: ['8080', '127.0.0.1:9090'] }, ['x']],
    [['--path=/tmp/a.sock', '--path', '/tmp/b.sock', '--', 'x'], { path: ['/tmp/a.sock', '/tmp/b.sock'] }, ['x']],
    [['--interval=2', '--signal-on-hup', 'USR1', '--', 'x'], { interval: '2', 'signal-on-hup': 'USR1' }, ['x']],
    [['--Signal-On-TERM=int', '--', 'x'], { 'signal-on-term': 'int' }, ['x']],
    [['--stat=s', '--po=80', '--', 'x'], { 'status-file': 's', port: ['80'] }, ['x']],
    [['--daemonize', '--log-file=l', '--', 'x'], { daemonize: true, 'log-file': 'l' }, ['x']],
    [['--enable-auto-restart=0', '--', 'x'], { 'enable-auto-restart': false }, ['x']],
    [['--port=80', 'node', 'app.js', '--port=90'], { port: ['80'] }, ['node', 'app.js', '--port=90']],
    [['--', 'node', '--', '--port=1'], {}, ['node', '--', '--port=1']],
    [['-h'], { help: true }, []],
    [['--restart', '--pid-file', 'p', '--status-file', 's'], { restart: true, 'pid-file': 'p', 'status-file': 's' }, []],
    [['--log-file=| logger -t app', '--', 'x'], { 'log-file': '| logger -t app' }, ['x']],
  ])('%j', (argv, options, command) => {
    expect(parseArgv(argv)).toEqual({ options, command });
  });

  it.each(Object.entries(OPTION_KINDS).filter(([, kind]) => kind !== 'boolean').map(([name]) => name))(
    'value option --%s followed by `--` is a usage error, not a value',
    (name) => {
      expect(() => parseArgv([`--${name}`, '--', 'cmd'])).toThrow(new RegExp(`^Option \`--${name}\` requires a value$`));
    },
  );

  it.each([
    [['--bogus', '--', 'x'], /Unknown option `--bogus`/],
    [['--p=1', '--', 'x'], /ambiguous.*--port.*--path.*--pid-file/],
    [['--pid-file'], /^Option `--pid-file` requires a value$/],
    [['--port'], /requires a value/],
    [['--port', '--path=x', '--', 'x'], /`--port` requires a value/],
    [['--daemonize=yes', '--', 'x'], /takes no value/],
    [['--pid-file', '--', 'cmd'], /^Option `--pid-file` requires a value$/],
    [['--status-file', '--', 'cmd'], /^Option `--status-file` requires a value$/],
    [['--log-file', '--'], /^Option `--log-file` requires a value$/],
    [['--port', '--'], /^Option `--port` requires a value$/],
    [['--interval', '--', 'x'], /^Option `--interval` requires a value$/],
    [['--pid-file='], /^Option `--pid-file` requires a value, got an empty one$/],
    [['--dir=', '--', 'x'], /requires a value, got an empty one/],
    [['-x'], /^Unknown option `-x` \(see --help\)$/],
    // Issue 11 item 5: "did you mean" for a near miss.
    [['--pidfile=p', '--', 'x'], /^Unknown option `--pidfile`; did you mean `--pid-file`\? \(see --help\)$/],
    [['--singal-on-hup=CONT', '--', 'x'], /did you mean `--signal-on-hup`\?/],
    [['--statusfile', 's'], /did you mean `--status-file`\?/],
    [['--deamonize', '--', 'x'], /did you mean `--daemonize`\?/],
    [['--log_level=info', '--', 'x'], /did you mean `--log-level`\?/],
    [['--kill-old-dealy=1', '--', 'x'], /did you mean `--kill-old-delay`\?/],
    [['-D', '--', 'x'], /^Unknown option `-D`; did you mean `--daemonize`\?/],
    [['--bogus', '--', 'x'], /^Unknown option `--bogus` \(see --help\)$/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgv(argv)).toThrow(message);
  });
});
