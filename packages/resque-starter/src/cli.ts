#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { defineCommand, runMain } from 'citty';
import { ignoreOutputErrors, PidFileError } from '@baton/process-kit';
import { COMMANDS, parseArgv, type CliArgs, type CliCommand } from './argv.js';
import { DAEMON_ENV, startDaemon, type DaemonFailure } from './commands/daemon.js';
import { renderCommandHelp, renderHelp } from './commands/help.js';
import { findConfigPath, findMasterPid } from './commands/find-master.js';
import { findControlSocket, sendControl, type ControlRequest } from './control.js';
import { AdminError, ConfigError, ControlError, ExitCode, formatSystemError, StartupError, UsageError } from './errors.js';
import { isResqueStarterMaster } from './handoff.js';
import { loadConfigFile } from './load-config.js';
import { runMaster } from './master.js';
import type { ResolvedConfig } from './config.js';
import type { StatusSnapshot } from './status.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

// The only module that touches process.argv, process.env and process.exit, and the one table
// that maps errors to output and exit codes.
const main = defineCommand({
  meta: { name: 'resque-starter', version: pkg.version, description: 'A master for Resque worker processes' },
  async run() {
    process.exitCode = await runCli(process.argv.slice(2));
  },
});

async function runCli(argv: string[]): Promise<number> {
  // The background master started by `-D` reports a failed start to its starter, then goes on as a plain master.
  const daemonChild = process.env[DAEMON_ENV] === '1' && process.send !== undefined;
  delete process.env[DAEMON_ENV];
  const helpHint = COMMANDS.includes(argv[0] as CliCommand) && argv[0] !== 'help' && argv[0] !== 'version' ? `${argv[0]} --help` : '--help';
  let args: CliArgs;
  try {
    args = parseArgv(argv);
    // Before anything else: the config path and every relative path resolve from here.
    if (args.dir !== undefined) changeDirectory(args.dir);
  } catch (err) {
    return fail(err, helpHint);
  }
  try {
    switch (args.command) {
      case 'help':
        process.stdout.write(args.helpFor ? renderCommandHelp(args.helpFor, pkg.version) : renderHelp(pkg.version));
        return ExitCode.ok;
      case 'version':
        process.stdout.write(`${pkg.version}\n`);
        return ExitCode.ok;
      case 'check': {
        // Offline by default (CI, a build host); `--redis` also tries Redis, `--types` runs tsc on the config.
        const { runCheck } = await import('./on-demand.js');
        return await runCheck({
          configPath: findConfigPath(args.config),
          env: process.env,
          redis: args.redis,
          types: args.types,
          out: (line) => process.stdout.write(`${line}\n`),
        });
      }
      case 'run':
        if (args.daemonize) return await daemonize(args);
        // A closed log pipe (`| head`, a restarting `| logger`) must not take the master down.
        ignoreOutputErrors();
        return await runMaster(findConfigPath(args.config), { env: process.env, logFormat: args.logFormat, captureConsole: true });
      case 'stop':
        return await stop(args);
      case 'failed':
      case 'queues':
        return await admin(args);
      case 'web': {
        const { runWeb } = await import('./on-demand.js');
        return await runWeb({
          configPath: findConfigPath(args.config),
          host: args.host,
          port: args.port,
          token: args.token,
          env: process.env,
          stderr: process.stderr,
          stopped: new Promise((resolve) => {
            for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve(sig));
          }),
        });
      }
      default:
        return await control(args);
    }
  } catch (err) {
    const code = fail(err, helpHint);
    if (daemonChild) await reportToStarter(err);
    return code;
  }
}

async function daemonize(args: CliArgs): Promise<number> {
  // Loaded here first: a broken config is said on this terminal, and its files are known.
  const { config } = await loadConfigFile(findConfigPath(args.config), process.env);
  if (!config.pidFile) throw new UsageError(`\`--daemonize\` needs \`pidFile\` in ${config.path}, so that \`resque-starter stop\` can find the master`);
  const pid = await startDaemon({
    cli: process.argv[1]!,
    configPath: config.path,
    cwd: process.cwd(),
    env: process.env,
    logFile: config.logFile,
    fileMode: config.fileMode,
    logFormat: args.logFormat,
    // Its start: the config (up to RESQUE_STARTER_CONFIG_TIMEOUT), Redis (redisTimeout), then the control socket.
    readyTimeoutMs: config.redisTimeoutMs + 40_000,
  });
  process.stdout.write(`master ${pid}: started in the background (pid file ${config.pidFile}, log ${config.logFile ?? '/dev/null: set `logFile` to keep it'})\n`);
  return ExitCode.ok;
}

