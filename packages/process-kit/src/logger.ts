// consola/core: the same logger without the fancy reporters, prompts and environment probing
// (~40 ms less CPU at every process start, a worker's included).
import { createConsola, LogLevels, type ConsolaInstance, type LogType } from 'consola/core';
import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { formatLine, jsonMember, jsonText, type LogContext, type LogFormat, type LogRecord } from './log-format.js';
import { ignoreOutputErrors, writeQuietly } from './output.js';

/** consola's instance, plus `emit`: one line with fields written straight to the stream (the hot path of job lines). */
export type Logger = ConsolaInstance & {
  /** Writes `line` at `type` if the level lets it through, without consola's record building: for a line per job. */
  emit(type: 'info' | 'warn' | 'error' | 'debug', line: LogLine | PreparedLine): void;
  /** `,"key":value` as this logger writes a field in a JSON line (masked), for `PreparedLine.members`. */
  member(key: string, value: unknown): string;
  /** A text as the JSON string a line's message becomes (masked), for `PreparedLine.messageJson`. */
  jsonText(text: string): string;
  /** Whether this logger masks literal secrets (a Redis password): if not, a text without an `@` or `=` is never masked. */
  readonly hasSecrets: boolean;
  /** `text` or `json`: a caller preparing lines can skip what the format does not print (text lines print no fields). */
  readonly format: LogFormat;
  /** Writes what `coalesce` holds back now (before the process stops, exits or hands its stream on). */
  flush(): void;
};

export interface LoggerOptions {
  /** Tag printed on every text line, e.g. `start-server` (a JSON line's `role` when `context` has none). */
  tag: string;
  /** consola level name or number; default `info` (3), or the `BATON_LOG_LEVEL` the caller passes in. */
  level?: LogType | number | undefined;
  /** Where lines go; default `process.stderr` (supervisors keep stdout for the app). */
  stream?: NodeJS.WritableStream;
  /** Prefix each text line with an ISO timestamp; default true. */
  timestamps?: boolean;
  /** `text` (default) or `json` (one object a line: time, level, pid, the context, msg, fields). */
  format?: LogFormat | undefined;
  /** Fields of every JSON line after `pid`, read at each line (the caller may fill one in later). */
  context?: LogContext | undefined;
  /** Literal strings never written in any format (a Redis password): `***` instead. */
  secrets?: readonly string[] | undefined;
  /**
   * Hold back the lines given to `emit` (the lines per job) and write them together, in writes of
   * at most PIPE_BUF (4096 bytes, so lines of processes sharing a pipe never interleave): at the
   * end of the event-loop turn, when 4096 characters are pending, before any other line of this
   * logger (the order of lines holds), at `flush()` and when the process exits. A process killed
   * with SIGKILL loses what is pending: lines made in its current turn, at most 4096 bytes.
   * Default false: every line written at once.
   */
  coalesce?: boolean | undefined;
}

/** A line with its fields already JSON members (`logger.member`): a job line without a fields object or their masking per line. */
export interface PreparedLine {
  message: string;
  /** `,"class":"Archive",…`: made with `logger.member` (masked); written after the context and `msg`. */
  members: string;
  /** Keys of the context the members carry themselves (a job's `worker`). */
  own?: readonly string[];
  /** Said before the message in text lines only (they do not print fields). */
  textPrefix?: string;
  /** The message as a JSON string (`logger.jsonText`, or made from parts of it): JSON lines write it instead of `message`. */
  messageJson?: string;
}

/** A line with structured fields: `logger.info(logLine('job done', { class: 'Archive' }))`. JSON lines carry them; text lines say only the message. */
export interface LogLine {
  message: string;
  fields: Record<string, unknown>;
  /** Said before the message in text lines only (they do not print fields). */
  textPrefix?: string;
}

/** Why: one shape for a message with fields, which consola passes on to the reporter as is. */
export function logLine(message: string, fields: Record<string, unknown>, textPrefix?: string): LogLine {
  return textPrefix === undefined ? { message, fields } : { message, fields, textPrefix };
}

/**
 * Why: consola's defaults hide `info` under NODE_ENV=test, throttle repeated lines and split
 * streams. A log stream whose reader went away (EPIPE) drops lines; it never kills the process.
 */
