import { formatWithOptions } from 'node:util';

// Pure conversion of one log record to one line, in either format, with every secret masked.
// logger.ts feeds consola's records through these; nothing here writes anywhere.

/** `text`: `2026-… [info] [tag] message`, for people; `json`: one JSON object a line, for machines. */
export type LogFormat = 'text' | 'json';

export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/**
 * Fields every JSON line of a process carries after `time`, `level` and `pid` (role, generation,
 * group, slot, worker id). Read at each line: the owner may add a field later (the worker id,
 * once it is known). Undefined fields are left out.
 */
export type LogContext = Record<string, string | number | boolean | undefined>;

/** One record, as the reporter gets it from consola. */
export interface LogRecord {
  /** When: a Date (consola's records), or epoch ms (the `emit` fast path: no Date a line). */
  date: Date | number;
  /** consola's type: `info`, `warn`, `success`, … */
  type: string;
  tag: string;
  args: readonly unknown[];
  /** Structured fields of this line (`logger.info({ message, fields })`). */
  fields?: Record<string, unknown> | undefined;
  /** Said before the message in text lines only (`[Archive 3f2a9c1e]`), where JSON lines have fields. */
  textPrefix?: string | undefined;
  /**
   * The line's fields already as JSON members (`,"class":"Archive",…`, each made by `jsonMember`,
   * so masked): written as they are, after `fields` if there are both (the hot path of job lines).
   */
  members?: string | undefined;
  /** Keys of the context that `members` carries itself (a job's `worker`): left out of the context's. */
  own?: readonly string[] | undefined;
  /**
   * The message already as a JSON string (quoted, escaped and masked, as `jsonText` makes it):
   * a JSON line writes it instead of `args` (the hot path of job lines); text lines ignore it.
   */
  msgJson?: string | undefined;
}

export interface LineOptions {
  /** Prefix text lines with an ISO timestamp (JSON lines always have `time`). */
  timestamps: boolean;
  context: LogContext | undefined;
  /** Literal strings (a Redis password) never written: each becomes `***`. */
  secrets: readonly string[];
  pid: number;
}

/** The keys a JSON line starts with; a structured field cannot replace them. */
const RESERVED = new Set(['time', 'level', 'pid', 'msg']);

/** consola's types by the level name a JSON line carries (`success`, `ready`, … are info). */
const LEVEL_OF: Readonly<Record<string, string>> = {
  fatal: 'fatal',
  error: 'error',
  fail: 'error',
  warn: 'warn',
  debug: 'debug',
  trace: 'trace',
  verbose: 'trace',
};

/** Why: one line in the chosen format, newline included; a record never throws on the way out. */
export function formatLine(format: LogFormat, rec: LogRecord, o: LineOptions): string {
  return format === 'json' ? formatJsonLine(rec, o) : formatTextLine(rec, o);
}

/** `2026-12-03T06:51:07.123Z [info] [tag] message`: the text format, as it always was. */
export function formatTextLine(rec: LogRecord, o: LineOptions): string {
  const text = redactText(rec.textPrefix ? `${rec.textPrefix} ${messageOf(rec.args)}` : messageOf(rec.args), o.secrets);
  const tag = rec.tag ? ` [${rec.tag}]` : '';
  const ts = o.timestamps ? `${isoTime(rec.date)} ` : '';
  return `${ts}[${rec.type}]${tag} ${text}\n`;
}

/**
 * `{"time":…,"level":"info","pid":…,"role":"worker",…,"msg":"…",…fields}`: the context's fields
 * after `pid` (the tag as `role` when the context has none), then the message, then the line's
 * own fields. Strings are masked, objects redacted by key (see `redactValue`).
 */
