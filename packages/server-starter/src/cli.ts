#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { defineCommand, runMain } from 'citty';
import { createLogger, FILE_MODES, ignoreOutputErrors, LogFileError, openLogFile, PidFileError } from '@baton/process-kit';
import { parseArgv } from './argv.js';
import { ControlError, ListenError, UsageError } from './errors.js';
import { renderHelp } from './help.js';
import { resolveOptions, type StartServerOptions } from './options.js';
import { restartServer, stopServer } from './control.js';
import { startLogPipe, type LogPipe } from './log-pipe.js';
import { closeFd, startServer } from './supervisor.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

// The only module that touches process.argv, process.env and process.exit.
const main = defineCommand({
  meta: { name: 'start-server', version: pkg.version, description: 'Server::Starter-compatible zero-downtime supervisor' },
  async run() {
    process.exitCode = await runCli(process.argv.slice(2));
  },
});

async function runCli(argv: string[]): Promise<number> {
  let options: StartServerOptions;
  try {
    const { options: raw, command } = parseArgv(argv);
    options = resolveOptions(raw, command, process.env);
  } catch (err) {
    return fail(err);
  }
  if (options.mode === 'help') {
    process.stdout.write(renderHelp(pkg.version));
    return 0;
  }
  if (options.mode === 'version') {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const logger = createLogger({ tag: 'start-server', level: options.logLevel, format: options.logFormat });
  try {
    if (options.mode === 'restart') {
      await restartServer({ pidFile: options.pidFile!, statusFile: options.statusFile!, timeoutMs: options.restartTimeoutMs }, logger);
      return 0;
    }
    if (options.mode === 'stop') {
      await stopServer({ pidFile: options.pidFile! }, logger);
      return 0;
    }
    if (options.daemonize && process.env.BATON_START_SERVER_DAEMON !== '1') return await daemonize(argv);
    return await run(options);
  } catch (err) {
    return fail(err, logger.error.bind(logger));
  }
}

async function run(options: StartServerOptions): Promise<number> {
  // A closed stdout/stderr (`| head -1`, a restarted log collector) drops lines; it never
  // kills start-server and orphans the generations.
  ignoreOutputErrors();
  let childOutput: number | undefined;
  let logStream: NodeJS.WritableStream = process.stderr;
  let logPipe: LogPipe | undefined;
  if (options.logFile?.kind === 'file') {
    childOutput = openLogFile(options.logFile.path, { mode: options.fileMode ?? FILE_MODES.log });
    logStream = createWriteStream('', { fd: childOutput, autoClose: false });
  } else if (options.logFile?.kind === 'fd') {
    // Our own stdout/stderr/fd N: generations inherit it as is; it is not ours to close.
    childOutput = options.logFile.fd;
    logStream = childOutput === 1 ? process.stdout : childOutput === 2 ? process.stderr : createWriteStream('', { fd: childOutput, autoClose: false });
    ignoreOutputErrors([logStream]);
  } else if (options.logFile?.kind === 'pipe') {
    logPipe = startLogPipe({
      command: options.logFile.command,
      restartDelayMs: Math.max(options.intervalMs, 100),
      maxRestartDelayMs: options.maxRetryDelayMs,
      fallback: process.stderr,
    });
    logStream = logPipe.stream;
  }
  const logger = createLogger({ tag: 'start-server', level: options.logLevel, format: options.logFormat, stream: logStream });
  const daemonChannel = process.env.BATON_START_SERVER_DAEMON === '1' && process.send ? process : undefined;
  const code = await startServer(options, {
    logger,
    env: { ...process.env, BATON_START_SERVER_DAEMON: undefined },
    childOutput: logPipe ?? childOutput,
    childInput: daemonChannel ? 'ignore' : 'inherit',
    onStarted: () => {
      if (daemonChannel) {
        daemonChannel.send?.({ started: process.pid });
        daemonChannel.disconnect?.();
      }
    },
  });
  if (logPipe) {
    await logPipe.close();
  } else if (childOutput !== undefined && options.logFile?.kind === 'file') {
    await new Promise<void>((resolve) => logStream.write('', () => resolve()));
    closeFd(childOutput);
  }
  return code;
}

/** Node cannot fork: start ourselves again in a new session and return once it is up. */
async function daemonize(argv: string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, BATON_START_SERVER_DAEMON: '1' },
  });
  return await new Promise<number>((resolve) => {
    child.once('message', () => {
      child.unref();
      resolve(0);
    });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

function fail(err: unknown, log: (msg: string) => void = (m) => process.stderr.write(`start-server: ${m}\n`)): number {
  if (err instanceof UsageError) {
    process.stderr.write(`start-server: ${err.message}\nTry \`start-server --help\` for the options.\n`);
    return 2;
  }
  if (err instanceof ListenError) {
    log(err.message);
    return 3;
  }
  if (err instanceof ControlError || err instanceof PidFileError || err instanceof LogFileError) {
    log(err.message);
    return 1;
  }
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return 1;
}

void runMain(main, { rawArgs: [] }).then(() => {
  // Handles stay open only while the supervisor runs; exit explicitly once it is done.
  process.exit(process.exitCode ?? 0);
});
