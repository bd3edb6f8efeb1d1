import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { describeExit, ignoreOutputErrors, writeQuietly } from '@baton/process-kit';

/** Bytes of generation output kept while no log command runs, by default (then replayed to the next one). */
export const DEFAULT_LOG_BUFFER_BYTES = 1024 * 1024;

export interface LogPipeOptions {
  /** Shell command that reads the log on its stdin (`--log-file="| CMD"`). */
  command: string;
  /** First delay before starting the command again after it exited or could not start; doubles per quick failure. */
  restartDelayMs: number;
  /** Cap of the restart delay. */
  maxRestartDelayMs: number;
  /** Where start-server's own lines go while the command is down, and where its exits are reported. */
  fallback: NodeJS.WritableStream;
  /**
   * Generation output kept while no command runs, replayed to the next one in order; what does not
   * fit is dropped and the number of bytes reported. Default DEFAULT_LOG_BUFFER_BYTES (1 MiB).
   */
  maxBufferBytes?: number;
  /** Starts the command with its stdin as a pipe (a seam for tests); default `/bin/sh -c`, detached. */
  spawnCommand?: (command: string) => ChildProcess;
}

export interface LogPipe {
  /** Relays one output of a generation (its stdout or stderr pipe) into the current command. */
  adopt(output: Readable): void;
  /** start-server's own log sink: the current command, or the fallback while it is down. */
  readonly stream: NodeJS.WritableStream;
  /** Lets the adopted outputs drain (bounded), ends the command's input and waits (bounded) for it to exit; no restart after this. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Why: a log collector that exits or restarts (`| logger`, `| multilog` being rotated, journald)
 * must take neither start-server nor its generations down (item 11). Generations never write into
 * the command: they write into pipes start-server owns, and start-server relays what they write
 * to whichever command is current. When the command exits, or cannot be started, it is started
 * again after a growing delay; meanwhile generation output is buffered (bounded, then dropped and
 * counted) and start-server's own lines go to the fallback (stderr). A running command that reads
 * slowly slows the generations down, as a direct pipe would.
 */
export function startLogPipe(options: LogPipeOptions): LogPipe {
  const maxBuffer = options.maxBufferBytes ?? DEFAULT_LOG_BUFFER_BYTES;
  const spawnCommand = options.spawnCommand ?? defaultSpawn;
  let current: ChildProcess | undefined;
  let closing = false;
  let quickFailures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let droppedBytes = 0;
  const adopted = new Set<Readable>();
  const paused = new Set<Readable>();
  ignoreOutputErrors([options.fallback]);

  const report = (level: 'info' | 'warn', text: string) =>
    writeQuietly(sink, `${new Date().toISOString()} [${level}] [start-server] ${text}\n`);

  const live = (): Writable | undefined => {
    const stdin = current?.stdin;
    return stdin && !stdin.destroyed && !stdin.writableEnded ? stdin : undefined;
  };

  const resumeAll = () => {
    for (const s of paused) s.resume();
    paused.clear();
  };

  /** false: the command reads slower than the generations write; pause the writer until 'drain'. */
  const relay = (chunk: Buffer): boolean => {
    const target = live();
    if (target) {
      try {
        return target.write(chunk);
      } catch {
        return true;
      }
    }
    if (pendingBytes + chunk.length <= maxBuffer) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    } else {
      droppedBytes += chunk.length;
    }
    return true;
  };

  const scheduleRestart = (why: string) => {
    resumeAll();
    if (closing) return;
    quickFailures++;
    const delay = Math.min(options.restartDelayMs * 2 ** (quickFailures - 1), Math.max(options.maxRestartDelayMs, options.restartDelayMs));
    report('warn', `${why}; start-server keeps serving and starts it again in ${delay / 1000}s`);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (!closing) launch(true);
    }, delay);
    restartTimer.unref();
  };

  const launch = (again: boolean) => {
    const startedAt = Date.now();
    let p: ChildProcess;
    try {
      p = spawnCommand(options.command);
    } catch (err) {
      scheduleRestart(`could not start the --log-file command (${(err as Error).message})`);
      return;
    }
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      if (current === p) current = undefined;
      p.stdin?.destroy();
      // A command that stayed up a while starts the delay over.
      if (Date.now() - startedAt >= 10 * options.restartDelayMs) quickFailures = 0;
      scheduleRestart(why);
    };
    p.on('error', (err) => {
      if (p.pid === undefined) end(`could not start the --log-file command (${err.message})`);
    });
    p.once('exit', (code, signal) => end(`the --log-file command exited (${describeExit(code, signal)})`));
    if (p.pid === undefined || !p.stdin) return; // 'error' follows
    ignoreOutputErrors([p.stdin]);
    p.stdin.on('drain', resumeAll);
    current = p;
    if (again) report('info', `the --log-file command was started again (pid ${p.pid})`);
    if (droppedBytes > 0) {
      report('warn', `${droppedBytes} bytes of output were dropped while the --log-file command was down (more than ${maxBuffer} bytes)`);
      droppedBytes = 0;
    }
    const backlog = pending;
    pending = [];
    pendingBytes = 0;
    for (const chunk of backlog) relay(chunk);
  };

  const sink = {
    write(chunk: string | Uint8Array): boolean {
      writeQuietly(live() ?? options.fallback, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    },
  } as unknown as NodeJS.WritableStream;

  launch(false);

  return {
    adopt(output) {
      adopted.add(output);
      output.on('error', () => undefined);
      output.on('data', (chunk: Buffer) => {
        if (!relay(chunk) && live()) {
          output.pause();
          paused.add(output);
        }
      });
      output.once('close', () => {
        adopted.delete(output);
        paused.delete(output);
      });
    },
    stream: sink,
    async close(timeoutMs = 10_000) {
      closing = true;
      clearTimeout(restartTimer);
      // Generations are gone; what they wrote last may still be in their pipes (a grandchild
      // holding one open does not delay the exit for long).
      await waitFor(() => adopted.size === 0, Math.min(timeoutMs, 1000), (done) => {
        for (const s of adopted) s.once('close', () => adopted.size === 0 && done());
      });
      for (const s of adopted) s.destroy();
      const p = current;
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

// --- internal ---

function defaultSpawn(command: string): ChildProcess {
  // detached: a terminal's Ctrl-C must not stop the collector before start-server's last lines.
  return spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'inherit', 'inherit'], detached: true });
}

async function waitFor(ready: () => boolean, timeoutMs: number, subscribe: (done: () => void) => void): Promise<void> {
  if (ready()) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, timeoutMs);
    subscribe(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
