import { isIP } from 'node:net';

/** One `--port` or `--path` as given on the command line, parsed. */
export type ListenSpec =
  | { kind: 'tcp' | 'udp'; host: string | undefined; port: number; family: 4 | 6; fd: number | undefined; key: string; spec: string }
  | { kind: 'unix'; path: string; fd: number | undefined; key: string; spec: string };

/** One entry of `SERVER_STARTER_PORT`: the address as the supervisor announced it and its fd. */
export interface PortEntry {
  /** The address part, exactly as announced: `8080`, `127.0.0.1:8080`, `[::1]:8080`, `/run/app.sock`. */
  address: string;
  fd: number;
  /** Parsed from `address`: a TCP host (undefined for a bare port) and port, or a unix path. */
  host?: string | undefined;
  port?: number;
  path?: string;
}

export class PortSpecError extends Error {
  override name = 'PortSpecError';
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * Why: Server::Starter's `--port` grammar is the contract users script against:
 * `8080`, `host:8080`, `[::1]:8080`, any of them `=fd`, and a `u` before the port for UDP.
 */
export function parsePortSpec(spec: string): ListenSpec {
  const raw = spec.trim();
  let body = raw;
  let fd: number | undefined;
  const eq = raw.lastIndexOf('=');
  if (eq !== -1) {
    const fdText = raw.slice(eq + 1);
    if (!/^\d+$/.test(fdText) || Number(fdText) < 3) {
      throw new PortSpecError(`invalid --port value \`${spec}\`: the part after \`=\` must be a file descriptor number of 3 or more`);
    }
    fd = Number(fdText);
    body = raw.slice(0, eq);
  }
  let host: string | undefined;
  let portText: string;
  let family: 4 | 6 = 4;
  const v6 = /^\[([^\]]+)\]:(u?\d+)$/.exec(body);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
    if (isIP(host) !== 6) throw new PortSpecError(`invalid --port value \`${spec}\`: \`${host}\` is not an IPv6 address`);
    family = 6;
  } else if (/^u?\d+$/.test(body)) {
    portText = body;
  } else {
    const m = /^([^:[\]]+):(u?\d+)$/.exec(body);
    if (!m) {
      throw new PortSpecError(
        `invalid --port value \`${spec}\`: expected PORT, HOST:PORT, [IPv6]:PORT, optionally with u before PORT (UDP) and =FD after it`,
      );
    }
    host = m[1]!;
    portText = m[2]!;
    if (isIP(host) === 6) family = 6;
  }
  const kind = portText.startsWith('u') ? 'udp' : 'tcp';
  const port = Number(kind === 'udp' ? portText.slice(1) : portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new PortSpecError(`invalid --port value \`${spec}\`: port must be between 0 and 65535`);
  }
  // Server::Starter announces the address without the `u`, bare ports stay bare, IPv6 in brackets.
  const key = host === undefined ? String(port) : family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { kind, host, port, family, fd, key, spec: raw };
}

/** Parses a `--path` value (a unix socket path, optionally `=fd`). */
export function parsePathSpec(spec: string): ListenSpec {
  let path = spec;
  let fd: number | undefined;
  const m = /^(.*)=(\d+)$/.exec(spec);
  if (m && Number(m[2]) >= 3) {
    path = m[1]!;
    fd = Number(m[2]);
  }
  if (path.length === 0) throw new PortSpecError('invalid --path value: empty path');
  return { kind: 'unix', path, fd, key: path, spec };
}

/** Why: the exact `SERVER_STARTER_PORT` format (`addr=fd` joined by `;`, ports then paths). */
export function formatServerStarterPort(entries: ReadonlyArray<{ address: string; fd: number }>): string {
  return entries.map((e) => `${e.address}=${e.fd}`).join(';');
}

/** Why: apps (and our tests) must read the variable as Perl's `server_ports()` does: split on `;`, then on the last `=`. */
export function parseServerStarterPort(value: string | undefined): PortEntry[] {
  if (!value) return [];
  const out: PortEntry[] = [];
  for (const part of value.split(';')) {
    if (part === '') continue;
    const eq = part.lastIndexOf('=');
    if (eq <= 0) throw new PortSpecError(`invalid SERVER_STARTER_PORT entry \`${part}\`: expected ADDRESS=FD`);
    const address = part.slice(0, eq);
    const fd = Number(part.slice(eq + 1));
    if (!Number.isInteger(fd) || fd < 0) throw new PortSpecError(`invalid SERVER_STARTER_PORT entry \`${part}\`: bad fd`);
    out.push({ address, fd, ...parseAddress(address) });
  }
  return out;
}

/** The status file (`gen:pid` lines) is parsed in process-kit, where resque-starter reads it too. */
export { formatStatusFile, parseStatusFile, type StatusLine } from '@baton/process-kit';

// --- internal ---

function parseAddress(address: string): Pick<PortEntry, 'host' | 'port' | 'path'> {
  if (/^\d+$/.test(address)) return { port: Number(address) };
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(address);
  if (v6) return { host: v6[1], port: Number(v6[2]) };
  const v4 = /^([^:/[\]]+):(\d+)$/.exec(address);
  if (v4) return { host: v4[1], port: Number(v4[2]) };
  return { path: address };
}
