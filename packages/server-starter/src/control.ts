import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { isAlive, readPidFile, type Logger } from '@baton/process-kit';
import { ControlError } from './errors.js';
import { messages, statusList } from './messages.js';
import { parseStatusFile, type StatusLine } from './protocol.js';
import { isStartServer } from './supervisor.js';

/** Why: `--restart`/`--stop` must never signal a pid that is not a live start-server (pid reuse). */
export function readLivePid(pidFile: string): number {
  const pid = readPidFile(pidFile);
  if (pid === undefined) throw new ControlError(`no start-server pid in ${pidFile} (missing or empty file)`);
  if (!isAlive(pid)) throw new ControlError(`pid file ${pidFile} names pid ${pid}, which is not running (stale pid file)`);
  if (!isStartServer(pid)) {
    throw new ControlError(`pid file ${pidFile} names pid ${pid}, which is not a start-server; refusing to signal it`);
  }
  return pid;
}

function readStatus(path: string): StatusLine[] {
  try {
    return parseStatusFile(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/**
 * Why: `--restart` sends HUP and waits until the status file lists exactly one generation,
 * newer than every one before. Server::Starter waited for exactly max+1 and hung when a failed
 * attempt used up that number; here any newer generation counts, and the wait has a deadline.
 */
export async function restartServer(
  { pidFile, statusFile, timeoutMs }: { pidFile: string; statusFile: string; timeoutMs: number },
  logger: Logger,
): Promise<StatusLine> {
  const pid = readLivePid(pidFile);
  const before = readStatus(statusFile);
  if (before.length === 0) throw new ControlError(`no active process found in the status file ${statusFile}`);
  const max = Math.max(...before.map((l) => l.generation));
  logger.info(messages.sendingHup(pid, before));
  process.kill(pid, 'SIGHUP');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = readStatus(statusFile);
    if (now.length === 1 && now[0]!.generation > max) {
      logger.info(messages.restartDone(now[0]!));
      return now[0]!;
    }
    if (!isAlive(pid)) throw new ControlError(`start-server ${pid} exited during the restart`);
    if (Date.now() > deadline) {
      throw new ControlError(
        `restart not finished after ${timeoutMs / 1000}s: status file lists ${statusList(now) || 'nothing'} (see start-server's log)`,
      );
    }
    await delay(100);
  }
}

/** Why: `--stop` sends TERM and returns once that start-server is gone (it bounds its own shutdown). */
export async function stopServer({ pidFile }: { pidFile: string }, logger: Logger): Promise<void> {
  const pid = readLivePid(pidFile);
  logger.info(messages.stoppingServer(process.pid, pid));
  process.kill(pid, 'SIGTERM');
  while (isAlive(pid) && isStartServer(pid)) await delay(50);
}
