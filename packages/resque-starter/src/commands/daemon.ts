import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { sendSignal } from '@baton/process-kit';
import { findControlSocket, sendControl } from '../control.js';
import { StartupError } from '../errors.js';

/** Set in the environment of the background master started by `-D` (the CLI removes it again). */
export const DAEMON_ENV = 'RESQUE_STARTER_DAEMON';

/** What the background master sends its starter over IPC when it cannot start. */
export interface DaemonFailure {
  failed: string;
}

export interface DaemonOptions {
  /** The CLI script to run again (process.argv[1]). */
  cli: string;
  /** The config file, absolute (the daemon runs in `cwd` but must not depend on it). */
  configPath: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where the daemon's stdout and stderr go (the config's logFile); /dev/null when undefined. */
  logFile: string | undefined;
  fileMode: number;
  /** `--log-format`, passed on to the background master. */
  logFormat?: 'text' | 'json' | undefined;
  /** How long the master may take to answer on its control socket. */
  readyTimeoutMs: number;
}

/**
 * Why: delayed_job's users type `-D`; Node cannot fork, so the master is started again as a
 * detached process (its own session, stdin closed, output to the log file or /dev/null) and
 * this process returns only once the master answers on its control socket: the pid of a master
 * that is really up, or a StartupError with the reason it gave (or how it ended).
 */
export async function startDaemon(o: DaemonOptions): Promise<number> {
  const out = o.logFile ? openSync(o.logFile, 'a', o.fileMode) : 'ignore';
  let child;
  try {
    child = spawn(process.execPath, [...process.execArgv, o.cli, '-c', o.configPath, ...(o.logFormat ? ['--log-format', o.logFormat] : [])], {
      cwd: o.cwd,
      detached: true,
      stdio: ['ignore', out, out, 'ipc'],
      env: { ...o.env, [DAEMON_ENV]: '1' },
    });
  } finally {
    if (typeof out === 'number') closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) throw new StartupError('could not start the background master');
  const abort = new AbortController();
  let reason: string | undefined;
  child.on('message', (m: Partial<DaemonFailure>) => {
    if (typeof m?.failed === 'string') reason = m.failed;
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new StartupError(reason ?? `the background master ${pid} ${how} before it was up${o.logFile ? `; see ${o.logFile}` : ''}`));
    });
  });
  const up = (async () => {
    const deadline = Date.now() + o.readyTimeoutMs;
    while (Date.now() < deadline) {
      const reply = await sendControl(findControlSocket(pid, o.env), { cmd: 'status' }, 1000).catch(() => undefined);
      if (reply?.ok) return pid;
      await delay(50, undefined, { signal: abort.signal });
    }
    sendSignal(pid, 'SIGTERM');
    throw new StartupError(`the background master ${pid} did not answer within ${Math.round(o.readyTimeoutMs / 1000)} s: sent it TERM${o.logFile ? `; see ${o.logFile}` : ''}`);
  })();
  try {
    return await Promise.race([up, exited]);
  } finally {
    abort.abort();
    up.catch(() => undefined);
    exited.catch(() => undefined);
    if (child.connected) child.disconnect();
    child.unref();
  }
}
