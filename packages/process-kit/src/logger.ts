// consola/core: the same logger without the fancy reporters, prompts and environment probing
// (~40 ms less CPU at every process start, a worker's included).
import { createConsola, LogLevels, type ConsolaInstance, type LogType } from 'consola/core';
import { formatLine, type LogContext, type LogFormat, type LogRecord } from './log-format.js';
import { ignoreOutputErrors, writeQuietly } from './output.js';

/** consola's instance, plus `emit`: one line with fields written straight to the stream (the hot path of job lines). */
export type Logger = ConsolaInstance & {
  /** Writes `line` at `type` if the level lets it through, without consola's record building: for a line per job. */
  emit(type: 'info' | 'warn' | 'error' | 'debug', line: LogLine): void;
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
   * Write the lines of one event-loop turn together (at most PIPE_BUF, 4096 bytes, a write, so
   * lines of processes sharing a pipe never interleave), and the rest when the process exits.
   * For a worker's job lines: one write per turn instead of one per job. Default false.
   */
  coalesce?: boolean | undefined;
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
  const write = options.coalesce ? coalescingWriter(stream) : (text: string) => writeQuietly(stream, text);
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
    write(formatLine(format, { date: Date.now(), type, tag, args: [l.message], fields: l.fields, textPrefix: l.textPrefix }, line));
  };
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

/** Lines of one turn in as few writes as possible, none larger than ATOMIC_WRITE (a longer line goes alone); the rest at exit. */
function coalescingWriter(stream: NodeJS.WritableStream): (text: string) => void {
  let pending = '';
  let bytes = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    bytes = 0;
    writeQuietly(stream, text);
  };
  // stderr to a file or a pipe is written synchronously: what is pending still goes out at exit.
  process.on('exit', flush);
  return (text) => {
    const n = Buffer.byteLength(text);
    if (bytes + n > ATOMIC_WRITE) flush();
    pending += text;
    bytes += n;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