async function stop(args: CliArgs): Promise<number> {
  const { defaultStopTimeoutMs, killAfterMs, stopMaster } = await import('./on-demand.js');
  // The config gives the pid file (without --pid/--pid-file) and the default timeout (when it is readable).
  const config = !args.pid && !args.pidFile ? (await loadConfigFile(findConfigPath(args.config), process.env)).config : await optionalConfig(args);
  const pid = findMasterPid(args, config);
  // Signals, unlike control requests, reach any process: `--pid` must name a master.
  if (!isResqueStarterMaster(pid)) throw new ControlError(`pid ${pid} is not a running resque-starter master; nothing was sent to it`);
  const timeoutMs = args.timeoutSeconds !== undefined ? args.timeoutSeconds * 1000 : defaultStopTimeoutMs(config);
  const by = await stopMaster({ pid, timeoutMs, killAfterMs: killAfterMs(config), say: (line) => process.stderr.write(`resque-starter: ${line}\n`) });
  if (by === 'KILL') throw new ControlError(`master ${pid} was killed (SIGKILL): it did not stop after QUIT and TERM; its running jobs are recovered by the next master`);
  process.stdout.write(`master ${pid}: stopped${by === 'TERM' ? ' (after TERM: its running jobs went back to their queues)' : ''}\n`);
  return ExitCode.ok;
}

/** The config when one is given or found; a stop by --pid must not fail on an unreadable one. */
async function optionalConfig(args: CliArgs): Promise<ResolvedConfig | undefined> {
  try {
    return (await loadConfigFile(findConfigPath(args.config), process.env)).config;
  } catch (err) {
    if (args.config !== undefined) throw err;
    return undefined;
  }
}

/** `failed …` and `queues`: Resque's lists in the Redis the config names (no master needed). */
async function admin(args: CliArgs): Promise<number> {
  const { openAdminQueue, adminTargets, runFailed, queuesJson, readQueues, renderQueues } = await import('./on-demand.js');
  const { config } = await loadConfigFile(findConfigPath(args.config), process.env);
  const targets = adminTargets(config, args.group);
  const out = (text: string) => process.stdout.write(text);
  if (args.command === 'failed') {
    if (targets.length > 1) {
      throw new UsageError(`The groups of ${config.path} use ${targets.length} Redis servers or namespaces (${targets.map((t) => `${t.where}: ${t.groups.join(',')}`).join('; ')}); choose one with \`--group NAME\``);
    }
    const q = await openAdminQueue(targets[0]!.config);
    try {
      await runFailed({ ...args.failed!, queue: args.queue, className: args.className, exception: args.exception, limit: args.limit, json: args.json }, q, out);
    } finally {
      await q.close();
    }
    return ExitCode.ok;
  }
  const json: unknown[] = [];
  for (const t of targets) {
    const q = await openAdminQueue(t.config);
    try {
      const report = await readQueues(q);
      if (args.json) json.push({ redis: t.where, groups: t.groups, ...(JSON.parse(queuesJson(report, new Date())) as object) });
      else out(`${targets.length > 1 ? `${t.where} (groups ${t.groups.join(', ')}):\n` : ''}${renderQueues(report, new Date())}`);
    } finally {
      await q.close();
    }
  }
  if (args.json) out(`${JSON.stringify(targets.length === 1 ? json[0] : json, null, 2)}\n`);
  return ExitCode.ok;
}

