#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineCommand, runMain } from 'citty';
import { ignoreOutputErrors, isAlive, PidFileError, readPidFile } from '@baton/process-kit';
import { parseArgv, renderHelp, type CliArgs } from './argv.js';
import { findControlSocket, sendControl, type ControlRequest } from './control.js';
import { ConfigError, ControlError, ExitCode, formatSystemError, StartupError, UsageError } from './errors.js';
import { isResqueStarterMaster } from './handoff.js';
import { loadConfigFile } from './load-config.js';
import { runMaster } from './master.js';
import { describeRedis, type ResolvedConfig } from './config.js';
import { checkRedis } from './redis-check.js';
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
  let args: CliArgs;
  try {
    args = parseArgv(argv);
  } catch (err) {
    return fail(err);
  }
  try {
    switch (args.command) {
      case 'help':
        process.stdout.write(renderHelp(pkg.version));
        return ExitCode.ok;
      case 'version':
        process.stdout.write(`${pkg.version}\n`);
        return ExitCode.ok;
      case 'check': {
        const { config, loadMs } = await loadConfigFile(configPath(args), process.env);
        // Offline by default (CI, a build host); `--redis` also tries what the workers need.
        if (args.redis) await checkRedis(config);
        process.stdout.write(
          `${config.path}: ok (${config.concurrency} worker(s), queues ${config.queues.join(',')}, ` +
            `jobs ${Object.keys(config.jobs).join(',') || 'none'}; loaded in ${Math.round(loadMs)} ms; types are not checked: use tsc --noEmit; ` +
            `${args.redis ? `Redis at ${describeRedis(config.redis)} answers and permits what the workers need` : 'Redis not checked: add --redis'})\n`,
        );
        return ExitCode.ok;
      }
      case 'run':
        // A closed log pipe (`| head`, a restarting `| logger`) must not take the master down.
        ignoreOutputErrors();
        return await runMaster(configPath(args), { env: process.env });
      default:
        return await control(args);
    }
  } catch (err) {
    return fail(err);
  }
}

async function control(args: CliArgs): Promise<number> {
  // The config is read when it names the pid file, or for `scale` when it is given.
  const needConfig = (!args.pid && !args.pidFile) || (args.command === 'scale' && args.config !== undefined);
  const config = needConfig ? (await loadConfigFile(configPath(args), process.env)).config : undefined;
  if (args.command === 'scale' && config) {
    // The master checks too; refusing here names the config field to change.
    if (args.workers! > config.maxConcurrency) {
      throw new UsageError(
        `Expected \`scale\` to get at most \`maxConcurrency\` (${config.maxConcurrency}) workers, got \`${args.workers}\`; raise \`maxConcurrency\` in ${config.path} if you mean it`,
      );
    }
  }
  const pid = masterPid(args, config);
  const path = findControlSocket(pid, process.env);
  const req: ControlRequest =
    args.command === 'scale'
      ? { cmd: 'scale', workers: args.workers! }
      : args.command === 'status'
        ? { cmd: 'status' }
        : args.command === 'reload'
          ? { cmd: 'reload' }
          : { cmd: 'reopen-logs' };
  const reply = await sendControl(path, req);
  if (!reply.ok) throw new ControlError(`master ${pid}: ${reply.error}`);
  if (args.command === 'status') {
    const status = reply.status as StatusSnapshot;
    process.stdout.write(args.text ? renderStatusText(status) : `${JSON.stringify(status, null, 2)}\n`);
  } else if (args.command === 'scale') {
    process.stdout.write(`master ${pid}: ${String(reply.concurrency)} worker(s)\n`);
  } else {
    process.stdout.write(`master ${pid}: ok\n`);
  }
  return ExitCode.ok;
}

function masterPid(args: CliArgs, config: ResolvedConfig | undefined): number {
  if (args.pid) return args.pid;
  let pidFile = args.pidFile;
  if (!pidFile) {
    pidFile = config?.pidFile;
    if (!pidFile) throw new UsageError('the config has no `pidFile`: pass `--pid N` or `--pid-file FILE`');
  }
  const pid = readPidFile(pidFile);
  if (pid === undefined) throw new ControlError(`no master pid in ${pidFile}: is resque-starter running?`);
  // A stale pid file (the master died with -9) may name a pid reused by another process.
  if (!isAlive(pid)) throw new ControlError(`no master is running: ${pidFile} names pid ${pid}, which is not running (stale pid file)`);
  if (!isResqueStarterMaster(pid)) {
    throw new ControlError(`no master is running: ${pidFile} names pid ${pid}, which is not a resque-starter master (stale pid file); nothing was sent to it`);
  }
  return pid;
}

function configPath(args: CliArgs): string {
  if (args.config) return args.config;
  for (const name of ['resque-starter.config.ts', 'resque-starter.config.mjs', 'resque-starter.config.js']) {
    if (existsSync(resolve(name))) return name;
  }
  throw new UsageError('no config file: pass `-c conf.ts` (or create resque-starter.config.ts)');
}

function renderStatusText(s: StatusSnapshot): string {
  const lines = [
    `master ${s.master.pid}${s.master.generation !== null ? ` gen ${s.master.generation}` : ''} ${s.master.state}${s.master.paused ? ' paused' : ''} ` +
      `${s.workers.length}/${s.master.concurrency} worker(s) queues ${s.master.queues.join(',')}`,
  ];
  for (const w of s.workers) {
    lines.push(
      `  worker[${w.slot}] ${w.pid ?? '-'} ${w.state}${w.job ? ` ${w.job.class}@${w.job.queue} since ${w.job.startedAt}` : ''} ` +
        `processed=${w.processed}${w.memoryKb !== null ? ` rss=${Math.round(w.memoryKb / 1024)}MB` : ''}`,
    );
  }
  for (const o of s.oldMasters) lines.push(`  old master ${o.pid}: ${o.workers} worker(s)`);
  return `${lines.join('\n')}\n`;
}

function fail(err: unknown): number {
  const say = (m: string) => process.stderr.write(`resque-starter: ${m}\n`);
  if (err instanceof UsageError) {
    say(err.message);
    process.stderr.write('Try `resque-starter --help`.\n');
    return ExitCode.usage;
  }
  if (err instanceof ConfigError) {
    say(`config error: ${err.shortMessage}`);
    return ExitCode.config;
  }
  if (err instanceof StartupError || err instanceof ControlError || err instanceof PidFileError) {
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
