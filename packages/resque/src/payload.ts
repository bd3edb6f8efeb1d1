import { createHash } from 'node:crypto';
import { formatFailedAt } from './time.js';

/** A Resque job payload: `{"class": "...", "args": [...]}` (extra keys allowed and kept). */
export interface JobPayload {
  class: string;
  args: unknown[];
  [extra: string]: unknown;
}

/** Why: Ruby writes exactly `{"class":…,"args":[…]}`, keys in that order. */
export function encodeJob(className: string, args: readonly unknown[]): string {
  return JSON.stringify({ class: className, args });
}

export type DecodeResult =
  | { ok: true; payload: JobPayload }
  | { ok: false; exception: string; error: string; payload: unknown };

/** A JSON object read back from Redis (a failure record, a delayed payload); undefined for bad JSON or any other JSON value. */
export function parseJsonObject(raw: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Why: bad input must become a failure record, never a crash. The exception names are the
 * ones a Ruby worker would record for the same payload.
 */
export function decodeJob(raw: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { ok: false, exception: 'JSON::ParserError', error: `invalid job payload: ${(err as Error).message}`, payload: raw };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, exception: 'TypeError', error: 'job payload is not a JSON object', payload: value };
  }
  const v = value as Record<string, unknown>;
  if (typeof v.class !== 'string' || v.class === '') {
    return { ok: false, exception: 'NameError', error: 'job payload has no class', payload: value };
  }
  if (v.args !== undefined && !Array.isArray(v.args)) {
    return { ok: false, exception: 'TypeError', error: `args of ${v.class} must be an array, got ${typeof v.args}`, payload: value };
  }
  // The parsed object is ours: complete it in place rather than copying it (hot path).
  if (v.args === undefined) v.args = [];
  return { ok: true, payload: v as JobPayload };
}

/**
 * Why: a job's identity another process can name (a master failing the job its worker blocks
 * on): the sha1 hex of the payload bytes exactly as reserved, as Lua's `redis.sha1hex` gives it.
 * Identical payloads share an id; that is harmless, as they are the same job to run.
 */
export function jobIdOf(raw: string | Uint8Array): string {
  return createHash('sha1').update(raw).digest('hex');
}

export interface FailureInput {
  failedAt: Date;
  /** The payload exactly as reserved: its text, or its bytes (which need not be valid UTF-8). */
  raw: string | Buffer;
  exception: string;
  error: string;
  backtrace: string[];
  worker: string;
  queue: string;
}

/**
 * Why: Ruby's field order (failed_at, payload, exception, error, backtrace, worker, queue).
 * The payload is spliced in as reserved, so extra keys and big numbers survive byte for byte;
 * a payload that is not JSON is stored as a JSON string so the list stays parseable. Given the
 * payload's bytes, the record is bytes too, with the payload's bytes in it unchanged (a decoded
 * copy would have replaced invalid UTF-8, and `requeueFailed` would enqueue another payload).
 */
export function encodeFailure(f: FailureInput & { raw: string }): string;
export function encodeFailure(f: FailureInput & { raw: Buffer }): Buffer;
export function encodeFailure(f: FailureInput): string | Buffer;
export function encodeFailure(f: FailureInput): string | Buffer {
  const head = `{"failed_at":${JSON.stringify(formatFailedAt(f.failedAt))},"payload":`;
  const tail =
    `,"exception":${JSON.stringify(f.exception)},"error":${JSON.stringify(f.error)},` +
    `"backtrace":${JSON.stringify(f.backtrace)},"worker":${JSON.stringify(f.worker)},"queue":${JSON.stringify(f.queue)}}`;
  if (typeof f.raw === 'string') return head + (isJson(f.raw) ? f.raw : JSON.stringify(f.raw)) + tail;
  const payload = isJson(f.raw.toString('utf8')) ? f.raw : jsonStringOfBytes(f.raw);
  return Buffer.concat([Buffer.from(head), payload, Buffer.from(tail)]);
}

/** `{"queue","run_at","payload"}` — the `worker:<id>` record, built around the raw payload. */
export function encodeWorkingOn(queue: string, runAt: string, raw: string): string {
  const payload = isJson(raw) ? raw : JSON.stringify(raw);
  return `{"queue":${JSON.stringify(queue)},"run_at":${JSON.stringify(runAt)},"payload":${payload}}`;
}

/** Describes anything thrown, Error or not, as Ruby's exception/error/backtrace triple. */
export function describeThrown(thrown: unknown): { exception: string; error: string; backtrace: string[] } {
  if (thrown instanceof Error) {
    const name = thrown.name && thrown.name !== 'Error' ? thrown.name : thrown.constructor?.name || 'Error';
    const lines = (thrown.stack ?? '').split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
    return { exception: name, error: thrown.message, backtrace: lines };
  }
  let text: string;
  try {
    text = typeof thrown === 'string' ? thrown : JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  return { exception: 'RuntimeError', error: `non-Error thrown: ${text}`, backtrace: [] };
}

// --- internal ---

/**
 * Bytes as a JSON string, byte for byte: quote, backslash and control bytes escaped, every other
 * byte kept (as Lua's cjson.encode does), so invalid UTF-8 is not replaced.
 */
function jsonStringOfBytes(raw: Buffer): Buffer {
  const out: number[] = [0x22];
  for (const b of raw) {
    if (b === 0x22 || b === 0x5c) out.push(0x5c, b);
    else if (b < 0x20) out.push(...Buffer.from(`\\u${b.toString(16).padStart(4, '0')}`));
    else out.push(b);
  }
  out.push(0x22);
  return Buffer.from(out);
}

function isJson(raw: string): boolean {
  try {
    JSON.parse(raw);
    return true;
  } catch {
    return false;
  }
}
