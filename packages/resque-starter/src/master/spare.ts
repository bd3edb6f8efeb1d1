import type { ChildProcess } from 'node:child_process';
import { adoptChild, withoutSystemdEnv, type Child, type ChildEvents, type ChildSpec, type LogFormat, type ProcessHost } from '@baton/process-kit';
import { takeEarlySpare, WORKER_ARGV0, WORKER_EXEC_ARGV, WORKER_SCRIPT } from '../early-spare.js';
import { WorkerEnv } from '../ipc.js';

// A spare (issue 16): a worker process started ahead of need during a rolling restart. It loads
// our code and the Resque library, and no app code, until the master hands it a slot (spawner.ts
// `spawn`); until then it counts toward no C+1 bound. The first one is started by the CLI's first
// module, before the rest of our code loads (early-spare.ts), and adopted here
// (`startEarlySpare`), so the master's own start-up (its code, config, Redis check, finding the
// old master) is no longer on top of the first worker's.

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
    argv0: WORKER_ARGV0,
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
  const child = host.spawn({ ...spec, env: { ...spec.env, [WorkerEnv.spare]: '1' } }, spareEvents(relay, () => spare, () => pid, ended));
  if (!child) return undefined;
  pid = child.pid;
  spare = { child, relay, gone: false };
  return spare;
}

/**
 * Why: a new master under start-server (generation 2 on) is most likely taking over from an
 * older one: the spare the CLI started before our code loaded (early-spare.ts) is adopted, or,
 * when this master was not started through the CLI, one is started now, before the config loads.
 * Undefined when there is none; the master adopts it (WorkerSpawner) when the config lets workers
 * start as it did (no log file, no other user), else stops it.
 */
export function startEarlySpare(host: Pick<ProcessHost, 'spawn' | 'pid'>, env: NodeJS.ProcessEnv, ended: Parameters<typeof startSpare>[2]): Spare | undefined {
  const early = takeEarlySpare();
  if (early) return adoptSpare(early, ended);
  if (!(Number(env.SERVER_STARTER_GENERATION) > 1)) return undefined;
  return startSpare(host, workerSpec({ env: workerEnvOf(env, undefined), masterPid: host.pid, logOut: false, ids: undefined }), ended);
}

// --- internal ---

/** A spare spawned before the process host existed, as a Spare whose events reach the spawner (as host.spawn's do). */
function adoptSpare(cp: ChildProcess, ended: Parameters<typeof startSpare>[2]): Spare | undefined {
  const pid = cp.pid;
  if (pid === undefined || cp.exitCode !== null || cp.signalCode !== null || !cp.connected) {
    if (pid !== undefined && cp.exitCode === null && cp.signalCode === null) cp.kill('SIGQUIT');
    return undefined;
  }
  // Kept alive by nothing until now (the CLI might not have been a master); from here it is one of ours.
  cp.ref();
  (cp as { channel?: { ref?(): void } }).channel?.ref?.();
  const relay: { to?: ChildEvents } = {};
  let spare: Spare | undefined;
  const child = adoptChild(cp, pid, spareEvents(relay, () => spare, () => pid, ended));
  spare = { child, relay, gone: false };
  return spare;
}

/** A spare's events: relayed to the slot it was handed, else the end of a spare that never served. */
function spareEvents(relay: Spare['relay'], spare: () => Spare | undefined, pid: () => number, ended: Parameters<typeof startSpare>[2]): ChildEvents {
  const end = (how: Parameters<typeof ended>[1]) => {
    const s = spare();
    if (s) s.gone = true;
    ended(pid(), how);
  };
  return {
    exit: (code, signal) => (relay.to ? relay.to.exit(code, signal) : end({ code, signal })),
    message: (m) => relay.to?.message?.(m),
    spawnError: (err) => (relay.to ? relay.to.spawnError(err) : end({ error: err.message })),
    error: (err) => relay.to?.error?.(err),
    disconnect: () => relay.to?.disconnect?.(),
  };
}
