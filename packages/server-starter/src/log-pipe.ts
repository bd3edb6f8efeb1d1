import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ignoreOutputErrors, writeQuietly } from '@baton/process-kit';
import { messages } from './messages.js';

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
  const pipe = new LogCommandRelay(options);
  pipe.launch(false);
  return pipe;
}

// --- internal ---

/** The state of the relay: the current command, what waits for it, and the outputs it reads. */
class LogCommandRelay implements LogPipe {
  private current: ChildProcess | undefined;
  private closing = false;
  private quickFailures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private droppedBytes = 0;
  private readonly adopted = new Set<Readable>();
  private readonly paused = new Set<Readable>();
  private readonly maxBuffer: number;
  private readonly spawnCommand: (command: string) => ChildProcess;

  readonly stream = {
    write: (chunk: string | Uint8Array): boolean => {
      writeQuietly(this.live() ?? this.options.fallback, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    },
  } as unknown as NodeJS.WritableStream;

  constructor(private readonly options: LogPipeOptions) {
    this.maxBuffer = options.maxBufferBytes ?? DEFAULT_LOG_BUFFER_BYTES;
    this.spawnCommand = options.spawnCommand ?? defaultSpawn;
    ignoreOutputErrors([options.fallback]);
  }

  adopt(output: Readable): void {
    this.adopted.add(output);
    output.on('error', () => undefined);
    output.on('data', (chunk: Buffer) => {
      if (!this.relay(chunk) && this.live()) {
        output.pause();
        this.paused.add(output);
      }
    });
    output.once('close', () => {
      this.adopted.delete(output);
      this.paused.delete(output);
    });
  }

  async close(timeoutMs = 10_000): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    // Generations are gone; what they wrote last may still be in their pipes (a grandchild
    // holding one open does not delay the exit for long).
    await waitFor(() => this.adopted.size === 0, Math.min(timeoutMs, 1000), (done) => {
      for (const s of this.adopted) s.once('close', () => this.adopted.size === 0 && done());
    });
    for (const s of this.adopted) s.destroy();
    const p = this.current;
    if (!p) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      p.stdin?.end();
    });
  }

  /** Starts the command (`again`: after it went down) and replays what was kept meanwhile. */
  launch(again: boolean): void {
    let p: ChildProcess;
    try {
      p = this.spawnCommand(this.options.command);
    } catch (err) {
      this.scheduleRestart(messages.logCommandNotStarted((err as Error).message));
      return;
    }
    this.watch(p, Date.now());
    if (p.pid === undefined || !p.stdin) return; // 'error' follows
    ignoreOutputErrors([p.stdin]);
    p.stdin.on('drain', () => this.resumeAll());
    this.current = p;
    if (again) this.report('info', messages.logCommandRestarted(p.pid));
    if (this.droppedBytes > 0) {
      this.report('warn', messages.logOutputDropped(this.droppedBytes, this.maxBuffer));
      this.droppedBytes = 0;
    }
    const backlog = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const chunk of backlog) this.relay(chunk);
  }

  /** The command's end (exit, or a start that failed late) schedules the next start, once. */
  private watch(p: ChildProcess, startedAt: number): void {
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      if (this.current === p) this.current = undefined;
      p.stdin?.destroy();
      // A command that stayed up a while starts the delay over.
      if (Date.now() - startedAt >= 10 * this.options.restartDelayMs) this.quickFailures = 0;
      this.scheduleRestart(why);
    };
    p.on('error', (err) => {
      if (p.pid === undefined) end(messages.logCommandNotStarted(err.message));
    });
    p.once('exit', (code, signal) => end(messages.logCommandExited(code, signal)));
  }

  private report(level: 'info' | 'warn', text: string): void {
    writeQuietly(this.stream, `${new Date().toISOString()} [${level}] [start-server] ${text}\n`);
  }

  private live(): Writable | undefined {
    const stdin = this.current?.stdin;
    return stdin && !stdin.destroyed && !stdin.writableEnded ? stdin : undefined;
  }

  private resumeAll(): void {
    for (const s of this.paused) s.resume();
    this.paused.clear();
  }

  /** false: the command reads slower than the generations write; pause the writer until 'drain'. */
  private relay(chunk: Buffer): boolean {
    const target = this.live();
    if (target) {
      try {
        return target.write(chunk);
      } catch {
        return true;
      }
    }
    if (this.pendingBytes + chunk.length <= this.maxBuffer) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    } else {
      this.droppedBytes += chunk.length;
    }
    return true;
  }

  private scheduleRestart(why: string): void {
    this.resumeAll();
    if (this.closing) return;
    this.quickFailures++;
    const { restartDelayMs, maxRestartDelayMs } = this.options;
    const delay = Math.min(restartDelayMs * 2 ** (this.quickFailures - 1), Math.max(maxRestartDelayMs, restartDelayMs));
    this.report('warn', messages.logCommandDown(why, delay));
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.closing) this.launch(true);
    }, delay);
    this.restartTimer.unref();
  }
}

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
