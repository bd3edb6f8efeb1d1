import { type Writable } from 'node:stream';

/** A stream that can report write errors (process.stdout/stderr, a child's stdin, a socket). */
export type OutputStream = NodeJS.WritableStream | Writable;

const guarded = new WeakSet<object>();

/**
 * Why: a supervisor's output is often a pipe (`| head`, `| logger`, journald); when the reader
 * goes away, the next write fails with EPIPE, and an `error` event nobody listens to kills the
 * process and orphans its children (item 11). Lines that cannot be written are dropped; the
 * supervisor keeps serving. Idempotent per stream; defaults to our own stdout and stderr.
 * `onError` (called once per stream, on its first failure) lets the caller say so elsewhere.
 */
export function ignoreOutputErrors(
  streams: readonly OutputStream[] = [process.stdout, process.stderr],
  onError?: (err: NodeJS.ErrnoException, stream: OutputStream) => void,
): void {
  for (const stream of streams) {
    // Plain `{ write }` objects (e.g. a synchronous log file) have no events to guard.
    if (guarded.has(stream) || typeof (stream as Partial<NodeJS.EventEmitter>).on !== 'function') continue;
    guarded.add(stream);
    let reported = false;
    (stream as NodeJS.EventEmitter).on('error', (err: NodeJS.ErrnoException) => {
      if (reported) return;
      reported = true;
      try {
        onError?.(err, stream);
      } catch {
        // the report is best effort too
      }
    });
  }
}

/** Writes to a stream without ever throwing (a destroyed or closed stream drops the text). */
export function writeQuietly(stream: OutputStream, text: string | Uint8Array): void {
  try {
    if ((stream as Writable).destroyed || (stream as Writable).writableEnded) return;
    stream.write(text);
  } catch {
    // dropped: see ignoreOutputErrors
  }
}