function changeDirectory(dir: string): void {
  try {
    process.chdir(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such directory' : e.code === 'ENOTDIR' ? 'not a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new UsageError(`Cannot change to directory \`${dir}\` (\`--dir\`): ${why}${e.code ? ` (${e.code})` : ''}`);
  }
}

/** Tells the `-D` starter why this background master did not start (it has no terminal). */
async function reportToStarter(err: unknown): Promise<void> {
  const failed = err instanceof ConfigError ? `config error: ${err.shortMessage}` : (formatSystemError(err) ?? (err instanceof Error ? err.message : String(err)));
  const message: DaemonFailure = { failed };
  await new Promise<void>((resolve) => {
    if (!process.send?.(message, undefined, {}, () => resolve())) resolve();
  });
}

async function control(args: CliArgs): Promise<number> {
  // The config is read when it names the pid file, or for `scale` when it is given.
  const needConfig = (!args.pid && !args.pidFile) || (args.command === 'scale' && args.config !== undefined);
  const config = needConfig ? (await loadConfigFile(findConfigPath(args.config), process.env)).config : undefined;
  if (args.command === 'scale' && config) {
    // The master checks too; refusing here names the config field to change.
    const g = args.group !== undefined ? config.groups.find((x) => x.name === args.group) : undefined;
    const max = g?.maxConcurrency ?? config.maxConcurrency;
    if (args.workers! > max) {
      throw new UsageError(
        `Expected \`scale\` to get at most \`maxConcurrency\` (${max}) workers, got \`${args.workers}\`; raise \`maxConcurrency\` in ${config.path} if you mean it`,
      );
    }
  }
  const pid = findMasterPid(args, config);
  const path = findControlSocket(pid, process.env);
  const req: ControlRequest =
    args.command === 'scale'
      ? { cmd: 'scale', workers: args.workers!, ...(args.group !== undefined ? { group: args.group } : {}) }
      : args.command === 'status'
        ? { cmd: 'status' }
        : args.command === 'reload'
          ? { cmd: 'reload' }
          : args.command === 'pause' || args.command === 'resume'
            ? { cmd: 'pause', paused: args.command === 'pause', ...(args.group !== undefined ? { group: args.group } : {}) }
          : { cmd: 'reopen-logs' };
  const reply = await sendControl(path, req);
  if (!reply.ok) throw new ControlError(`master ${pid}: ${reply.error}`);
  if (args.command === 'status') {
    const { onlyGroup, renderStatusText } = await import('./on-demand.js');
    const status = args.group !== undefined ? onlyGroup(reply.status as StatusSnapshot, args.group) : (reply.status as StatusSnapshot);
    process.stdout.write(args.text ? renderStatusText(status) : `${JSON.stringify(status, null, 2)}\n`);
  } else if (args.command === 'scale') {
    process.stdout.write(`master ${pid}: ${reply.group !== undefined ? `group ${String(reply.group)}: ` : ''}${String(reply.concurrency)} worker(s)\n`);
  } else if (args.command === 'pause' || args.command === 'resume') {
    process.stdout.write(`master ${pid}: ${reply.group !== undefined ? `group ${String(reply.group)} ` : ''}${args.command === 'pause' ? 'paused' : 'resumed'}\n`);
  } else {
    process.stdout.write(`master ${pid}: ok\n`);
  }
  return ExitCode.ok;
}

function fail(err: unknown, helpHint = '--help'): number {
  const say = (m: string) => process.stderr.write(`resque-starter: ${m}\n`);
  if (err instanceof UsageError) {
    say(err.message);
    process.stderr.write(`Try \`resque-starter ${helpHint}\`.\n`);
    return ExitCode.usage;
  }
  if (err instanceof ConfigError) {
    say(`config error: ${err.shortMessage}`);
    return ExitCode.config;
  }
  if (err instanceof StartupError || err instanceof ControlError || err instanceof PidFileError || err instanceof AdminError) {
    // A system error passed on as is reads better formatted (`cannot mkdir …: … (EACCES)`).
    const cause = err.cause instanceof Error && err.cause.message === err.message ? formatSystemError(err.cause) : undefined;
    say(cause ?? err.message);
    return ExitCode.failure;
  }
  const system = formatSystemError(err);
  if (system !== undefined) {
    say(system);
    return ExitCode.failure;
  }
  say(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return ExitCode.failure;
}

void runMain(main, { rawArgs: [] }).then(() => {
  // Handles stay open only while the master runs; exit explicitly once it is done.
  process.exit(process.exitCode ?? 0);
});
