import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { onExit } from 'signal-exit';
import {
  acquirePidFile,
  createTimerTable,
  FILE_MODES,
  readCmdline,
  sendSignal,
  writeFileAtomic,
  type Logger,
  type SignalName,
} from '@baton/process-kit';
import { readEnvdir } from './envdir.js';
import { bindAll, socketStdio, type BoundSocket } from './listeners.js';
import { messages } from './messages.js';
import type { StartServerOptions } from './options.js';
import { formatServerStarterPort, formatStatusFile } from './protocol.js';
import { initialState, reduce, type Effect, type SupervisorEvent, type SupervisorState } from './state.js';

export interface StartServerHost {
  logger: Logger;
  /** start-server's environment at start; each generation gets it plus envdir and protocol variables. */
  env: NodeJS.ProcessEnv;
  /** stdout/stderr fd for the generations ('inherit' when undefined), or a relay that takes each generation's stdout and stderr pipes (`--log-file="| CMD"`). */
  childOutput?: number | OutputRelay | undefined;
  /** stdin for the generations. */
  childInput?: 'inherit' | 'ignore';
  /** Called once the pid file is written and the first generation is spawned (daemon handshake). */
  onStarted?: () => void;
}

/** Takes a generation's output pipes and forwards what it writes (see log-pipe.ts). */
export interface OutputRelay {
  adopt(output: Readable): void;
}

/** The signals start-server gives a meaning to; the others below are handled only to be logged. */
export const CONTROL_SIGNALS: SignalName[] = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGQUIT'];
const LOGGED_SIGNALS: SignalName[] = ['SIGUSR1', 'SIGUSR2', 'SIGTTIN', 'SIGTTOU', 'SIGTSTP'];

/** Tells whether a pid's command line is a start-server (ours or Perl's). */
export function isStartServer(pid: number): boolean {
  return /start[-_]server/.test(readCmdline(pid));
}

/**
 * Why: runs the supervisor: binds the sockets, takes the pid file, then feeds signals, child
 * exits and timers one at a time through the pure reducer and executes its effects.
 * Resolves with the exit code once every generation is gone.
 */
