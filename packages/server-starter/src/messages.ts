import { describeExit, signalNumber, type SignalName, type StatusLine } from '@baton/process-kit';

// Every log line start-server prints. Lines marked (SS) keep Server::Starter's wording, which
// people grep for; they are an API.

/** Perl's raw wait status (`exit 3` → 768), followed by a readable description. */
export function exitStatus(code: number | null, signal: string | null): string {
  const raw = signal ? signalNumber(signal as SignalName) : (code ?? 0) * 256;
  return `${raw} (${describeExit(code, signal)})`;
}

const pidList = (pids: readonly number[]) => (pids.length ? pids.join(',') : 'none');

export const messages = {
  startingNow: (pid: number) => `start_server (pid:${pid}) starting now...`, // (SS)
  startingWorker: (pid: number, generation: number) => `starting new worker ${pid} (generation ${generation})`, // (SS) + generation
  acceptedWorker: (pid: number, signal: string, olds: readonly number[]) =>
    `new worker is now running, sending ${signal.replace(/^SIG/, '')} to old workers:${pidList(olds)}`, // (SS)
  workerRunning: (pid: number, generation: number, ms: number) => `worker ${pid} (generation ${generation}) has been up for ${ms / 1000}s: accepted`,
  failedToStart: (pid: number, code: number | null, signal: string | null) =>
    `new worker ${pid} seems to have failed to start, exit status:${exitStatus(code, signal)}`, // (SS)
  spawnFailed: (generation: number, error: string) => `new worker (generation ${generation}) could not be started: ${error}`,
  retrying: (delayMs: number, attempt: number, keeping: { pid: number; generation: number } | undefined) =>
    `retrying in ${delayMs / 1000}s (failure ${attempt} in a row)` +
    (keeping ? `; worker ${keeping.pid} (generation ${keeping.generation}) keeps serving` : '; no worker is serving'),
  diedUnexpectedly: (pid: number, code: number | null, signal: string | null) =>
    `worker ${pid} died unexpectedly with status:${exitStatus(code, signal)}, restarting`, // (SS)
  exitedByItself: (pid: number, generation: number) =>
    `worker ${pid} (generation ${generation}) exited by itself with status:${exitStatus(0, null)}: a stop, not a crash (to stop everything, send TERM to start-server); restarting`,
  exitedDuringHandOff: (pid: number, generation: number, code: number | null, signal: string | null, next: number) =>
    `worker ${pid} (generation ${generation}) exited with status:${exitStatus(code, signal)} while generation ${next} is starting; generation ${next} takes over`,
  respawnIn: (delayMs: number) => `starting a new worker in ${delayMs / 1000}s`,
  oldDied: (pid: number, code: number | null, signal: string | null) => `old worker ${pid} died, status:${exitStatus(code, signal)}`, // (SS)
  workerDied: (pid: number, code: number | null, signal: string | null) => `worker ${pid} died, status:${exitStatus(code, signal)}`, // (SS)
  receivedHup: () => 'received HUP, spawning a new worker', // (SS)
  hupWhileChecking: (generation: number) =>
    `received HUP while generation ${generation} is being checked; another restart will follow once it is settled`,
  sleepingBeforeKill: (ms: number) => `sleeping ${ms / 1000} secs before killing old workers`, // (SS)
  killingOld: (signal: string, pids: readonly number[]) => `killing old workers: sending ${signal.replace(/^SIG/, '')} to ${pidList(pids)}`, // (SS) "killing old workers"
  newDiedDuringDelay: (generation: number) =>
    `generation ${generation} died during --kill-old-delay; old workers are not signalled and keep serving`,
  receivedStop: (signal: string, sendSignal: string, pids: readonly number[]) =>
    `received ${signal.replace(/^SIG/, '')}, sending ${sendSignal.replace(/^SIG/, '')} to all workers:${pidList(pids)}`, // (SS)
  stopAgain: (signal: string, pids: readonly number[]) => `received ${signal.replace(/^SIG/, '')} again while stopping; still waiting for ${pidList(pids)}`,
  forceKill: (ms: number, pids: readonly number[]) => `workers still alive ${ms / 1000}s after the stop signal: sending SIGKILL to ${pidList(pids)}`,
  exiting: () => 'exiting', // (SS)
  autoRestart: (intervalMs: number, forced: boolean) => `autorestart triggered (${forced ? 'forced, ' : ''}interval=${intervalMs / 1000})`, // (SS)
  ignoredSignal: (signal: string) => `received ${signal.replace(/^SIG/, '')}; ignored (start-server acts on HUP, TERM, INT and QUIT)`,

  // start-up and effects
  listening: (address: string, fd: number, childFd: number) => `listening on ${address} (fd ${fd} → ${childFd} in workers)`,
  removingSocketFile: (path: string) => `removing existing socket file:${path}`, // (SS)
  envdirFailed: (dir: string, error: string) => `could not read --envdir ${dir}: ${error}`,
  workerError: (pid: number, error: string) => `worker ${pid}: ${error}`,
  statusFileFailed: (path: string, error: string) => `could not write --status-file ${path}: ${error}`,
  effectFailed: (effect: string, error: string) => `${effect} failed: ${error}; start-server keeps running`,

  // --log-file="| CMD"
  logCommandDown: (why: string, delayMs: number) => `${why}; start-server keeps serving and starts it again in ${delayMs / 1000}s`,
  logCommandNotStarted: (error: string) => `could not start the --log-file command (${error})`,
  logCommandExited: (code: number | null, signal: string | null) => `the --log-file command exited (${describeExit(code, signal)})`,
  logCommandRestarted: (pid: number | undefined) => `the --log-file command was started again (pid ${pid})`,
  logOutputDropped: (bytes: number, maxBytes: number) =>
    `${bytes} bytes of output were dropped while the --log-file command was down (more than ${maxBytes} bytes)`,

  // --restart / --stop (the client side)
  sendingHup: (pid: number, generations: readonly StatusLine[]) => `sending HUP to start-server ${pid} (generations now: ${statusList(generations)})`,
  restartDone: (line: StatusLine) => `restart done: generation ${line.generation} (pid ${line.pid}) is the only one running`,
  stoppingServer: (self: number, pid: number) => `stop_server (pid:${self}) stopping now (pid:${pid})...`, // (SS)

  // systemd
  notifyFailed: (why: string) => `sd_notify: ${why}`,
  adoptedSockets: (sockets: readonly string[], ignored: readonly string[]) =>
    `using the ${sockets.length} socket(s) systemd passed (LISTEN_FDS): ${sockets.join(' ')}` +
    (ignored.length ? `; --port/--path ${ignored.join(' ')} not bound` : ''),
  readyTimeout: (pid: number, generation: number, ms: number, signal: string) =>
    `worker ${pid} (generation ${generation}) did not report READY=1 within ${ms / 1000}s (--ready-timeout); sending ${signal.replace(/^SIG/, '')}`,
  reportedReady: (pid: number, generation: number) => `worker ${pid} (generation ${generation}) reported READY=1`,
} as const;

/** `1:123 2:456`: generations as the status file lists them, on one line. */
export function statusList(lines: readonly StatusLine[]): string {
  return lines.map((l) => `${l.generation}:${l.pid}`).join(' ');
}