export function formatJsonLine(rec: LogRecord, o: LineOptions): string {
  // Built as text, key by key (as pino does): ~2x faster than an object given to JSON.stringify.
  let line = `{"time":"${isoTime(rec.date)}","level":"${LEVEL_OF[rec.type] ?? 'info'}","pid":${o.pid}`;
  line += contextMembers(o.context, rec.tag, rec.fields, rec.own);
  line += `,"msg":${rec.msgJson ?? jsonOf(redactText(messageOf(rec.args), o.secrets))}`;
  const fields = rec.fields;
  if (fields) {
    for (const k in fields) {
      if (fields[k] === undefined || RESERVED.has(k)) continue;
      line += jsonMember(k, fields[k], o.secrets);
    }
  }
  if (rec.members) line += rec.members;
  return `${line}}\n`;
}

/**
 * Why: one field of a JSON line, as `,"key":value`, masked as `formatJsonLine` masks a line's
 * fields; '' for what JSON cannot hold. A caller that writes many lines with the same field
 * (a job's class and queue) makes it once and passes it in `members`.
 */
export function jsonMember(key: string, value: unknown, secrets: readonly string[]): string {
  let v: string | undefined;
  try {
    v = jsonOf(redactValue(value, secrets, key, 0));
  } catch {
    // what JSON cannot hold (a cycle deeper than redactValue goes) is left out
  }
  return v === undefined ? '' : `,${quoteKey(key)}:${v}`;
}

/** Why: a text as a JSON string, masked as a line's message is (for `LogRecord.msgJson`). */
export function jsonText(text: string, secrets: readonly string[]): string {
  return jsonOf(redactText(text, secrets))!;
}

/**
 * Why: a secret must not reach a log line, whoever wrote the text (our lines already describe
 * Redis without its password, a job's console.log does not): the literal secrets become `***`,
 * and so does the password of any URL (`scheme://user:***@`, a lone user info of a redis URL,
 * which ioredis reads as a password, and `?password=`).
 */
export function redactText(text: string, secrets: readonly string[]): string {
  // Hot path (every string of every line): one precompiled test says whether anything below can apply.
  if (!mayNeedRedaction(secrets).test(text)) return text;
  let t = text;
  for (const s of secrets) if (s && t.includes(s)) t = t.split(s).join('***');
  if (t.includes('@')) t = t.replace(URL_USERINFO, (_, scheme: string, user: string, pass: string | undefined) => (pass !== undefined ? `${scheme}${user}:***@` : /^rediss?:/i.test(scheme) ? `${scheme}***@` : `${scheme}${user}@`));
  if (t.includes('=')) t = t.replace(URL_PASSWORD_PARAM, '$1***');
  return t;
}

/** Why: structured fields are values, not text: a key that names a secret is masked whatever its value. */
export function redactValue(value: unknown, secrets: readonly string[], key: string, depth: number): unknown {
  if (typeof value === 'number' || typeof value === 'boolean') return isSecretKey(key) ? '***' : value;
  if (isSecretKey(key) && value !== undefined && value !== null && value !== '') return '***';
  if (typeof value === 'string') return redactText(value, secrets);
  if (typeof value === 'bigint') return String(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Error) return { type: value.name, message: redactText(value.message, secrets) };
  if (depth >= 4) return '[…]';
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets, '', depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, secrets, k, depth + 1);
  return out;
}

// --- internal ---

/**
 * The context's members of a line as they were last made, with what they were made from: the
 * context's keys and values (in order), the tag and the keys the line carries itself. Made
 * again only when one of them differs (the owner may change the context at any time).
 */
interface ContextMembers {
  tag: string;
  omitted: string;
  /** For a line without fields: the `own` it was made for (the same array, for the per-job lines' fast path). */
  own: readonly string[] | undefined;
  fieldless: boolean;
  snapshot: unknown[];
  text: string;
}

const contextCache = new WeakMap<LogContext, ContextMembers[]>();
const NO_CONTEXT: LogContext = {};

/**
 * `,"role":…,"generation":…`: the context after `pid` (the tag as `role` when the context has
 * none), without the keys the line has fields of its own for (a job's `worker`) and undefined ones.
 */