export async function startServer(options: StartServerOptions, host: StartServerHost): Promise<number> {
  const { logger } = host;
  const releasePid = options.pidFile
    ? acquirePidFile(options.pidFile, process.pid, { isOurs: isStartServer, what: 'start-server', mode: options.fileMode ?? FILE_MODES.pid })
    : () => undefined;
  logger.info(messages.startingNow(process.pid));
  let sockets: BoundSocket[];
  try {
    sockets = bindAll(options.listen, options.backlog, (m) => logger.warn(m));
  } catch (err) {
    releasePid();
    throw err;
  }
  for (const s of sockets) logger.debug(`listening on ${s.address} (fd ${s.fd} → ${s.childFd} in workers)`);

  const baseEnv: NodeJS.ProcessEnv = {
    ...host.env,
    ...options.exportedEnv,
    SERVER_STARTER_PORT: formatServerStarterPort(sockets.map((s) => ({ address: s.address, fd: s.childFd }))),
    SERVER_STARTER_PID: String(process.pid),
    SERVER_STARTER_BACKLOG: String(options.backlog),
    ...(options.statusFile ? { SERVER_STARTER_STATUS_FILE: options.statusFile } : {}),
  };
  const stdioFor = (): StdioOptions => {
    const out = typeof host.childOutput === 'object' ? 'pipe' : (host.childOutput ?? 'inherit');
    return [host.childInput ?? 'inherit', out, out, ...socketStdio(sockets)];
  };

  const children = new Map<number, ChildProcess>();
  const timers = createTimerTable();
  let state: SupervisorState = initialState();
  const queue: SupervisorEvent[] = [];
  let draining = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));

  const dispatch = (event: SupervisorEvent) => {
    queue.push(event);
    if (draining) return;
    draining = true;
    try {
      while (queue.length > 0) {
        const step = reduce(state, queue.shift()!, options, Date.now());
        state = step.state;
        for (const fx of step.effects) execute(fx);
      }
    } finally {
      draining = false;
    }
  };

  const spawnGeneration = (generation: number) => {
    let env = baseEnv;
    if (options.envdir) {
      try {
        env = { ...baseEnv, ...readEnvdir(options.envdir) };
      } catch (err) {
        logger.warn(`could not read --envdir ${options.envdir}: ${(err as Error).message}`);
      }
    }
    env = { ...env, SERVER_STARTER_GENERATION: String(generation) };
    const [cmd, ...args] = options.command as [string, ...string[]];
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { cwd: options.dir, env, stdio: stdioFor() });
    } catch (err) {
      queue.push({ type: 'spawnFailed', generation, error: (err as Error).message });
      return;
    }
    if (child.pid === undefined) {
      child.once('error', (err) => dispatch({ type: 'spawnFailed', generation, error: err.message }));
      return;
    }
    const pid = child.pid;
    if (typeof host.childOutput === 'object') {
      if (child.stdout) host.childOutput.adopt(child.stdout);
      if (child.stderr) host.childOutput.adopt(child.stderr);
    }
    children.set(pid, child);
    child.on('error', (err) => logger.debug(`worker ${pid}: ${err.message}`));
    child.once('exit', (code, signal) => {
      children.delete(pid);
      dispatch({ type: 'exit', pid, code, signal });
    });
    queue.push({ type: 'spawned', generation, pid });
  };

  const execute = (fx: Effect) => {
    switch (fx.type) {
      case 'spawn':
        spawnGeneration(fx.generation);
        break;
      case 'kill':
        for (const pid of fx.pids) {
          sendSignal(pid, fx.signal);
          if (fx.signal === 'SIGTERM' || fx.signal === 'SIGINT' || fx.signal === 'SIGQUIT') sendSignal(pid, 'SIGCONT');
        }
        break;
      case 'setTimer':
        timers.set(fx.key, fx.ms, () => dispatch(fx.event));
        break;
      case 'clearTimer':
        timers.clear(fx.key);
        break;
      case 'writeStatus':
        updateTitle();
        if (!options.statusFile) break;
        try {
          writeFileAtomic(options.statusFile, formatStatusFile(fx.lines), { mode: options.fileMode ?? FILE_MODES.status });
        } catch (err) {
          logger.warn(`could not write --status-file ${options.statusFile}: ${(err as Error).message}`);
        }
        break;
      case 'log':
        logger[fx.level](fx.message);
        break;
      case 'exit':
        finish(fx.code);
        break;
    }
  };

  const updateTitle = () => {
    const cur = state.gens.find((g) => g.role === 'current');
    const olds = state.gens.filter((g) => g.role === 'old').length;
    process.title =
      `start-server` +
      (cur ? ` gen ${cur.generation} pid ${cur.pid}` : ' starting') +
      (olds ? ` (+${olds} old)` : '') +
      ` -- ${options.command.join(' ')}`;
  };

  // Our own handler for every control signal, installed before the first child exists and kept
  // until the end (removing one would give the signal back its default action).
  const onSignal = (sig: NodeJS.Signals) => dispatch({ type: 'signal', signal: sig });
  for (const sig of [...CONTROL_SIGNALS, ...LOGGED_SIGNALS]) process.on(sig, onSignal);

  // Last resort: dying of a signal we do not handle must not leave generations unattended.
  const removeExitGuard = onExit((_code, signal) => {
    if (!signal) return;
    for (const pid of children.keys()) {
      sendSignal(pid, options.signalOnTerm);
      sendSignal(pid, 'SIGCONT');
    }
    cleanupFiles();
  });

  const cleanupFiles = () => {
    if (options.statusFile) rmSync(options.statusFile, { force: true });
    releasePid();
    for (const s of sockets) {
      try {
        s.close();
      } catch {
        // closing at exit
      }
    }
  };

  const finish = (code: number) => {
    timers.clearAll();
    removeExitGuard();
    cleanupFiles();
    resolveDone(code);
  };

  updateTitle();
  dispatch({ type: 'start' });
  host.onStarted?.();
  return await done;
}

/** Closes an fd we opened (the --log-file), ignoring one already closed. */
export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
