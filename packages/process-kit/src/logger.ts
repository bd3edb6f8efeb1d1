// consola/core: the same logger without the fancy reporters, prompts and environment probing
// (~40 ms less CPU at every process start, a worker's included).
import { createConsola, LogLevels, type ConsolaInstance, type LogType } from 'consola/core';
import { fstatSync, writeSync } from 'node:fs';
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
   * at most PIPE_BUF (4096 bytes, so lines of processes sharing a pipe never interleave; 16384 to
   * a regular file, FILE_WRITE): at the end of the event-loop turn, when the next line would not
   * fit, before any other line of this logger (the order of lines holds), at `flush()` and when
   * the process exits. A process killed with SIGKILL loses what is pending: lines made in its
   * current turn, at most one write's worth.
   * `{ holdMs }`: held across turns too, for at most that long after the first line pending (the
   * caller flushes when it must, e.g. before a job that may block the loop); a SIGKILL then loses
   * at most `holdMs` of lines, at most one write's worth. Default false: every line written at once.
   */
  coalesce?: boolean | { holdMs: number } | undefined;
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
  const coalesced = options.coalesce ? coalescingWriter(stream, options.coalesce === true ? undefined : options.coalesce.holdMs) : undefined;
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

/** The largest write of held-back lines to a regular file: 4 times fewer write(2)s than ATOMIC_WRITE (a write to a file is never interleaved with another on Linux). */
export const FILE_WRITE = 16384;

/**
 * Lines held back (`later`) until the end of the turn (or `holdMs` after the first one pending),
 * a line written `now`, `flush()` or the process's exit, or until the next line would not fit in
 * one write: ATOMIC_WRITE bytes (a pipe, a terminal), FILE_WRITE for a regular file. Each line
 * is encoded once, as it comes, into a buffer kept for the purpose, and written from it: no long
 * string to join, measure and encode again at each write (on a busy worker's JSON lines that cost
 * as much as the write itself). A line longer than a write goes alone.
 */
function coalescingWriter(stream: NodeJS.WritableStream, holdMs?: number): { later(text: string): void; now(text: string): void; flush(): void } {
  const fd = descriptorOf(stream);
  const capacity = fd !== undefined && isRegularFile(fd) ? FILE_WRITE : ATOMIC_WRITE;
  const put = directWriter(stream, fd);
  const buf = Buffer.allocUnsafe(capacity);
  let used = 0;
  let scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  const schedule = holdMs === undefined ? () => setImmediate(flush) : () => setTimeout(flush, holdMs).unref();
  const flush = () => {
    if (scheduled !== undefined) {
      if (holdMs === undefined) clearImmediate(scheduled as NodeJS.Immediate);
      else clearTimeout(scheduled as NodeJS.Timeout);
    }
    scheduled = undefined;
    if (used === 0) return;
    const n = used;
    used = 0;
    put(buf, n);
  };
  // stderr to a file or a pipe is written synchronously: what is pending still goes out at exit.
  process.on('exit', flush);
  return {
    later(text) {
      // At most 3 bytes a UTF-16 unit: only a line that may not fit is measured.
      if (used + text.length * 3 > capacity) {
        const bytes = Buffer.byteLength(text);
        if (used + bytes > capacity) flush();
        if (bytes > capacity) {
          const whole = Buffer.from(text);
          put(whole, whole.length);
          return;
        }
      }
      used += buf.write(text, used, 'utf8');
      scheduled ??= schedule();
    },
    now(text) {
      if (used !== 0) flush();
      writeQuietly(stream, text);
    },
    flush,
  };
}

function descriptorOf(stream: NodeJS.WritableStream): number | undefined {
  const fd = (stream as { fd?: unknown }).fd;
  return typeof fd === 'number' ? fd : undefined;
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/**
 * The first `n` bytes of `buf` (held-back lines) written with one `write(2)` on the stream's
 * file descriptor, as Node's own stderr does for a file, a pipe or a terminal (all synchronous
 * on Linux), without the stream's machinery (a Buffer made of each text, its write queue).
 * Through the stream (as text: `buf` is used again) when it has no descriptor, has writes queued
 * (they go first), or the descriptor takes nothing now (EAGAIN) or part of the bytes (the rest
 * is queued after it). A reader gone away (EPIPE) drops them, as `ignoreOutputErrors` does.
 */
function directWriter(stream: NodeJS.WritableStream, fd: number | undefined): (buf: Buffer, n: number) => void {
  const viaStream = (buf: Buffer, from: number, n: number) => writeQuietly(stream, buf.toString('utf8', from, n));
  if (fd === undefined) return (buf, n) => viaStream(buf, 0, n);
  const w = stream as Partial<Writable>;
  return (buf, n) => {
    if (w.destroyed || w.writableEnded) return;
    if ((w.writableLength ?? 0) > 0) return viaStream(buf, 0, n);
    let written: number;
    try {
      written = writeSync(fd, buf, 0, n);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') viaStream(buf, 0, n);
      return;
    }
    // A short count (a non-blocking socket) leaves the rest to the stream, after what was written.
    if (written < n) writeQuietly(stream, Buffer.from(buf.subarray(written, n)));
  };
}

