import { spawn, type ChildProcess } from 'node:child_process';
import { describeExit, ignoreOutputErrors, writeQuietly } from '@baton/process-kit';

export interface LogPipeOptions {
  /** Shell command that reads the log on its stdin (`--log-file="| CMD"`). */
  command: string;
  /** First delay before restarting a command that exited; doubles per quick exit. */
  restartDelayMs: number;
  /** Cap of the restart delay. */
  maxRestartDelayMs: number;
  /** Where lines go while the command is down, and where its exits are reported. */
  fallback: NodeJS.WritableStream;
}

export interface LogPipe {
  /** The write end of the current command's stdin, for new generations' stdout/stderr; undefined while it is down. */
  fd(): number | undefined;
  /** start-server's own log sink: the current command, or the fallback while it is down. */
  readonly stream: NodeJS.WritableStream;
  /** Ends the command's input and waits (bounded) for it to exit; no restart after this. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Why: a log collector that exits or restarts (`| logger`, `| multilog` being rotated, journald)
 * must not take start-server and its generations down (item 11). When the command exits it is
 * started again after a growing delay; lines written meanwhile go to the fallback (stderr), and
 * new generations get the new pipe. Generations started before keep the old pipe: what they
 * write after it broke is theirs to handle (SIGPIPE/EPIPE), as with any pipe.
 */
export function startLogPipe(options: LogPipeOptions): LogPipe {
  let proc: ChildProcess | undefined;
  let fd: number | undefined;
  let closing = false;
  let quickExits = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  ignoreOutputErrors([options.fallback]);

  const report = (text: string) => writeQuietly(sink, `${new Date().toISOString()} [warn] [start-server] ${text}\n`);

  const launch = () => {
    const startedAt = Date.now();
    const p = spawn('/bin/sh', ['-c', options.command], { stdio: ['pipe', 'inherit', 'inherit'], detached: true });
    const handleFd = (p.stdin as unknown as { _handle?: { fd?: number } } | null)?._handle?.fd;
    if (handleFd === undefined || handleFd < 0) {
      p.kill('SIGKILL');
      throw new Error(`could not start the --log-file command: ${options.command}`);
    }
    ignoreOutputErrors([p.stdin!]);
    p.on('error', () => undefined);
    proc = p;
    fd = handleFd;
    p.once('exit', (code, signal) => {
      if (proc !== p) return;
      proc = undefined;
      fd = undefined;
      p.stdin?.destroy();
      if (closing) return;
      quickExits = Date.now() - startedAt < 10 * options.restartDelayMs ? quickExits + 1 : 1;
      const delay = Math.min(options.restartDelayMs * 2 ** (quickExits - 1), Math.max(options.maxRestartDelayMs, options.restartDelayMs));
      report(`the --log-file command exited (${describeExit(code, signal)}); start-server keeps serving and starts it again in ${delay / 1000}s`);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (closing) return;
        try {
          launch();
          report(`the --log-file command was started again (pid ${proc?.pid})`);
        } catch (err) {
          report(`${(err as Error).message}; logging to stderr`);
        }
      }, delay);
      restartTimer.unref();
    });
  };

  const sink = {
    write(chunk: string | Uint8Array): boolean {
      const target = proc?.stdin && !proc.stdin.destroyed ? proc.stdin : options.fallback;
      writeQuietly(target, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    },
  } as unknown as NodeJS.WritableStream;

  launch();

  return {
    fd: () => fd,
    stream: sink,
    async close(timeoutMs = 10_000) {
      closing = true;
      clearTimeout(restartTimer);
      const p = proc;
      if (!p) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        p.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        p.stdin?.end();
      });
    },
  };
}
