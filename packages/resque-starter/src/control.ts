import { chmodSync, lstatSync, mkdirSync, rmSync, statSync, type Stats } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { ControlError } from '@baton/process-kit';

// The master's control socket: newline-delimited JSON over a unix socket in a private
// directory, named after the master's pid so two generations never share one.

export type ControlRequest =
  | { cmd: 'status' }
  | { cmd: 'scale'; workers: number; group?: string }
  | { cmd: 'reload' }
  /** `pause [GROUP]` / `resume [GROUP]`: `paused` says which. */
  | { cmd: 'pause'; paused: boolean; group?: string }
  | { cmd: 'reopen-logs' }
  /** A newer master takes over; the connection stays open and gets `workers` pushes. */
  | { cmd: 'handoff'; pid: number; generation?: number | undefined }
  /** On a hand-off connection: the newer master gives up, take the workers back. */
  | { cmd: 'restore' }
  /**
   * On a hand-off connection: a ready new worker of group `group` asks for room; one worker of
   * that group retires (what a TTOU does, with the group named; without `group`, the soonest
   * free of any). Fire and forget: no reply.
   */
  | { cmd: 'retire'; group?: string }
  /**
   * On a hand-off connection, from a newer master that gives up (before `restore`): what it
   * counted (master/metrics.ts), so the old master, serving the endpoint again, keeps it. No reply.
   */
  | { cmd: 'metrics'; parts: unknown };

export type ControlReply = { ok: true; [key: string]: unknown } | { ok: false; error: string };

/** Pushed on a hand-off connection whenever the old master's live worker count changes. */
export interface WorkersPush {
  event: 'workers';
  live: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Why: the control sockets (and the config's transpile cache) must live where no other local
 * user can plant or pre-create anything, and every master of one user with one environment
 * must compute the same place, so that generations find each other. In order:
 * - `$RESQUE_STARTER_RUNTIME_DIR` itself when it is missing (it is then created, mode 0700) or
 *   already private to us; otherwise (a shared directory such as /tmp) the private
 *   subdirectory `resque-starter-<uid>` inside it;
 * - `$XDG_RUNTIME_DIR/resque-starter` when XDG_RUNTIME_DIR is ours;
 * - for root, `/run/resque-starter`;
 * - `<tmp>/resque-starter-<uid>`.
 * Only looks (lstat); `ensureRuntimeDir` creates and checks it.
 */
export function runtimeDir(env: Env = {}, uid: number | undefined = process.getuid?.()): string {
  return runtimeDirCandidates(env, uid)[0]!;
}

/**
 * Why: creating the runtime directory is where a planted symlink or a directory pre-created by
 * another user would bite. Creates `dir` exclusively (mode 0700, never recursive into a
 * symlink) or checks the existing one: a real directory (not a symlink), owned by us, not
 * writable by group or others. Never changes the mode of an existing directory. Returns `dir`;
 * throws a ControlError that says what to do.
 */
export function ensureRuntimeDir(dir: string, uid: number | undefined = process.getuid?.()): string {
  let st = lstatOrUndefined(dir);
  if (!st) {
    const parent = dirname(dir);
    if (!lstatOrUndefined(parent)) mkdirSync(parent, { recursive: true, mode: 0o700 });
    const p = statSync(parent);
    if (uid !== undefined && p.uid !== uid && p.uid !== 0) {
      throw new ControlError(`${parent} (parent of the runtime directory) is owned by uid ${p.uid}, not by this user (uid ${uid}) or root: ${TAKEN_ADVICE}`);
    }
    if ((p.mode & 0o022) !== 0 && (p.mode & 0o1000) === 0) {
      throw new ControlError(`${parent} (parent of the runtime directory) is writable by others without the sticky bit: ${TAKEN_ADVICE}`);
    }
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    st = lstatSync(dir);
  }
  const problem = privacyProblem(st, uid);
  if (problem) throw new ControlError(`runtime directory ${dir} ${problem}: ${TAKEN_ADVICE}`);
  return dir;
}

/** The control socket of the master with this pid. */
export function controlSocketPath(pid: number, dir: string): string {
  return join(dir, `master-${pid}.sock`);
}

/**
 * Why: `resque-starter status` may run with another environment than the master (a login
 * shell has XDG_RUNTIME_DIR, a service has not): the socket of `pid` in the first runtime
 * directory candidate that has one, owned by us; else the path in `runtimeDir(env)`.
 */
export function findControlSocket(pid: number, env: Env = {}, uid: number | undefined = process.getuid?.()): string {
  const dirs = runtimeDirCandidates(env, uid);
  for (const dir of dirs) {
    const path = controlSocketPath(pid, dir);
    const st = lstatOrUndefined(path);
    if (st?.isSocket() && (uid === undefined || st.uid === uid)) return path;
  }
  return controlSocketPath(pid, dirs[0]!);
}

export interface ControlHandlers {
  /** The reply to write; undefined for a request that gets none (`retire` on a hand-off link). */
  request(req: ControlRequest, conn: Socket): ControlReply | undefined | Promise<ControlReply | undefined>;
  closed(conn: Socket): void;
}

/**
 * Why: `scale`, `status` and the rolling hand-off need an exact channel; signals coalesce.
 * While it listens it keeps the process alive (a master with no worker and no timer must not
 * end by itself): the master closes it on its way out.
 */
export async function listenControl(path: string, handlers: ControlHandlers): Promise<Server> {
  ensureRuntimeDir(dirname(path));
  rmSync(path, { force: true });
  const server = createServer((conn) => {
    conn.setEncoding('utf8');
    let buf = '';
    conn.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        let req: ControlRequest;
        try {
          req = JSON.parse(line) as ControlRequest;
        } catch {
          writeLine(conn, { ok: false, error: 'not JSON' });
          continue;
        }
        Promise.resolve()
          .then(() => handlers.request(req, conn))
          .then(
            (reply) => reply !== undefined && writeLine(conn, reply),
            (err: unknown) => writeLine(conn, { ok: false, error: (err as Error).message }),
          );
      }
    });
    conn.on('error', () => undefined);
    conn.on('close', () => handlers.closed(conn));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return server;
}

export function writeLine(conn: Socket, value: unknown): void {
  if (!conn.destroyed && conn.writable) conn.write(`${JSON.stringify(value)}\n`);
}

/** Sends one request and resolves with the reply (client side of `status`, `scale`, …). */
export async function sendControl(path: string, req: ControlRequest, timeoutMs = 5000): Promise<ControlReply> {
  return await new Promise((resolve, reject) => {
    const conn = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new ControlError(`no answer on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (d: string) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      conn.end();
      try {
        resolve(JSON.parse(buf.slice(0, i)) as ControlReply);
      } catch (err) {
        reject(new ControlError(`bad reply from ${path}`, { cause: err }));
      }
    });
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(new ControlError(`cannot reach the master on ${path}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
    });
  });
}

