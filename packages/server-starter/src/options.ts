import { resolve } from 'node:path';
import { parseLogFormat, resolveFileMode, resolveLevel, resolveSignal, type LogFormat, type SignalName } from '@baton/process-kit';
import type { RawOptions } from './argv.js';
import { UsageError } from './errors.js';
import { parsePathSpec, parsePortSpec, PortSpecError, type ListenSpec } from './protocol.js';

/**
 * Where start-server and its generations write: a file opened safely, a command fed through a
 * relayed pipe, or one of start-server's own fds (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`,
 * `/proc/self/fd/N`), used as it is: opening it by name fails for a socket (journald's stdout).
 */
export type LogTarget = { kind: 'file'; path: string } | { kind: 'pipe'; command: string } | { kind: 'fd'; fd: number };

/** Resolved start-server settings; times are in milliseconds. */
export interface StartServerOptions {
  mode: 'run' | 'restart' | 'stop' | 'help' | 'version';
  /** Sockets to bind, `--port`s first, then `--path`s (the order of `SERVER_STARTER_PORT`). */
  listen: ListenSpec[];
  /** Listen backlog; default SOMAXCONN (as Server::Starter). */
  backlog: number;
  /** chdir for each generation. */
  dir: string | undefined;
  /** A new generation must stay up this long to count as started; also the base retry delay. Default 1 s. */
  intervalMs: number;
  /** Sent to older generations once the new one is up. Default SIGTERM. */
  signalOnHup: SignalName;
  /** Sent to every generation when start-server is asked to stop. Default SIGTERM. */
  signalOnTerm: SignalName;
  /** Wait before signalling old generations. Default 0, or 5 s with auto-restart. */
  killOldDelayMs: number;
  /** On stop, SIGKILL generations still alive after this long; 0 waits forever. Default 30 s. */
  termTimeoutMs: number;
  /** Cap of the growing delay between attempts to start a generation that keeps failing. Default 60 s. */
  maxRetryDelayMs: number;
  statusFile: string | undefined;
  pidFile: string | undefined;
  logFile: LogTarget | undefined;
  /**
   * Permission bits of the pid, status and log files start-server creates (`--file-mode`),
   * applied as given. Undefined: pid file 0644, status and log files 0640 (FILE_MODES).
   * An existing log file keeps its mode.
   */
  fileMode: number | undefined;
  logLevel: number;
  /** `--log-format` (or BATON_LOG_FORMAT): start-server's own lines as text or JSON. */
  logFormat: LogFormat;
  envdir: string | undefined;
  daemonize: boolean;
  autoRestart: { enabled: boolean; intervalMs: number };
  /**
   * `--ready-notify`: a generation is accepted when it writes `READY=1` to the fd named in
   * SERVER_STARTER_NOTIFY_FD, not after --interval (env START_SERVER_READY_NOTIFY=1).
   */
  readyNotify: boolean;
  /** `--ready-timeout`: a generation silent this long is stopped as a failed start; 0 waits for ever (the default). */
  readyTimeoutMs: number;
  /** `--restart` waits at most this long for the new generation. Default 300 s. */
  restartTimeoutMs: number;
  command: string[];
  /** Variables exported to every generation because an option set them (Server::Starter does the same). */
  exportedEnv: Record<string, string>;
}

/** SOMAXCONN on Linux since 5.4; what Perl's Socket::SOMAXCONN reported here. */
export const DEFAULT_BACKLOG = 4096;

