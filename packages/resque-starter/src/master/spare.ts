import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withoutSystemdEnv, type Child, type ChildEvents, type ChildSpec, type LogFormat, type ProcessHost } from '@baton/process-kit';
import { WorkerEnv } from '../ipc.js';

// A spare (issue 16): a worker process started ahead of need during a rolling restart. It loads
// our code and the Resque library, and no app code, until the master hands it a slot (spawner.ts
// `spawn`); until then it counts toward no C+1 bound. The first one is started before the new
// master has even loaded its config (`startEarlySpare`), so the master's own start-up (config,
// Redis check, finding the old master) is no longer on top of the first worker's.

/** A started spare, and where its events go once it is handed a slot. */
export interface Spare {
  readonly child: Child;
  readonly relay: { to?: ChildEvents };
  /** Set once it exited (or never started) before being handed a slot. */
  gone: boolean;
}

/** How a worker process (or spare) is started; `logOut`: its output is piped to the master's log file. */
export interface WorkerSpecOptions {
  /** The workers' environment (`workerEnv`). */
  env: NodeJS.ProcessEnv;
  masterPid: number;
  logOut: boolean;
  ids: { uid?: number; gid?: number } | undefined;
}

/** Why: one description of a worker process, for the spawner and for the spare started before the config is known. */
export function workerSpec(o: WorkerSpecOptions): ChildSpec {
  const out = o.logOut ? 'pipe' : 'inherit';
  return {
    file: process.execPath,
    args: [...WORKER_EXEC_ARGV, WORKER_SCRIPT],
    // Room for the worker's long title (node-mechanics §6).
    argv0: `resque-starter${' '.repeat(256)}`,
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...o.env, [WorkerEnv.masterPid]: String(o.masterPid) },
    ...(o.ids ?? {}),
  };
}

/**
 * The environment workers inherit: the master's, without what speaks to systemd or to
 * start-server's readiness gate (the master does), with the master's log format.
 */
export function workerEnvOf(env: NodeJS.ProcessEnv, logFormat: LogFormat | undefined): NodeJS.ProcessEnv {
  return { ...withoutSystemdEnv(env), SERVER_STARTER_NOTIFY_FD: undefined, [WorkerEnv.logFormat]: logFormat };
}

/** Starts a spare; `ended` is told when it exits (or fails to start) before it is handed a slot. */
export function startSpare(host: Pick<ProcessHost, 'spawn'>, spec: ChildSpec, ended: (pid: number, how: { code: number | null; signal: string | null } | { error: string }) => void): Spare | undefined {
  const relay: { to?: ChildEvents } = {};
  let pid = 0;
  let spare: Spare | undefined;
  const child = host.spawn(
    { ...spec, env: { ...spec.env, [WorkerEnv.spare]: '1' } },
    {
      exit: (code, signal) => {
        if (relay.to) return relay.to.exit(code, signal);
        if (spare) spare.gone = true;
        ended(pid, { code, signal });
      },
      message: (m) => relay.to?.message?.(m),
      spawnError: (err) => {
        if (relay.to) return relay.to.spawnError(err);
        if (spare) spare.gone = true;
        ended(pid, { error: err.message });
      },
      error: (err) => relay.to?.error?.(err),
      disconnect: () => relay.to?.disconnect?.(),
    },
  );
  if (!child) return undefined;
  pid = child.pid;
  spare = { child, relay, gone: false };
  return spare;
}

/**
 * Why: a new master under start-server (generation 2 on) is most likely taking over from an
 * older one: a spare started now, before the config loads, has the master's whole start-up to
 * load our code. Undefined when none is started; the master adopts it (WorkerSpawner) when the
 * config lets workers start as it did (no log file, no other user), else stops it.
 */
export function startEarlySpare(host: Pick<ProcessHost, 'spawn' | 'pid'>, env: NodeJS.ProcessEnv, ended: Parameters<typeof startSpare>[2]): Spare | undefined {
  const generation = Number(env.SERVER_STARTER_GENERATION);
  if (!(generation > 1)) return undefined;
  return startSpare(host, workerSpec({ env: workerEnvOf(env, undefined), masterPid: host.pid, logOut: false, ids: undefined }), ended);
}

// --- internal ---

/** Spawned with the master's node flags, except a debugger's (its port would clash). */
const WORKER_EXEC_ARGV = process.execArgv.filter((a) => !/^--(inspect|debug)/.test(a));
// dist/worker.js: next to this code when it is bundled into dist/cli.js, one level up from dist/master/.
const WORKER_SCRIPT = fileURLToPath(new URL(existsSync(new URL('./worker.js', import.meta.url)) ? './worker.js' : '../worker.js', import.meta.url));
