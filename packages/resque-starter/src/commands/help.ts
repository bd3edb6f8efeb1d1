import { COMMANDS, OPTIONS, type ActionCommand, type OptionKey } from '../argv.js';

/** What `--help` says of each option (the flags and commands come from argv.ts's table). */
const OPTION_TEXT: Record<OptionKey, string> = {
  config: 'config file (default: resque-starter.config.ts, .mjs or .js in the working directory)',
  dir: 'change to DIR before anything else (the config path and relative paths resolve from there)',
  daemonize: 'run in the background: returns once the master is up (exit 0), or says why it did not start; needs `pidFile` in the config; output goes to `logFile` (else /dev/null)',
  logFormat: "log lines as `text` or `json` (one object a line; overrides the config's logFormat; default: logFormat, else BATON_LOG_FORMAT, else text)",
  pid: 'the master with this pid (instead of the config\'s pidFile)',
  pidFile: 'read the master\'s pid from FILE (default: the config\'s pidFile)',
  timeout: 'seconds to wait after QUIT before escalating to TERM (default: the config\'s stopTimeout + termTimeout + 10; 74 without a config; no escalation when stopTimeout is Infinity)',
  text: 'a table instead of JSON',
  json: 'JSON (the default of `status`; `failed` and `queues` print a table without it)',
  queue: '`failed list`, `retry all`, `clear`: only the entries of queue Q',
  class: '`failed list`, `retry all`, `clear`: only the entries of job class C',
  exception: '`failed list`, `retry all`, `clear`: only the entries whose error is of class E (the record\'s `exception`, e.g. `Net::ReadTimeout`)',
  limit: '`failed list`: show at most N entries (default 50; 0 = all)',
  group: "the Redis and namespace of this group (when the config's groups use several)",
  redis: 'also connect to Redis and try what the workers need (1 = refused); report the node reached, its replicas, Sentinel\'s failover settings or the Cluster slot',
  types: 'also type-check the config file with the TypeScript compiler',
  port: 'the TCP port (default 5678, as resque-web; 0 = any free port, said on stderr)',
  host: 'the address to bind (default 127.0.0.1); any other than a loopback address needs a token',
  token: 'require this token on every request (default: $RESQUE_STARTER_WEB_TOKEN); open the dashboard once with ?token=T (sets a cookie) or send `Authorization: Bearer T`',
  help: 'this help',
  version: 'the version',
};

interface CommandHelp {
  /** The one line of the global help. */
  summary: string;
  usage: string;
  /** What it does, a few lines. */
  text: string;
  example: string;
}

