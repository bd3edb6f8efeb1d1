import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WorkerEnv } from './ipc.js';

// The first spare of a rolling restart (issue 16), started by the CLI's first module (cli-entry.ts)
// before the rest of our code loads: on a busy 2-core host that loading alone took 150–600 ms of
// the new master's start-up, all of it before its first worker could start. A spare loads no app
// code until the master hands it a slot (master/spare.ts adopts it); this module loads nothing
// but node's own, so that the spare starts first.

/**
 * process-kit's SYSTEMD_ENV, and start-server's readiness fd: what a worker must not see (it
 * would speak for its supervisor). Kept equal to SYSTEMD_ENV by a test: importing process-kit
 * here would load it before the spare starts.
 */
export const HIDDEN_FROM_WORKERS = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'SERVER_STARTER_NOTIFY_FD'] as const;

/** Spawned with the master's node flags, except a debugger's (its port would clash). */
export const WORKER_EXEC_ARGV = process.execArgv.filter((a) => !/^--(inspect|debug)/.test(a));
/** dist/worker.js (this module is in dist/, bundled into dist/cli.js or not). */
export const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));
/** A worker's argv[0]: room for its long title (node-mechanics §6). */
export const WORKER_ARGV0 = `resque-starter${' '.repeat(256)}`;

/**
 * Why: a master of start-server generation 2 on is most likely taking over from an older one:
 * its first spare is started before anything else, and handed to the master (takeEarlySpare)
 * once it runs. Only for `run` (not `check`, `--help`, `-D`'s starter). A spare that is never
 * adopted exits with this process (its IPC channel closes); it keeps nothing alive meanwhile.
 */
export function spawnEarlySpare(argv: readonly string[], env: NodeJS.ProcessEnv, masterPid: number): void {
  if (!(Number(env.SERVER_STARTER_GENERATION) > 1) || !isMasterRun(argv)) return;
  try {
    const vars: NodeJS.ProcessEnv = { ...env, [WorkerEnv.masterPid]: String(masterPid), [WorkerEnv.spare]: '1' };
    for (const k of HIDDEN_FROM_WORKERS) delete vars[k];
    const child = spawn(process.execPath, [...WORKER_EXEC_ARGV, WORKER_SCRIPT], { argv0: WORKER_ARGV0, detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: vars });
    child.on('error', () => undefined);
    child.unref();
    (child as { channel?: { unref?(): void } }).channel?.unref?.();
    (globalThis as Record<symbol, unknown>)[EARLY_SPARE] = child;
  } catch {
    // the master starts its spares itself
  }
}

/** The spare spawnEarlySpare started in this process, once (undefined when none). */
export function takeEarlySpare(): ChildProcess | undefined {
  const g = globalThis as Record<symbol, unknown>;
  const child = g[EARLY_SPARE] as ChildProcess | undefined;
  delete g[EARLY_SPARE];
  return child;
}

// --- internal ---

/** Shared through globalThis: the CLI's first module and the master's code are different chunks. */
const EARLY_SPARE = Symbol.for('resque-starter.early-spare');

/** `resque-starter [run] [options]` that runs a master here (argv.ts's grammar, in its simplest reading). */
function isMasterRun(argv: readonly string[]): boolean {
  const first = argv[0];
  if (first !== undefined && first !== 'run' && !first.startsWith('-')) return false;
  return !argv.some((a) => a === '-h' || a === '--help' || a === '-v' || a === '--version' || a === '-D' || a === '--daemonize');
}
