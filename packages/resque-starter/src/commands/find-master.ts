import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { isAlive, readPidFile } from '@baton/process-kit';
import type { ResolvedConfig } from '../config.js';
import { ControlError, UsageError } from '../errors.js';
import { isResqueStarterMaster } from '../handoff.js';

/**
 * Why: every command that talks to a running master finds it the same way: `--pid`, else
 * `--pid-file`, else the config's pidFile; a stale pid file (a pid that is gone or reused by
 * another process) is refused with a line that says so, and nothing is sent to that pid.
 */
export function findMasterPid(args: { pid: number | undefined; pidFile: string | undefined }, config: ResolvedConfig | undefined): number {
  if (args.pid) return args.pid;
  let pidFile = args.pidFile;
  if (!pidFile) {
    pidFile = config?.pidFile;
    if (!pidFile) throw new UsageError('the config has no `pidFile`: pass `--pid N` or `--pid-file FILE`');
  }
  const pid = readPidFile(pidFile);
  if (pid === undefined) throw new ControlError(`no master pid in ${pidFile}: is resque-starter running?`);
  // A stale pid file (the master died with -9) may name a pid reused by another process.
  if (!isAlive(pid)) throw new ControlError(`no master is running: ${pidFile} names pid ${pid}, which is not running (stale pid file)`);
  if (!isResqueStarterMaster(pid)) {
    throw new ControlError(`no master is running: ${pidFile} names pid ${pid}, which is not a resque-starter master (stale pid file); nothing was sent to it`);
  }
  return pid;
}

/** Why: `-c` is optional: the conventional names in the working directory, else a usage error. */
export function findConfigPath(given: string | undefined): string {
  if (given) return given;
  for (const name of ['resque-starter.config.ts', 'resque-starter.config.mjs', 'resque-starter.config.js']) {
    if (existsSync(resolve(name))) return name;
  }
  throw new UsageError('no config file: pass `-c conf.ts` (or create resque-starter.config.ts)');
}
