import { describeExit, signalNumber, type SignalName } from '@baton/process-kit';

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
} as const;