/** Why: all validation happens once, before any socket is bound, with execa-style one-line messages. */
export function resolveOptions(
  raw: RawOptions,
  command: string[],
  env: Readonly<Record<string, string | undefined>> = {},
): StartServerOptions {
  const mode = raw.help ? 'help' : raw.version ? 'version' : raw.restart ? 'restart' : raw.stop ? 'stop' : 'run';
  const listen: ListenSpec[] = [];
  try {
    for (const p of raw.port ?? []) for (const one of p.split(',')) if (one.trim()) listen.push(parsePortSpec(one));
    for (const p of raw.path ?? []) listen.push(parsePathSpec(p));
  } catch (err) {
    if (err instanceof PortSpecError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
  const fds = listen.map((l) => l.fd).filter((fd): fd is number => fd !== undefined);
  const dup = fds.find((fd, i) => fds.indexOf(fd) !== i);
  if (dup !== undefined) throw new UsageError(`file descriptor ${dup} is given to more than one --port/--path`);

  const autoEnabled = raw['enable-auto-restart'] ?? isTruthy(env.ENABLE_AUTO_RESTART);
  const killOldDefault = autoEnabled ? 5 : 0;
  const exportedEnv: Record<string, string> = {};
  if (raw.envdir !== undefined) exportedEnv.ENVDIR = raw.envdir;
  if (raw['enable-auto-restart']) exportedEnv.ENABLE_AUTO_RESTART = '1';
  if (raw['kill-old-delay'] !== undefined) exportedEnv.KILL_OLD_DELAY = raw['kill-old-delay'];
  if (raw['auto-restart-interval'] !== undefined) exportedEnv.AUTO_RESTART_INTERVAL = raw['auto-restart-interval'];
  const format = logFormat(raw['log-format'], env.BATON_LOG_FORMAT);
  // The generations (resque-starter reads it) write in the same format as start-server.
  if (raw['log-format'] !== undefined) exportedEnv.BATON_LOG_FORMAT = format;

  const options: StartServerOptions = {
    mode,
    listen,
    backlog: integer(raw.backlog, '--backlog', DEFAULT_BACKLOG, 1),
    dir: raw.dir,
    intervalMs: seconds(raw.interval, '--interval', 1),
    signalOnHup: signal(raw['signal-on-hup'] ?? 'TERM', '--signal-on-hup'),
    signalOnTerm: signal(raw['signal-on-term'] ?? 'TERM', '--signal-on-term'),
    killOldDelayMs: seconds(raw['kill-old-delay'] ?? env.KILL_OLD_DELAY, '--kill-old-delay', killOldDefault),
    termTimeoutMs: seconds(raw['term-timeout'], '--term-timeout', 30),
    maxRetryDelayMs: seconds(raw['max-retry-delay'], '--max-retry-delay', 60),
    statusFile: raw['status-file'] === undefined ? undefined : resolve(raw['status-file']),
    pidFile: raw['pid-file'] === undefined ? undefined : resolve(raw['pid-file']),
    logFile: logTarget(raw['log-file']),
    fileMode: raw['file-mode'] === undefined ? undefined : fileMode(raw['file-mode']),
    logLevel: logLevel(raw['log-level'] ?? env.BATON_LOG_LEVEL),
    logFormat: format,
    envdir: raw.envdir ?? env.ENVDIR,
    daemonize: raw.daemonize ?? false,
    autoRestart: {
      enabled: autoEnabled,
      intervalMs: seconds(raw['auto-restart-interval'] ?? env.AUTO_RESTART_INTERVAL, '--auto-restart-interval', 360),
    },
    readyNotify: raw['ready-notify'] ?? isTruthy(env.START_SERVER_READY_NOTIFY),
    readyTimeoutMs: seconds(raw['ready-timeout'] ?? env.START_SERVER_READY_TIMEOUT, '--ready-timeout', 0),
    restartTimeoutMs: seconds(raw['restart-timeout'], '--restart-timeout', 300),
    command,
    exportedEnv,
  };

  if (mode === 'restart' && (!options.pidFile || !options.statusFile)) {
    throw new UsageError('--restart option requires --pid-file and --status-file to be set as well');
  }
  if (mode === 'stop' && !options.pidFile) {
    throw new UsageError('--stop option requires --pid-file to be set as well');
  }
  if (mode === 'run') {
    if (command.length === 0) throw new UsageError('server program not specified (give it after `--`)');
    if (options.daemonize && !options.logFile) {
      throw new UsageError('--log-file option must be specified together with --daemonize');
    }
    if (options.autoRestart.enabled && options.autoRestart.intervalMs < 1000) {
      throw new UsageError('Expected the `--auto-restart-interval` option to be at least 1 second');
    }
  }
  return options;
}

// --- internal ---

function isTruthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0';
}

function seconds(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return Math.round(fallback * 1000);
  const n = Number(value);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value) || !Number.isFinite(n)) {
    throw new UsageError(`Expected the \`${name}\` option to be a non-negative number of seconds, got \`${value}\``);
  }
  return Math.round(n * 1000);
}

function integer(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`Expected the \`${name}\` option to be an integer of at least ${min}, got \`${value}\``);
  }
  return Number(value);
}

function signal(value: string, name: string): SignalName {
  try {
    return resolveSignal(value, name);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function fileMode(value: string): number {
  try {
    return resolveFileMode(value, '--file-mode');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function logTarget(value: string | undefined): LogTarget | undefined {
  if (value === undefined) return undefined;
  const pipe = /^\s*\|\s*(.*)$/.exec(value);
  if (pipe) {
    if (!pipe[1]) throw new UsageError('Expected a command after `|` in the `--log-file` option');
    return { kind: 'pipe', command: pipe[1] };
  }
  const own = /^\/dev\/(stdout|stderr)$|^\/(?:dev|proc\/self)\/fd\/(\d+)$/.exec(value.trim());
  if (own) return { kind: 'fd', fd: own[1] === 'stdout' ? 1 : own[1] === 'stderr' ? 2 : Number(own[2]) };
  return { kind: 'file', path: resolve(value) };
}

/** `--log-format`: `text` or `json` (refused otherwise); BATON_LOG_FORMAT when not given (ignored unless valid). */
function logFormat(flag: string | undefined, env: string | undefined): LogFormat {
  if (flag === undefined) return parseLogFormat(env) ?? 'text';
  const f = parseLogFormat(flag);
  if (!f) throw new UsageError(`Expected the \`--log-format\` option to be text or json, got \`${flag}\``);
  return f;
}

function logLevel(value: string | undefined): number {
  if (value === undefined || value === '') return resolveLevel('info');
  const known = ['silent', 'fatal', 'error', 'warn', 'log', 'info', 'success', 'debug', 'trace', 'verbose'];
  if (!known.includes(value) && !/^-?\d+$/.test(value)) {
    throw new UsageError(`Expected the \`--log-level\` option to be one of ${known.join(', ')}, got \`${value}\``);
  }
  return resolveLevel(value);
}
