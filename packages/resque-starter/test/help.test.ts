import { describe, expect, it } from 'vitest';
import { COMMANDS, OPTIONS, type ActionCommand } from '../src/argv.js';
import { renderCommandHelp, renderHelp } from '../src/commands/help.js';

describe('help', () => {
  it('the global help lists every command with one line', () => {
    expect(renderHelp('1.2.3')).toMatchInlineSnapshot(`
      "resque-starter 1.2.3 — a master for Resque worker processes

      Usage:
        resque-starter [COMMAND] [options]

      Commands:
        run             run the master (the default command; -D runs it in the background)
        check           load and validate the config, then exit (0 = valid, 78 = broken)
        status          the running master's state as JSON (--text for a table)
        scale N         set the number of workers exactly, 0 to maxConcurrency
        pause           pause the workers of one group (or all, like USR2): they finish their job and take no new one
        resume          resume the workers of one group (or all, like CONT)
        reload          reload the config and replace the workers one by one (like HUP)
        reopen-logs     reopen logFile (for logrotate)
        stop            stop the master gracefully (QUIT), wait for it, escalate after --timeout
        failed ACTION   Resque's failed jobs: list, show N, retry N|all, remove N, clear
        queues          the queues: jobs waiting, the oldest one's age, delayed jobs, the failed count
        web             a live dashboard in the browser: throughput, masters and rolling restarts, queues, failed jobs, workers
        help [COMMAND]  this help, or a command's usage, options and example

      Options of every command:
        -c, --config FILE  config file (default: resque-starter.config.ts, .mjs or .js in the working directory)
        -C, --dir DIR      change to DIR before anything else (the config path and relative paths resolve from there)
        -h, --help         this help
        -v, --version      the version

      \`resque-starter COMMAND --help\` shows a command's options and an example.
      Under start-server:  start-server --signal-on-hup=CONT --status-file tmp/start-server.status -- resque-starter -c conf.ts
      In the background:   resque-starter -D -c conf.ts; then resque-starter stop -c conf.ts
      See SIGNALS.md for every signal.
      "
    `);
  });

  it('scale --help: its usage, its options and an example', () => {
    expect(renderCommandHelp('scale', '1.2.3')).toMatchInlineSnapshot(`
      "resque-starter scale — set the number of workers exactly, 0 to maxConcurrency  (resque-starter 1.2.3)

      Usage:
        resque-starter scale [GROUP] N [-c conf.ts | --pid N | --pid-file FILE]

      Sets the number of workers to N (an integer from 0 to the config's maxConcurrency). Exact where
      TTIN/TTOU signals of one kind may merge. With worker groups, GROUP names the group to scale
      (required when the config has several).

      Options:
        -c, --config FILE    config file (default: resque-starter.config.ts, .mjs or .js in the working directory)
        -C, --dir DIR        change to DIR before anything else (the config path and relative paths resolve from there)
            --pid N          the master with this pid (instead of the config's pidFile)
            --pid-file FILE  read the master's pid from FILE (default: the config's pidFile)
        -h, --help           this help

      Example:
        resque-starter scale 5 -c conf.ts
      "
    `);
  });

  it('stop --help: the escalation and the default timeout', () => {
    expect(renderCommandHelp('stop', '1.2.3')).toMatchInlineSnapshot(`
      "resque-starter stop — stop the master gracefully (QUIT), wait for it, escalate after --timeout  (resque-starter 1.2.3)

      Usage:
        resque-starter stop [-c conf.ts | --pid N | --pid-file FILE] [--timeout SECONDS]

      Sends QUIT (running jobs finish) and waits for the master to exit. After --timeout it sends TERM
      (jobs still running go back to their queues), and after termTimeout + 10 s more, KILL to the master
      and its workers. Each step is said on stderr. Exit 0 once the master has stopped after QUIT or
      TERM; 1 when it had to be killed or could not be stopped. A master under start-server is refused
      (start-server would start it again): stop start-server instead (\`start-server --stop --pid-file FILE\`).

      Options:
        -c, --config FILE      config file (default: resque-starter.config.ts, .mjs or .js in the working directory)
        -C, --dir DIR          change to DIR before anything else (the config path and relative paths resolve from there)
            --pid N            the master with this pid (instead of the config's pidFile)
            --pid-file FILE    read the master's pid from FILE (default: the config's pidFile)
            --timeout SECONDS  seconds to wait after QUIT before escalating to TERM (default: the config's stopTimeout + termTimeout + 10; 74 without a config; no escalation when stopTimeout is Infinity)
        -h, --help             this help

      Example:
        resque-starter stop --timeout 120 -c conf.ts
      "
    `);
  });

  it('run --help: daemon mode and the working directory', () => {
    expect(renderCommandHelp('run', '1.2.3')).toMatchInlineSnapshot(`
      "resque-starter run — run the master (the default command; -D runs it in the background)  (resque-starter 1.2.3)

      Usage:
        resque-starter [run] [-c conf.ts] [-C DIR] [-D] [--log-format text|json]

      Starts the master and its workers. Signals: TERM/INT quick stop (jobs go back to their queues),
      QUIT graceful (jobs finish), TTIN/TTOU one worker more/fewer, HUP reload, USR2/CONT pause/resume.
      With -D it returns once the master answers on its control socket; stop it with \`resque-starter stop\`.

      Options:
        -c, --config FILE        config file (default: resque-starter.config.ts, .mjs or .js in the working directory)
        -C, --dir DIR            change to DIR before anything else (the config path and relative paths resolve from there)
        -D, --daemonize          run in the background: returns once the master is up (exit 0), or says why it did not start; needs \`pidFile\` in the config; output goes to \`logFile\` (else /dev/null)
            --log-format FORMAT  log lines as \`text\` or \`json\` (one object a line; overrides the config's logFormat; default: logFormat, else BATON_LOG_FORMAT, else text)
        -h, --help               this help

      Example:
        resque-starter -D -c conf.ts && resque-starter stop -c conf.ts
        start-server --signal-on-hup=CONT --status-file tmp/start-server.status -- resque-starter -c conf.ts
      "
    `);
  });

  it('check --help: --redis and --types', () => {
    expect(renderCommandHelp('check', '1.2.3')).toMatchInlineSnapshot(`
      "resque-starter check — load and validate the config, then exit (0 = valid, 78 = broken)  (resque-starter 1.2.3)

      Usage:
        resque-starter check [-c conf.ts] [--redis] [--types]

      Loads the config as the master would, without starting anything and, without --redis, without connecting anywhere.
      The config's \`redis\` is a URL, ioredis options, a Sentinel set \`{ sentinels: [{ host, port }], name }\` or a Cluster
      \`{ cluster: [{ host, port }], options }\` (with a hash-tagged namespace such as '{resque}'); --redis warns when
      lockTimeout is too short for Sentinel's failover.

      Options:
        -c, --config FILE  config file (default: resque-starter.config.ts, .mjs or .js in the working directory)
        -C, --dir DIR      change to DIR before anything else (the config path and relative paths resolve from there)
            --redis        also connect to Redis and try what the workers need (1 = refused); report the node reached, its replicas, Sentinel's failover settings or the Cluster slot
            --types        also type-check the config file with the TypeScript compiler
        -h, --help         this help

      Example:
        resque-starter check --redis -c conf.ts
      "
    `);
  });

  const actions = COMMANDS.filter((c): c is ActionCommand => c !== 'help' && c !== 'version');
  it.each(actions)('%s --help names every option of %s, and no other', (command) => {
    const text = renderCommandHelp(command, '1.2.3');
    expect(text).toContain(`resque-starter ${command} —`);
    expect(text).toMatch(/\nExample:\n {2}resque-starter /);
    for (const spec of Object.values(OPTIONS)) {
      const own = (spec.commands as readonly string[]).includes(command);
      const flag = spec.flags[spec.flags.length - 1]!;
      if (flag === '--help' || flag === '--version') continue;
      expect(new RegExp(`^ +(-\\w, )?${flag}\\b`, 'm').test(text), `${flag} in ${command} --help`).toBe(own);
    }
  });

  it('web --help: the port, the host, the token', () => {
    expect(renderCommandHelp('web', '1.2.3')).toMatchInlineSnapshot(`
      "resque-starter web — a live dashboard in the browser: throughput, masters and rolling restarts, queues, failed jobs, workers  (resque-starter 1.2.3)

      Usage:
        resque-starter web [-c conf.ts] [--port N] [--host H] [--token T]

      Serves a dashboard over HTTP (no master needed; it reads the config's Redis and status file): throughput
      and failures over the last minutes, the masters and their workers per generation (a rolling restart as it
      happens, with its concurrency + 1 bound), the queues, the failed jobs (Retry and Remove, a page at a time) and
      every host's registered workers. Pages refresh by themselves. Loopback only unless --host names another
      address, which needs --token (or RESQUE_STARTER_WEB_TOKEN). TERM or INT stops it.

      Options:
        -c, --config FILE  config file (default: resque-starter.config.ts, .mjs or .js in the working directory)
        -C, --dir DIR      change to DIR before anything else (the config path and relative paths resolve from there)
            --port N       the TCP port (default 5678, as resque-web; 0 = any free port, said on stderr)
            --host HOST    the address to bind (default 127.0.0.1); any other than a loopback address needs a token
            --token TOKEN  require this token on every request (default: $RESQUE_STARTER_WEB_TOKEN); open the dashboard once with ?token=T (sets a cookie) or send \`Authorization: Bearer T\`
        -h, --help         this help

      Example:
        resque-starter web -c conf.ts            # then open http://127.0.0.1:5678/
        RESQUE_STARTER_WEB_TOKEN=$(openssl rand -hex 16) resque-starter web --host 0.0.0.0 -c conf.ts
      "
    `);
  });

  it('every line of the global help fits on a wide terminal (140 columns)', () => {
    const long = renderHelp('1.2.3').split('\n').filter((l) => l.length > 140 && !l.startsWith('Under start-server'));
    expect(long).toEqual([]);
  });
});