const COMMAND_HELP: Record<ActionCommand, CommandHelp> = {
  run: {
    summary: 'run the master (the default command; -D runs it in the background)',
    usage: 'resque-starter [run] [-c conf.ts] [-C DIR] [-D] [--log-format text|json]',
    text: `Starts the master and its workers. Signals: TERM/INT quick stop (jobs go back to their queues),
QUIT graceful (jobs finish), TTIN/TTOU one worker more/fewer, HUP reload, USR2/CONT pause/resume.
With -D it returns once the master answers on its control socket; stop it with \`resque-starter stop\`.`,
    example: `resque-starter -D -c conf.ts && resque-starter stop -c conf.ts
  start-server --signal-on-hup=CONT --status-file tmp/start-server.status -- resque-starter -c conf.ts`,
  },
  check: {
    summary: 'load and validate the config, then exit (0 = valid, 78 = broken)',
    usage: 'resque-starter check [-c conf.ts] [--redis] [--types]',
    text: `Loads the config as the master would, without starting anything and, without --redis, without connecting anywhere.
The config's \`redis\` is a URL, ioredis options, a Sentinel set \`{ sentinels: [{ host, port }], name }\` or a Cluster
\`{ cluster: [{ host, port }], options }\` (with a hash-tagged namespace such as '{resque}'); --redis warns when
lockTimeout is too short for Sentinel's failover.`,
    example: 'resque-starter check --redis -c conf.ts',
  },
  status: {
    summary: "the running master's state as JSON (--text for a table)",
    usage: 'resque-starter status [GROUP] [-c conf.ts | --pid N | --pid-file FILE] [--text]',
    text: 'Asks the master on its control socket: its state, its worker groups, the workers, their current jobs and memory. With GROUP, only that group.',
    example: 'resque-starter status --text -c conf.ts',
  },
  scale: {
    summary: 'set the number of workers exactly, 0 to maxConcurrency',
    usage: 'resque-starter scale [GROUP] N [-c conf.ts | --pid N | --pid-file FILE]',
    text: `Sets the number of workers to N (an integer from 0 to the config's maxConcurrency). Exact where
TTIN/TTOU signals of one kind may merge. With worker groups, GROUP names the group to scale
(required when the config has several).`,
    example: 'resque-starter scale 5 -c conf.ts',
  },
  pause: {
    summary: 'pause the workers of one group (or all, like USR2): they finish their job and take no new one',
    usage: 'resque-starter pause [GROUP] [-c conf.ts | --pid N | --pid-file FILE]',
    text: `With GROUP, only that worker group's workers stop taking jobs (each finishes the one it runs);
the other groups go on. Without, every worker, as USR2. \`resume\` undoes it.`,
    example: 'resque-starter pause reports -c conf.ts',
  },
  resume: {
    summary: 'resume the workers of one group (or all, like CONT)',
    usage: 'resque-starter resume [GROUP] [-c conf.ts | --pid N | --pid-file FILE]',
    text: 'With GROUP, that worker group takes jobs again (unless the whole master is paused by USR2). Without, every worker and every group, as CONT.',
    example: 'resque-starter resume reports -c conf.ts',
  },
  reload: {
    summary: 'reload the config and replace the workers one by one (like HUP)',
    usage: 'resque-starter reload [-c conf.ts | --pid N | --pid-file FILE]',
    text: 'The master reloads its config file and replaces its workers one by one; a broken config is refused and the workers keep running.',
    example: 'resque-starter reload -c conf.ts',
  },
  'reopen-logs': {
    summary: 'reopen logFile (for logrotate)',
    usage: 'resque-starter reopen-logs [-c conf.ts | --pid N | --pid-file FILE]',
    text: 'The master and its workers reopen logFile, after logrotate has moved it.',
    example: 'resque-starter reopen-logs -c /etc/app/conf.ts',
  },
  stop: {
    summary: 'stop the master gracefully (QUIT), wait for it, escalate after --timeout',
    usage: 'resque-starter stop [-c conf.ts | --pid N | --pid-file FILE] [--timeout SECONDS]',
    text: `Sends QUIT (running jobs finish) and waits for the master to exit. After --timeout it sends TERM
(jobs still running go back to their queues), and after termTimeout + 10 s more, KILL to the master
and its workers. Each step is said on stderr. Exit 0 once the master has stopped after QUIT or
TERM; 1 when it had to be killed or could not be stopped. A master under start-server is refused
(start-server would start it again): stop start-server instead (\`start-server --stop --pid-file FILE\`).`,
    example: 'resque-starter stop --timeout 120 -c conf.ts',
  },
  failed: {
    summary: "Resque's failed jobs: list, show N, retry N|all, remove N, clear",
    usage: 'resque-starter failed [list|show N|retry N|retry all|remove N|clear] [-c conf.ts] [--group G] [--queue Q] [--class C] [--exception E] [--json]',
    text: `Reads and changes Resque's failed list in the Redis of the config (no master needed); N is the
index \`failed list\` shows, as resque-web numbers them. \`retry\` enqueues the job again and marks the
entry retried (resque-web's Retry); \`retry all\` skips entries already retried. \`remove\` and \`clear\`
delete entries (\`clear\` without --queue/--class/--exception: all of them). resque-web works on the same Redis.`,
    example: `resque-starter failed list --queue mail -c conf.ts
  resque-starter failed show 0 -c conf.ts && resque-starter failed retry 0 -c conf.ts`,
  },
  web: {
    summary: 'a live dashboard in the browser: throughput, masters and rolling restarts, queues, failed jobs, workers',
    usage: 'resque-starter web [-c conf.ts] [--port N] [--host H] [--token T]',
    text: `Serves a dashboard over HTTP (no master needed; it reads the config's Redis and status file): throughput
and failures over the last minutes, the masters and their workers per generation (a rolling restart as it
happens, with its concurrency + 1 bound), the queues, the failed jobs (Retry and Remove, a page at a time) and
every host's registered workers. Pages refresh by themselves. Loopback only unless --host names another
address, which needs --token (or RESQUE_STARTER_WEB_TOKEN). TERM or INT stops it.`,
    example: `resque-starter web -c conf.ts            # then open http://127.0.0.1:5678/
  RESQUE_STARTER_WEB_TOKEN=$(openssl rand -hex 16) resque-starter web --host 0.0.0.0 -c conf.ts`,
  },
  queues: {
    summary: 'the queues: jobs waiting, the oldest one\'s age, delayed jobs, the failed count',
    usage: 'resque-starter queues [-c conf.ts] [--group G] [--json]',
    text: `Reads the Redis of the config (no master needed): each queue's depth, how long the oldest job has
waited (when its payload carries \`enqueued_at\`), its delayed jobs (scheduled, retries waiting); then the failed count.`,
    example: 'resque-starter queues --json -c conf.ts',
  },
};

/** Why: `--help` lists every command with one line, and how to get a command's own help. */
export function renderHelp(version: string): string {
  const commands: Array<readonly [string, string]> = (COMMANDS.filter((c) => c !== 'help' && c !== 'version') as ActionCommand[]).map((c) => [c === 'scale' ? 'scale N' : c === 'failed' ? 'failed ACTION' : c, COMMAND_HELP[c].summary] as const);
  commands.push(['help [COMMAND]', "this help, or a command's usage, options and example"]);
  return `resque-starter ${version} — a master for Resque worker processes

Usage:
  resque-starter [COMMAND] [options]

Commands:
${table(commands)}

Options of every command:
${table(optionRows(['config', 'dir', 'help', 'version']))}

\`resque-starter COMMAND --help\` shows a command's options and an example.
Under start-server:  start-server --signal-on-hup=CONT --status-file tmp/start-server.status -- resque-starter -c conf.ts
In the background:   resque-starter -D -c conf.ts; then resque-starter stop -c conf.ts
See SIGNALS.md for every signal.
`;
}

/** Why: `resque-starter scale --help` answers for scale: its usage, its options, an example. */
export function renderCommandHelp(command: ActionCommand, version: string): string {
  const h = COMMAND_HELP[command];
  const own = (Object.keys(OPTIONS) as OptionKey[]).filter((k) => (OPTIONS[k].commands as readonly string[]).includes(command));
  return `resque-starter ${command} — ${h.summary}  (resque-starter ${version})

Usage:
  ${h.usage}

${h.text}

Options:
${table(optionRows([...own, 'help']))}

Example:
  ${h.example}
`;
}

// --- internal ---

function optionRows(keys: readonly OptionKey[]): Array<readonly [string, string]> {
  return keys.map((k) => {
    const spec = OPTIONS[k];
    const flags = spec.flags.length === 1 ? `    ${spec.flags[0]}` : spec.flags.join(', ');
    return [`${flags}${spec.value ? ` ${spec.value}` : ''}`, OPTION_TEXT[k]] as const;
  });
}

function table(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, t]) => `  ${l.padEnd(width)}${t}`).join('\n');
}
