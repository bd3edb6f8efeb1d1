import { closeSync } from 'node:fs';
import {
  acquirePidFile,
  createEventLoop,
  createSdNotify,
  withoutSystemdEnv,
  createNodeHost,
  FILE_MODES,
  readCmdline,
  type Logger,
  type ProcessHost,
  type SignalName,
} from '@baton/process-kit';
import { createEffectRunner } from './effects.js';
import { createLauncher, type OutputRelay } from './generation.js';
import { activationOf, adoptAll, bindAll, type BoundSocket } from './listeners.js';
import { messages } from './messages.js';
import { createNotifyObserver } from './notify.js';
import { createReadyWaiter, ReadyChannels } from './ready-gate.js';
import type { StartServerOptions } from './options.js';
import { initialState, reduce, type Effect, type SupervisorEvent, type SupervisorState } from './state.js';
import { renderTitle } from './title.js';

export type { OutputRelay } from './generation.js';

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
  /** The OS seam; default the real one (tests pass createFakeHost()). */
  processHost?: ProcessHost;
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
 * exits and timers one at a time through the pure reducer (createEventLoop) and executes its
 * effects through the process host. Resolves with the exit code once every generation is gone.
 */
export async function startServer(options: StartServerOptions, host: StartServerHost): Promise<number> {
  const os = host.processHost ?? createNodeHost();
  const { logger } = host;
  const { sockets, release } = claimResources(options, os, logger, host.env);
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  // systemd (NOTIFY_SOCKET) hears of each step's state; the generations never see its variables.
  const sd = createSdNotify({ env: host.env, host: os, onError: (m) => logger.warn(messages.notifyFailed(m)) });
  const observe = sd ? createNotifyObserver(sd) : undefined;
  const stopWatchdog = sd?.startWatchdog();

  const loop = createEventLoop<SupervisorState, SupervisorEvent, LoopEffect>({
    initial: initialState(),
    reduce: (state, event, now) => {
      const step = reduce(state, event, options, now);
      return observe ? { state: step.state, effects: [...step.effects, OBSERVE] } : step;
    },
    execute: (fx) => (fx.type === 'observe' ? observe?.(loop.state) : execute(fx)),
    now: () => os.now(),
    onEffectError: (fx, err) => logger.error(messages.effectFailed(fx.type, (err as Error)?.message ?? String(err))),
  });
  const push = (event: SupervisorEvent) => loop.push(event);
  const state = () => loop.state;
  const channels = options.readyNotify ? new ReadyChannels() : undefined;
  const readiness = options.readyNotify ? createReadyWaiter({ os, logger, options, state, push }) : undefined;
  const ready = channels && readiness ? { channels, reported: readiness.reported } : undefined;
  const env = withoutSystemdEnv(host.env);
  const execute = createEffectRunner({
    os,
    logger,
    options,
    state,
    push,
    readiness,
    spawn: createLauncher({ os, logger, options, sockets, env, childOutput: host.childOutput, childInput: host.childInput ?? 'inherit', push, ready }),
    finish(code) {
      os.timers.clearAll();
      channels?.closeAll();
      stopWatchdog?.();
      removeExitGuard();
      release();
      void (sd?.flush() ?? Promise.resolve()).then(() => resolveDone(code));
    },
  });

  // Our own handler for every control signal, installed before the first child exists and kept
  // until the end (removing one would give the signal back its default action).
  os.onSignals([...CONTROL_SIGNALS, ...LOGGED_SIGNALS], (signal) => push({ type: 'signal', signal }));
  // Last resort: dying of a signal we do not handle must not leave generations unattended.
  const removeExitGuard = os.onFatalSignal(() => {
    for (const g of loop.state.gens) {
      os.signal(g.pid, options.signalOnTerm);
      os.signal(g.pid, 'SIGCONT');
    }
    release();
  });

  os.setTitle(renderTitle(loop.state, options.command));
  loop.open({ type: 'start' });
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

// --- internal ---

/** Appended to each step when systemd listens: tells the notify observer the step is done. */
const OBSERVE = { type: 'observe' } as const;
type LoopEffect = Effect | typeof OBSERVE;

/**
 * Takes the pid file and binds every socket (giving the pid file back if that fails). `release`
 * removes the status file, gives back the pid file and closes the sockets; each step is best effort.
 */
function claimResources(options: StartServerOptions, os: ProcessHost, logger: Logger, env: NodeJS.ProcessEnv): { sockets: BoundSocket[]; release: () => void } {
  const releasePid = options.pidFile
    ? acquirePidFile(options.pidFile, os.pid, { isOurs: isStartServer, what: 'start-server', mode: options.fileMode ?? FILE_MODES.pid })
    : () => undefined;
  logger.info(messages.startingNow(os.pid));
  let sockets: BoundSocket[];
  try {
    const activation = activationOf(env, os.pid);
    if (activation) {
      sockets = adoptAll(activation);
      logger.info(messages.adoptedSockets(sockets.map((s) => `${s.address}=${s.fd}`), options.listen.map((l) => l.spec)));
    } else {
      sockets = bindAll(options.listen, options.backlog, (m) => logger.warn(m));
    }
  } catch (err) {
    releasePid();
    throw err;
  }
  for (const s of sockets) logger.debug(messages.listening(s.address, s.fd, s.childFd));
  const release = () => {
    for (const step of [
      () => options.statusFile && os.removeFile(options.statusFile),
      releasePid,
      ...sockets.map((s) => () => s.close()),
    ]) {
      try {
        step();
      } catch {
        // closing at exit: the next step must still run
      }
    }
  };
  return { sockets, release };
}