/**
 * A hand-off connection to an old master: the first reply carries its live worker count,
 * later lines are `workers` pushes. `restore()` hands its workers back.
 */
export interface HandoffLink {
  readonly initialLive: number;
  /** The worker count the old master was asked for (config, or a runtime `scale`), if it said (older versions do not). */
  readonly desired: number | undefined;
  /** The `concurrency` of the config the old master loaded, if it said. */
  readonly configured: number | undefined;
  /** The same per worker group, from an old master that runs groups. */
  readonly groups: Array<{ name: string; desired: number; configured: number }> | undefined;
  onWorkers(cb: (live: number) => void): void;
  /** The old master's counters and workers (`event: 'metrics'` pushes), when it serves metrics. */
  onMetrics(cb: (push: Record<string, unknown>) => void): void;
  onClose(cb: () => void): void;
  restore(): Promise<void>;
  /** Asks the old master to retire one worker of `group` (any, the soonest free, without it). */
  retire(group: string | undefined): void;
  /** Hands the old master what this master counted (before `restore`). */
  sendMetrics(parts: unknown): void;
  close(): void;
}

export async function openHandoff(path: string, me: { pid: number; generation: number | undefined }, timeoutMs = 3000): Promise<HandoffLink> {
  return await new Promise((resolve, reject) => {
    const conn = createConnection(path);
    conn.setEncoding('utf8');
    let buf = '';
    let first = true;
    // Pushes (and the close) that come in with the first reply, before the caller has
    // registered its callbacks, are kept and handed over on registration, not dropped.
    let lastLive: number | undefined;
    let closed = false;
    let workersCb: (live: number) => void = (live) => (lastLive = live);
    let lastMetrics: Record<string, unknown> | undefined;
    let metricsCb: (push: Record<string, unknown>) => void = (push) => (lastMetrics = push);
    let closeCb: () => void = () => (closed = true);
    let restoreDone: (() => void) | undefined;
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new ControlError(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on('connect', () => conn.write(`${JSON.stringify({ cmd: 'handoff', pid: me.pid, generation: me.generation })}\n`));
    conn.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (msg.event === 'metrics') {
          // May come before the reply is read (the old master pushes as it is replaced).
          metricsCb(msg);
          continue;
        }
        if (first) {
          first = false;
          clearTimeout(timer);
          if (msg.ok !== true) {
            conn.destroy();
            reject(new ControlError(String(msg.error ?? 'refused')));
            return;
          }
          resolve({
            initialLive: Number(msg.live ?? 0),
            desired: count(msg.desired),
            configured: count(msg.configured),
            groups: groupCounts(msg.groups),
            onWorkers: (cb) => {
              workersCb = cb;
              if (lastLive !== undefined) cb(lastLive);
            },
            onMetrics: (cb) => {
              metricsCb = cb;
              if (lastMetrics !== undefined) cb(lastMetrics);
            },
            onClose: (cb) => {
              closeCb = cb;
              if (closed) cb();
            },
            restore: () =>
              new Promise<void>((res) => {
                if (conn.destroyed) return res();
                restoreDone = res;
                conn.write(`${JSON.stringify({ cmd: 'restore' })}\n`);
                setTimeout(res, 2000).unref();
              }),
            retire: (group) => {
              if (!conn.destroyed) conn.write(`${JSON.stringify({ cmd: 'retire', group })}\n`);
            },
            sendMetrics: (parts) => {
              if (!conn.destroyed) conn.write(`${JSON.stringify({ cmd: 'metrics', parts })}\n`);
            },
            close: () => conn.end(),
          });
        } else if (msg.event === 'workers') {
          workersCb(Number(msg.live));
        } else if (msg.ok !== undefined && restoreDone) {
          restoreDone();
        }
      }
    });
    conn.on('error', (err) => {
      clearTimeout(timer);
      if (first) reject(new ControlError((err as NodeJS.ErrnoException).code ?? err.message, { cause: err }));
    });
    conn.on('close', () => {
      clearTimeout(timer);
      if (!first) closeCb();
    });
  });
}

