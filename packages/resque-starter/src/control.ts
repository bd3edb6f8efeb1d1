import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlError } from './errors.js';

// The master's control socket: newline-delimited JSON over a unix socket in a private
// directory, named after the master's pid so two generations never share one.

export type ControlRequest =
  | { cmd: 'status' }
  | { cmd: 'scale'; workers: number }
  | { cmd: 'reload' }
  | { cmd: 'reopen-logs' }
  /** A newer master takes over; the connection stays open and gets `workers` pushes. */
  | { cmd: 'handoff'; pid: number; generation?: number | undefined }
  /** On a hand-off connection: the newer master gives up, take the workers back. */
  | { cmd: 'restore' };

export type ControlReply = { ok: true; [key: string]: unknown } | { ok: false; error: string };

/** Pushed on a hand-off connection whenever the old master's live worker count changes. */
export interface WorkersPush {
  event: 'workers';
  live: number;
}

/** Directory of control sockets: `$RESQUE_STARTER_RUNTIME_DIR`, or `<tmp>/resque-starter-<uid>` (mode 0700). */
export function runtimeDir(env: Readonly<Record<string, string | undefined>> = {}): string {
  return env.RESQUE_STARTER_RUNTIME_DIR || join(tmpdir(), `resque-starter-${process.getuid?.() ?? 'user'}`);
}

/** The control socket of the master with this pid. */
export function controlSocketPath(pid: number, dir: string): string {
  return join(dir, `master-${pid}.sock`);
}

export interface ControlHandlers {
  request(req: ControlRequest, conn: Socket): ControlReply | Promise<ControlReply>;
  closed(conn: Socket): void;
}

/** Why: `scale`, `status` and the rolling hand-off need an exact channel; signals coalesce. */
export async function listenControl(path: string, handlers: ControlHandlers): Promise<Server> {
  const dir = join(path, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (process.getuid && st.uid !== process.getuid()) throw new ControlError(`control directory ${dir} is not owned by this user`);
  chmodSync(dir, 0o700);
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
            (reply) => writeLine(conn, reply),
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
  server.unref();
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
  onWorkers(cb: (live: number) => void): void;
  onClose(cb: () => void): void;
  restore(): Promise<void>;
  close(): void;
}

export async function openHandoff(path: string, me: { pid: number; generation: number | undefined }, timeoutMs = 3000): Promise<HandoffLink> {
  return await new Promise((resolve, reject) => {
    const conn = createConnection(path);
    conn.setEncoding('utf8');
    let buf = '';
    let first = true;
    let workersCb: (live: number) => void = () => undefined;
    let closeCb: () => void = () => undefined;
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
            onWorkers: (cb) => (workersCb = cb),
            onClose: (cb) => (closeCb = cb),
            restore: () =>
              new Promise<void>((res) => {
                if (conn.destroyed) return res();
                restoreDone = res;
                conn.write(`${JSON.stringify({ cmd: 'restore' })}\n`);
                setTimeout(res, 2000).unref();
              }),
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
