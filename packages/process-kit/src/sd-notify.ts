import type { ProcessHost } from './host.js';

// systemd's notify protocol (sd_notify(3)) for supervisors written in Node. Node has no unix
// datagram sockets (nodejs/node#61933), so each message is sent by running Debian's
// `systemd-notify` (package `systemd`): measured here at ~30 ms wall and ~10 ms CPU per message.
// It runs without --no-block, so it waits on a BARRIER=1 until the manager has processed the
// message: the sender is still alive when PID 1 looks up its cgroup (NotifyAccess=all). As root,
// `--pid=` also makes the datagram's credentials name the supervisor itself.

/** One message: `KEY=VALUE` assignments, sent as one datagram. */
export type NotifyFields = Record<string, string | number>;

export interface SdNotify {
  /** Queues a message; messages leave one at a time, in order. Status-only ones are merged. */
  send(fields: NotifyFields): void;
  /** Starts `WATCHDOG=1` every WATCHDOG_USEC/2 when the manager asked for it; returns stop. */
  startWatchdog(): () => void;
  /** Resolves once the queue is empty (or after `timeoutMs`). */
  flush(timeoutMs?: number): Promise<void>;
}

export interface SdNotifyOptions {
  env: NodeJS.ProcessEnv;
  host: Pick<ProcessHost, 'pid' | 'spawn' | 'every'>;
  /** A message could not be delivered (systemd-notify missing or failing): said once per kind. */
  onError(message: string): void;
  /** The sender program; default `systemd-notify` from PATH. */
  command?: string;
}

/** Why: one seam for every supervisor that speaks to systemd; undefined when NOTIFY_SOCKET is unset. */
export function createSdNotify(o: SdNotifyOptions): SdNotify | undefined {
  const socket = o.env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  const queue: NotifyFields[] = [];
  let busy = false;
  let broken = false;
  const idle: Array<() => void> = [];
  const reported = new Set<string>();
  const report = (key: string, message: string) => {
    if (reported.has(key)) return;
    reported.add(key);
    o.onError(message);
  };

  const next = () => {
    const fields = queue.shift();
    if (!fields || broken) {
      queue.length = 0;
      busy = false;
      for (const resolve of idle.splice(0)) resolve();
      return;
    }
    busy = true;
    let stderr = '';
    const child = o.host.spawn(
      {
        file: o.command ?? 'systemd-notify',
        args: [`--pid=${o.host.pid}`, ...formatNotify(fields).split('\n')],
        env: { PATH: o.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: socket },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
      {
        exit(code, signal) {
          if (code !== 0) report(`exit:${stderr.trim()}`, `systemd-notify ${describeFields(fields)} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`);
          next();
        },
        spawnError(error) {
          broken = true;
          report('spawn', `cannot run systemd-notify (${error.message}): NOTIFY_SOCKET is set but nothing will be sent to systemd`);
          next();
        },
      },
    );
    child?.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  };

  return {
    send(fields) {
      if (broken) return;
      const last = queue.at(-1);
      if (last && isStatusOnly(last) && isStatusOnly(fields)) Object.assign(last, fields);
      else queue.push({ ...fields });
      if (!busy) next();
    },
    startWatchdog() {
      const usec = watchdogUsec(o.env, o.host.pid);
      if (usec === undefined) return () => undefined;
      const ms = Math.max(1, Math.floor(usec / 2000));
      return o.host.every(ms, () => this.send({ WATCHDOG: 1 }));
    },
    flush(timeoutMs = 2000) {
      if (!busy) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        t.unref();
        idle.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}

/** Why: the manager wants `WATCHDOG=1` only from the pid it named (or from anyone when unnamed). */
export function watchdogUsec(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return usec;
}

/** CLOCK_MONOTONIC in µs (libuv's hrtime is CLOCK_MONOTONIC), for `RELOADING=1`'s MONOTONIC_USEC. */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** `KEY=VALUE` lines, as sd_notify sends them (newlines inside a value become spaces). */
export function formatNotify(fields: NotifyFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`)
    .join('\n');
}

/** Parses `KEY=VALUE` lines (sd_notify style; lines without `=` are ignored). */
export function parseNotify(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).replace(/\r$/, '');
  }
  return out;
}

/** The variables of the manager's protocol, which a supervisor must not hand on to its children. */
export const SYSTEMD_ENV = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'] as const;

/** Why: a child that saw NOTIFY_SOCKET or LISTEN_* would speak for, or adopt the sockets of, its supervisor. */
export function withoutSystemdEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of SYSTEMD_ENV) delete out[k];
  return out;
}

// --- internal ---

function isStatusOnly(fields: NotifyFields): boolean {
  return Object.keys(fields).every((k) => k === 'STATUS' || k === 'WATCHDOG');
}

function describeFields(fields: NotifyFields): string {
  return Object.keys(fields).join('+');
}