// --- internal ---

const count = (v: unknown): number | undefined => (Number.isInteger(v) && (v as number) >= 0 ? (v as number) : undefined);

/** The per-group counts of a handoff reply; anything malformed is left out. */
function groupCounts(v: unknown): HandoffLink['groups'] {
  if (!Array.isArray(v)) return undefined;
  const out: NonNullable<HandoffLink['groups']> = [];
  for (const g of v as Array<Record<string, unknown>>) {
    const desired = count(g?.desired);
    const configured = count(g?.configured);
    if (typeof g?.name === 'string' && desired !== undefined && configured !== undefined) out.push({ name: g.name, desired, configured });
  }
  return out;
}

const TAKEN_ADVICE = 'another user may have created it; remove it, or set RESQUE_STARTER_RUNTIME_DIR to a directory only this user can write';

/** Every place `runtimeDir` considers, best first (the first is the answer). */
function runtimeDirCandidates(env: Env, uid: number | undefined): string[] {
  const id = uid ?? 'user';
  const out: string[] = [];
  const own = env.RESQUE_STARTER_RUNTIME_DIR;
  if (own) {
    const dir = resolvePath(own);
    const st = lstatOrUndefined(dir);
    out.push(!st || privacyProblem(st, uid) === undefined ? dir : join(dir, `resque-starter-${id}`));
  }
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && isAbsolute(xdg)) {
    const st = lstatOrUndefined(xdg);
    if (st?.isDirectory() && (uid === undefined || st.uid === uid)) out.push(join(xdg, 'resque-starter'));
  }
  if (uid === 0) {
    const st = lstatOrUndefined('/run');
    if (st?.isDirectory() && st.uid === 0) out.push('/run/resque-starter');
  }
  out.push(join(tmpdir(), `resque-starter-${id}`));
  return out;
}

/** Why a directory is not private to `uid`, or undefined when it is. */
function privacyProblem(st: Stats, uid: number | undefined): string | undefined {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (!st.isDirectory()) return 'is not a directory';
  if (uid !== undefined && st.uid !== uid) return `is owned by uid ${st.uid}, not by this user (uid ${uid})`;
  if ((st.mode & 0o022) !== 0) return `is writable by group or others (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