export function createLogger(options: LoggerOptions): Logger {
  const stream = options.stream ?? process.stderr;
  const format = options.format ?? 'text';
  const line = { timestamps: options.timestamps ?? true, context: options.context, secrets: (options.secrets ?? []).filter((s) => s !== ''), pid: process.pid };
  ignoreOutputErrors([stream]);
  const coalesced = options.coalesce ? coalescingWriter(stream) : undefined;
  // Any line but a job line goes out at once, after the job lines held back before it.
  const write = coalesced ? coalesced.now : (text: string) => writeQuietly(stream, text);
  const writeJobLine = coalesced ? coalesced.later : write;
  const logger = createConsola({
    level: resolveLevel(options.level),
    throttle: 0,
    reporters: [
      {
        log(obj) {
          write(formatLine(format, obj as unknown as LogRecord, line));
        },
      },
    ],
  }).withTag(options.tag) as Logger;
  const tag = options.tag;
  logger.emit = (type, l) => {
    if (LogLevels[type] > logger.level) return;
    const rec: LogRecord =
      'members' in l
        ? { date: Date.now(), type, tag, args: [l.message], members: l.members, own: l.own, textPrefix: l.textPrefix, msgJson: l.messageJson }
        : { date: Date.now(), type, tag, args: [l.message], fields: l.fields, textPrefix: l.textPrefix };
    writeJobLine(formatLine(format, rec, line));
  };
  logger.member = (key, value) => jsonMember(key, value, line.secrets);
  logger.jsonText = (text) => jsonText(text, line.secrets);
  (logger as { hasSecrets: boolean }).hasSecrets = line.secrets.length > 0;
  (logger as { format: LogFormat }).format = format;
  logger.flush = coalesced ? coalesced.flush : () => undefined;
  return logger;
}

/** The largest write a pipe takes whole (Linux PIPE_BUF): workers sharing the master's stderr never interleave within it. */
export const ATOMIC_WRITE = 4096;

/** Accepts `debug`, `info`, `4`, … and falls back to info for anything unknown. */
export function resolveLevel(level: LogType | number | string | undefined): number {
  if (level === undefined || level === '') return LogLevels.info;
  if (typeof level === 'number') return level;
  if (/^-?\d+$/.test(level)) return Number(level);
  return (LogLevels as Record<string, number>)[level] ?? LogLevels.info;
}

/** `text` or `json` from a flag or the environment (`BATON_LOG_FORMAT`); undefined when not one of them. */
export function parseLogFormat(value: string | undefined): LogFormat | undefined {
  const v = value?.trim().toLowerCase();
  return v === 'text' || v === 'json' ? v : undefined;
}

// --- internal ---

/**
 * Lines held back (`later`) until the end of the turn or 4096 pending characters, a line written
 * `now`, `flush()` or the process's exit. Characters are counted per line, bytes once per write:
 * a write with more than 4096 bytes (text beyond ASCII) is split at line ends.
 */
function coalescingWriter(stream: NodeJS.WritableStream): { later(text: string): void; now(text: string): void; flush(): void } {
  const put = directWriter(stream);
  let pending = '';
  let scheduled: NodeJS.Immediate | undefined;
  const flush = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    if (text.length <= ATOMIC_WRITE / 3 || Buffer.byteLength(text) <= ATOMIC_WRITE) put(text);
    else for (const chunk of atomicChunks(Buffer.from(text))) put(chunk);
  };
  // stderr to a file or a pipe is written synchronously: what is pending still goes out at exit.
  process.on('exit', flush);
  return {
    later(text) {
      if (pending.length + text.length > ATOMIC_WRITE) flush();
      pending += text;
      scheduled ??= setImmediate(flush);
    },
    now(text) {
      if (pending !== '') flush();
      writeQuietly(stream, text);
    },
    flush,
  };
}

/**
 * Held-back lines written with one `write(2)` on the stream's file descriptor, as Node's own
 * stderr does for a file, a pipe or a terminal (all synchronous on Linux), without the stream's
 * machinery (a Buffer made of each text, its write queue).
 * Through the stream as before when it has no descriptor, has writes queued (they go first), or
 * the descriptor takes nothing now (EAGAIN) or part of the text (the rest is queued after it).
 * A reader gone away (EPIPE) drops the text, as `ignoreOutputErrors` does.
 */
function directWriter(stream: NodeJS.WritableStream): (data: string | Uint8Array) => void {
  const fd = (stream as { fd?: unknown }).fd;
  if (typeof fd !== 'number') return (data) => writeQuietly(stream, data);
  const w = stream as Partial<Writable>;
  return (data) => {
    if (w.destroyed || w.writableEnded) return;
    if ((w.writableLength ?? 0) > 0) return writeQuietly(stream, data);
    let written: number;
    try {
      // Two calls for writeSync's two overloads (a string, a buffer): the same write.
      written = typeof data === 'string' ? writeSync(fd, data) : writeSync(fd, data);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') writeQuietly(stream, data);
      return;
    }
    // A short count (a non-blocking socket) leaves the rest to the stream, after what was written.
    if (written >= (typeof data === 'string' ? Buffer.byteLength(data) : data.length)) return;
    writeQuietly(stream, (typeof data === 'string' ? Buffer.from(data) : data).subarray(written));
  };
}

/** `buf` in pieces of at most ATOMIC_WRITE bytes, each ending at a line end (a longer line is a piece alone). */
function atomicChunks(buf: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  while (buf.length - start > ATOMIC_WRITE) {
    const cut = buf.lastIndexOf(0x0a, start + ATOMIC_WRITE - 1);
    const end = cut >= start ? cut + 1 : buf.indexOf(0x0a, start) + 1 || buf.length;
    chunks.push(buf.subarray(start, end));
    start = end;
  }
  if (start < buf.length) chunks.push(buf.subarray(start));
  return chunks;
}