function contextMembers(context: LogContext | undefined, tag: string, fields: Record<string, unknown> | undefined, own: readonly string[] | undefined): string {
  const ctx = context ?? NO_CONTEXT;
  let entries = contextCache.get(ctx);
  if (!entries) contextCache.set(ctx, (entries = []));
  // A line without fields (a job line) leaves out what `own` names: the same `own` array and context give the same text.
  if (fields === undefined) for (const e of entries) if (e.fieldless && e.own === own && e.tag === tag && sameContext(ctx, e.snapshot)) return e.text;
  let omitted = '';
  for (const k in ctx) if (ctx[k] !== undefined && (fields?.[k] !== undefined || own?.includes(k))) omitted += `${k}\0`;
  for (const e of entries) if (e.tag === tag && e.omitted === omitted && sameContext(ctx, e.snapshot)) return e.text;
  const snapshot: unknown[] = [];
  let text = !ctx.role && tag ? `,"role":${jsonOf(tag)}` : '';
  for (const k in ctx) {
    const v = ctx[k];
    snapshot.push(k, v);
    if (v !== undefined && !RESERVED.has(k) && fields?.[k] === undefined && !own?.includes(k)) text += `,${quoteKey(k)}:${jsonOf(v)}`;
  }
  // A few variants a context (lines with and without a `worker` of their own); the oldest makes room.
  if (entries.length >= 4) entries.shift();
  entries.push({ tag, omitted, own, fieldless: fields === undefined, snapshot, text });
  return text;
}

function sameContext(ctx: LogContext, snapshot: readonly unknown[]): boolean {
  let i = 0;
  for (const k in ctx) {
    if (snapshot[i] !== k || snapshot[i + 1] !== ctx[k]) return false;
    i += 2;
  }
  return i === snapshot.length;
}

/** Per secrets list: a regex matching a text that contains a secret, an `@` or an `=` (nothing else is ever masked). */
const redactionTests = new WeakMap<readonly string[], RegExp>();

function mayNeedRedaction(secrets: readonly string[]): RegExp {
  let re = redactionTests.get(secrets);
  if (re === undefined) {
    const alternatives = ['@', '=', ...secrets.filter((s) => s !== '').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))];
    re = new RegExp(alternatives.join('|'));
    redactionTests.set(secrets, re);
  }
  return re;
}

/** ISO time, made once per millisecond: the lines of one ms share it. */
let lastMs = Number.NaN;
let lastIso = '';

function isoTime(date: Date | number): string {
  const ms = typeof date === 'number' ? date : date.getTime();
  if (ms !== lastMs) {
    // an invalid Date throws, as toISOString always did
    lastIso = (typeof date === 'number' ? new Date(ms) : date).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** The args as one text, as console.log joins them; a lone string as is (the usual line, hot path: no format parsing). */
function messageOf(args: readonly unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return formatWithOptions({ colors: false, breakLength: Infinity }, ...args);
}

/** `scheme://user:pass@` or `scheme://user@` (user info without `/`, whitespace or quotes). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:'"`]*)(?::([^\s/@'"`]*))?@/gi;
const URL_PASSWORD_PARAM = /([?&](?:password|pass|pwd)=)[^&#\s'"`]*/gi;
/** Keys whose values are secrets (`password`, `sentinelPassword`, `token`, `secret`, `auth`). */
const SECRET_KEY = /pass(word)?$|secret|token|^auth$/i;
const secretKeys = new Map<string, boolean>();
const quotedKeys = new Map<string, string>();

/** The keys of a process's lines are few and repeat: each is tested (and quoted) once. */
function isSecretKey(key: string): boolean {
  let s = secretKeys.get(key);
  if (s === undefined) {
    s = SECRET_KEY.test(key);
    if (secretKeys.size < 1000) secretKeys.set(key, s);
  }
  return s;
}

function quoteKey(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = JSON.stringify(key);
    if (quotedKeys.size < 1000) quotedKeys.set(key, q);
  }
  return q;
}

/** A value as JSON; a number or a string without anything to escape without JSON.stringify's call. */
function jsonOf(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'string' && v.length < 200 && !NEEDS_ESCAPE.test(v)) return `"${v}"`;
  return JSON.stringify(v);
}
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]|[\ud800-\udfff]/;
