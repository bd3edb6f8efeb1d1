import { spawnSync } from 'node:child_process';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { lstatSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { ListenError } from './errors.js';
import { messages } from './messages.js';
import type { ListenSpec } from './protocol.js';

/** A socket start-server holds for its whole life and hands to every generation. */
export interface BoundSocket {
  spec: ListenSpec;
  /** The address announced in SERVER_STARTER_PORT (the real port when `0` was asked for). */
  address: string;
  /** The fd in start-server. */
  fd: number;
  /** The fd the generation sees (`=fd` from the spec, else 3, 4, … in order). */
  childFd: number;
  close(): void;
  /** Clears or sets O_NONBLOCK on the (shared) open file description. */
  setBlocking?(blocking: boolean): void;
}

interface RawHandle {
  fd: number;
  close(cb?: () => void): void;
  setBlocking?(blocking: boolean): number;
  getsockname?(out: { port?: number; address?: string; family?: string }): number;
}

// `net._createServerHandle` binds without listening, so libuv never watches the socket and
// start-server never accepts (node-mechanics §1). It is what Node's own cluster primary uses.
const createServerHandle = (net as unknown as {
  _createServerHandle(address: string | null, port: number, addressType: number, fd?: number, flags?: number): RawHandle | number;
})._createServerHandle;

const UV_TCP_IPV6ONLY = 1;

/**
 * Why: start-server must own every socket before the first generation starts, put stream sockets
 * into the listening state (Perl children such as Starlet only accept()), and never accept itself.
 */
export function bindAll(specs: readonly ListenSpec[], backlog: number, warn: (msg: string) => void): BoundSocket[] {
  const bound: BoundSocket[] = [];
  try {
    const taken = new Set(specs.map((s) => s.fd).filter((fd): fd is number => fd !== undefined));
    let next = 3;
    for (const spec of specs) {
      let childFd = spec.fd;
      if (childFd === undefined) {
        while (taken.has(next)) next++;
        childFd = next++;
      }
      bound.push(bindOne(spec, childFd, warn));
    }
    const stream = bound.filter((b) => b.spec.kind !== 'udp');
    listenAll(stream, backlog);
    // Hand the sockets over in blocking mode, as Perl's start_server does: programs such as
    // Starlet block in accept() and spin on EAGAIN otherwise. A Node generation sets O_NONBLOCK
    // itself when it adopts the fd. Done once, here: flipping the shared flag later would make
    // a running libuv generation block in accept().
    for (const b of stream) b.setBlocking?.(true);
    return bound;
  } catch (err) {
    for (const b of bound) b.close();
    throw err;
  }
}

/** The listening sockets systemd passed (socket activation): fds 3… when LISTEN_PID is us. */
export interface Activation {
  fds: number[];
  names: string[];
}

/** Why: `LISTEN_FDS` counts only for the process it was meant for (sd_listen_fds(3)). */
export function activationOf(env: NodeJS.ProcessEnv, pid: number): Activation | undefined {
  const count = Number(env.LISTEN_FDS);
  if (!env.LISTEN_FDS || !Number.isInteger(count) || count <= 0 || Number(env.LISTEN_PID) !== pid) return undefined;
  const names = env.LISTEN_FDNAMES?.split(':') ?? [];
  return { fds: Array.from({ length: count }, (_, i) => 3 + i), names };
}

/**
 * Why: under socket activation systemd owns the sockets (already listening); start-server adopts
 * them in place of binding --port/--path, on the same fd numbers, and announces their real
 * addresses in SERVER_STARTER_PORT. They stay in blocking mode for the generations, as bound ones.
 */
export function adoptAll(activation: Activation): BoundSocket[] {
  const adopted: BoundSocket[] = [];
  try {
    for (const [i, fd] of activation.fds.entries()) {
      const h = createServerHandle(null, 0, -1, fd);
      if (typeof h === 'number') throw new ListenError(`LISTEN_FDS fd ${fd}`, errnoError(h));
      const name = activation.names[i];
      const address = socketAddress(h, fd) ?? name ?? `fd:${fd}`;
      const spec: ListenSpec = { kind: 'unix', path: address, fd, key: address, spec: `LISTEN_FDS fd ${fd}${name ? ` (${name})` : ''}` };
      adopted.push({ spec, address, fd, childFd: fd, setBlocking: (b) => void h.setBlocking?.(b), close: () => h.close() });
    }
    for (const b of adopted) b.setBlocking?.(true);
    return adopted;
  } catch (err) {
    for (const b of adopted) b.close();
    throw err instanceof ListenError ? err : new ListenError('LISTEN_FDS', err as Error);
  }
}

/** The `stdio` array that puts every socket on its child fd (gaps filled with /dev/null). */
export function socketStdio(bound: readonly BoundSocket[]): Array<number | 'ignore'> {
  const max = Math.max(2, ...bound.map((b) => b.childFd));
  const extra: Array<number | 'ignore'> = [];
  for (let fd = 3; fd <= max; fd++) extra.push(bound.find((b) => b.childFd === fd)?.fd ?? 'ignore');
  return extra;
}

// --- internal ---

function bindOne(spec: ListenSpec, childFd: number, warn: (msg: string) => void): BoundSocket {
  if (spec.kind === 'unix') {
    removeStaleSocket(spec.path, warn);
    const old = process.umask(0);
    let h: RawHandle | number;
    try {
      h = createServerHandle(spec.path, -1, -1);
    } finally {
      process.umask(old);
    }
    if (typeof h === 'number') throw new ListenError(`--path=${spec.spec}`, errnoError(h));
    const handle = h;
    return {
      spec,
      address: spec.path,
      fd: handle.fd,
      childFd,
      setBlocking: (b) => void handle.setBlocking?.(b),
      close: () => {
        handle.close();
        rmSync(spec.path, { force: true });
      },
    };
  }
  if (spec.kind === 'udp') return bindUdp(spec, childFd);
  const host = spec.host ?? '0.0.0.0';
  const h = createServerHandle(host, spec.port, spec.family, undefined, spec.family === 6 ? UV_TCP_IPV6ONLY : 0);
  if (typeof h === 'number') throw new ListenError(`--port=${spec.spec}`, errnoError(h));
  // libuv keeps EADDRINUSE from bind() as a "delayed error" for its own listen(), which we never
  // call on this handle; an unbound socket shows up as port 0 here.
  const out: { port?: number } = {};
  h.getsockname?.(out);
  if (!out.port || (spec.port !== 0 && out.port !== spec.port)) {
    h.close();
    throw new ListenError(`--port=${spec.spec}`, errnoError(-98));
  }
  const address = spec.port === 0 ? spec.key.replace(/0$/, String(out.port)) : spec.key;
  return { spec, address, fd: h.fd, childFd, setBlocking: (b) => void h.setBlocking?.(b), close: () => h.close() };
}

function bindUdp(spec: Extract<ListenSpec, { kind: 'tcp' | 'udp' }>, childFd: number): BoundSocket {
  // dgram.Socket#bind would start reading at once; binding the handle directly never starts the
  // read, so datagrams queue in the socket for the generations (internal API, as for TCP above).
  const sock: DgramSocket = createSocket({ type: spec.family === 6 ? 'udp6' : 'udp4', reuseAddr: true });
  type UdpHandle = { fd: number; bind(a: string, p: number, f: number): number; bind6(a: string, p: number, f: number): number };
  const quiet = process.noDeprecation;
  process.noDeprecation = true; // dgram's _handle getter warns (DEP0112); it is the only way to the fd
  const handle = (sock as unknown as { _handle: UdpHandle })._handle;
  process.noDeprecation = quiet;
  const host = spec.host ?? (spec.family === 6 ? '::' : '0.0.0.0');
  const err = spec.family === 6 ? handle.bind6(host, spec.port, UV_TCP_IPV6ONLY) : handle.bind(host, spec.port, 0);
  if (err < 0) {
    sock.close();
    throw new ListenError(`--port=${spec.spec}`, errnoError(err));
  }
  return { spec, address: spec.key, fd: handle.fd, childFd, close: () => sock.close() };
}

function listenAll(stream: readonly BoundSocket[], backlog: number): void {
  if (stream.length === 0) return;
  // listen(2) must happen without libuv watching the socket in this process. A short-lived
  // helper does it and exits before its event loop ever polls; the state stays on the socket.
  const script =
    "const net=require('net');const fds=JSON.parse(process.argv[1]);const b=Number(process.argv[2]);" +
    'for(const fd of fds){const s=net.createServer();s.on("error",e=>{console.error(e.code||String(e));process.exit(1)});s.listen({fd,backlog:b})}' +
    // listen errors are emitted on the next tick; exit right after them, before any poll phase.
    'process.nextTick(()=>process.exit(0))';
  const fds = stream.map((_, i) => 3 + i);
  const r = spawnSync(process.execPath, ['-e', script, JSON.stringify(fds), String(backlog)], {
    stdio: ['ignore', 'ignore', 'pipe', ...stream.map((b) => b.fd)],
    timeout: 30_000,
  });
  if (r.status !== 0) {
    throw new ListenError(stream.map((b) => b.spec.spec).join(' '), new Error(r.stderr?.toString().trim() || `listen helper failed (${r.status ?? r.signal})`));
  }
}

function removeStaleSocket(path: string, warn: (msg: string) => void): void {
  try {
    const st = lstatSync(path);
    if (st.isSocket()) {
      warn(messages.removingSocketFile(path));
      rmSync(path);
    }
  } catch {
    // does not exist
  }
}

/** `127.0.0.1:8080`, `[::1]:8080`, or a unix socket's path (from /proc/net/unix by inode). */
function socketAddress(h: RawHandle, fd: number): string | undefined {
  const out: { address?: string; family?: string; port?: number } = {};
  if (h.getsockname && h.getsockname(out) === 0 && out.port !== undefined) {
    return out.family === 'IPv6' ? `[${out.address}]:${out.port}` : `${out.address}:${out.port}`;
  }
  try {
    const inode = /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    const line = readFileSync('/proc/net/unix', 'utf8')
      .split('\n')
      .find((l) => l.trim().split(/\s+/)[6] === inode);
    const path = line?.trim().split(/\s+/)[7];
    return path || undefined;
  } catch {
    return undefined;
  }
}

function errnoError(code: number): NodeJS.ErrnoException {
  const name = getSystemErrorName(code);
  const e = new Error(name) as NodeJS.ErrnoException;
  e.code = name;
  e.errno = code;
  return e;
}
