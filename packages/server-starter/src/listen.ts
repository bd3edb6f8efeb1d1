import { closeSync, writeSync } from 'node:fs';
import type { Server as HttpServer, ServerResponse } from 'node:http';
import { Server as NetServerClass, type Server as NetServer } from 'node:net';
import { parseServerStarterPort, type PortEntry } from './protocol.js';

/** A listening socket inherited from start-server (or Server::Starter, or systemd). */
export interface InheritedSocket extends PortEntry {
  /** Where it came from. */
  source: 'server-starter' | 'systemd';
  /** systemd's LISTEN_FDNAMES entry, when present. */
  name?: string | undefined;
}

/**
 * Why: an app must find the sockets its supervisor holds. Reads `SERVER_STARTER_PORT`
 * (start-server, Perl's start_server) or systemd's `LISTEN_FDS`/`LISTEN_PID` socket activation.
 */
export function inheritedSockets(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): InheritedSocket[] {
  if (env.SERVER_STARTER_PORT !== undefined) {
    return parseServerStarterPort(env.SERVER_STARTER_PORT).map((e) => ({ ...e, source: 'server-starter' as const }));
  }
  const count = Number(env.LISTEN_FDS);
  if (env.LISTEN_FDS && Number.isInteger(count) && count > 0 && Number(env.LISTEN_PID) === pid) {
    const names = env.LISTEN_FDNAMES?.split(':') ?? [];
    return Array.from({ length: count }, (_, i) => ({
      address: names[i] ?? `fd:${3 + i}`,
      fd: 3 + i,
      source: 'systemd' as const,
      name: names[i],
    }));
  }
  return [];
}

/** True when the process runs under a supervisor that passed it sockets. */
export function isSupervised(env: NodeJS.ProcessEnv = process.env): boolean {
  return inheritedSockets(env).length > 0;
}

export interface ListenOptions {
  /** Which inherited socket: its address (`8080`, `127.0.0.1:8080`, `/run/app.sock`), port number, or index. Default: the first. */
  which?: string | number;
  /** When not supervised: listen on this port / path instead (so the app also runs alone). */
  fallback?: number | string | { port: number; host?: string };
  env?: NodeJS.ProcessEnv;
}

/**
 * Why: the one call an app needs: adopt the inherited socket (`listen({fd})`) or, when run
 * alone, fall back to a normal listen. Resolves once the server is listening.
 */
export async function listen(server: NetServer, options: ListenOptions = {}): Promise<InheritedSocket | undefined> {
  const env = options.env ?? process.env;
  const sockets = inheritedSockets(env);
  const backlog = Number(env.SERVER_STARTER_BACKLOG) || undefined;
  if (sockets.length > 0) {
    const socket = pickSocket(sockets, options.which);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd: socket.fd, backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return socket;
  }
  if (options.fallback === undefined) {
    throw new Error('no inherited socket: SERVER_STARTER_PORT and LISTEN_FDS are not set (run under start-server, or give a fallback)');
  }
  const fb = options.fallback;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (typeof fb === 'number') server.listen(fb, done);
    else if (typeof fb === 'string') server.listen(fb, done);
    else server.listen(fb.port, fb.host, done);
  });
  return undefined;
}

export interface GracefulCloseOptions {
  /** After this long, remaining connections are closed hard. Default 10 s. */
  timeoutMs?: number;
  /**
   * Close idle keep-alive connections this long after the drain starts. Default: never early;
   * idle connections end by the server's `keepAliveTimeout` (5 s in Node), the client, or the
   * deadline. Closing an idle connection races a client that is just sending on it (ECONNRESET:
   * 9 in 45k requests in our Perl interop test with a 1 s sweep), so the race-free close is the
   * one that follows a response sent with `Connection: close`.
   */
  idleGraceMs?: number;
}

/**
 * Why: `server.close()` alone never finishes while keep-alive clients keep sending, and since
 * Node 19 it also drops idle keep-alive sockets at once, racing clients that are just sending
 * on them (ECONNRESET). Stop accepting, answer every further request with `Connection: close`,
 * let idle sockets end by keep-alive timeout or the client, and after a deadline close the rest.
 */
export async function gracefulClose(
  server: NetServer | HttpServer,
  { timeoutMs = 10_000, idleGraceMs }: GracefulCloseOptions = {},
): Promise<void> {
  const http = server as HttpServer;
  const isHttp = typeof http.closeIdleConnections === 'function';
  if (isHttp) {
    // Before the app's own listener: a handler that answers synchronously has sent its headers
    // by the time a later listener runs.
    http.prependListener('request', (_req, res: ServerResponse) => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    });
  }
  // net.Server#close stops accepting; http.Server#close would also drop idle keep-alive sockets.
  const closed = new Promise<void>((resolve) => NetServerClose.call(server, () => resolve()));
  const timers: NodeJS.Timeout[] = [];
  if (isHttp && idleGraceMs !== undefined) {
    timers.push(
      setTimeout(() => {
        http.closeIdleConnections();
        timers.push(setInterval(() => http.closeIdleConnections(), 100));
      }, Math.min(idleGraceMs, timeoutMs)),
    );
  }
  const deadline = new Promise<void>((resolve) => {
    timers.push(
      setTimeout(() => {
        if (isHttp) http.closeAllConnections();
        resolve();
      }, timeoutMs),
    );
  });
  try {
    await Promise.race([closed, deadline]);
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}

/**
 * Why: the usual app shape in one call: on TERM (what start-server sends to an old generation),
 * close gracefully and exit 0.
 */
export function closeOnSignal(
  server: NetServer | HttpServer,
  { signals = ['SIGTERM', 'SIGINT'] as NodeJS.Signals[], timeoutMs = 10_000, onClose }: { signals?: NodeJS.Signals[]; timeoutMs?: number; onClose?: () => void } = {},
): void {
  let closing = false;
  const handler = () => {
    if (closing) return;
    closing = true;
    void gracefulClose(server, { timeoutMs }).then(() => {
      onClose?.();
      process.exit(0);
    });
  };
  for (const sig of signals) process.on(sig, handler);
}

/**
 * Why: under `start-server --ready-notify` the old generation is retired only once the new one
 * says it is ready. Writes `READY=1` to the fd named by SERVER_STARTER_NOTIFY_FD, closes it and
 * removes the variable (so a second call, or a child, cannot write to a reused fd number).
 * Returns false when there is no such channel (not under --ready-notify): nothing to do then.
 */
export function notifyReady(env: NodeJS.ProcessEnv = process.env): boolean {
  const fd = Number(env.SERVER_STARTER_NOTIFY_FD);
  delete env.SERVER_STARTER_NOTIFY_FD;
  if (!Number.isInteger(fd) || fd < 3) return false;
  try {
    writeSync(fd, 'READY=1\n');
    closeSync(fd);
    return true;
  } catch {
    return false;
  }
}

// --- internal ---

const NetServerClose = NetServerClass.prototype.close;

function pickSocket(sockets: InheritedSocket[], which: string | number | undefined): InheritedSocket {
  if (which === undefined) return sockets[0]!;
  const found =
    typeof which === 'number'
      ? sockets.find((s) => s.port === which) ?? sockets[which]
      : sockets.find((s) => s.address === which || s.path === which || s.name === which || String(s.port) === which);
  if (!found) {
    throw new Error(`no inherited socket matches \`${which}\` (have: ${sockets.map((s) => s.address).join(', ')})`);
  }
  return found;
}
