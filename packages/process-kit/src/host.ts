import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { rmSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { writeFileAtomic } from './files.js';
import { sendSignal } from './kill.js';
import type { SignalName } from './signals.js';
import { createTimerTable, type TimerTable } from './timers.js';

// The seam between a supervisor and the OS (STYLE lesson 5): everything a supervisor does to
// processes, signals, timers and files goes through a ProcessHost, so a whole supervisor can be
// unit-tested against createFakeHost() and runs against createNodeHost() in production.

/** What to start: `file` with `args`, as child_process.spawn takes them (no shell). */
export interface ChildSpec {
  file: string;
  args: readonly string[];
  /** The child's argv[0] (its name in `ps`). */
  argv0?: string | undefined;
  cwd?: string | undefined;
  env: NodeJS.ProcessEnv;
  stdio: StdioOptions;
  /** Its own session and process group (signal it with `{ group: true }`). */
  detached?: boolean | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
}

/** Callbacks for one child; exactly one of `exit` and `spawnError` ends it. */
export interface ChildEvents {
  exit(code: number | null, signal: NodeJS.Signals | null): void;
  /** An IPC message (only with `'ipc'` in stdio). */
  message?(message: unknown): void;
  /** The child never started: spawn threw, or emitted `error` before it had a pid. */
  spawnError(error: Error): void;
  /** An error after it started (a failed send or kill); informational, the child may live on. */
  error?(error: Error): void;
  /** Its IPC channel closed: every message it sent has been delivered (may come after `exit`). */
  disconnect?(): void;
}

/** A started child. */
export interface Child {
  readonly pid: number;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** True while its IPC channel is open. */
  readonly connected: boolean;
  /** Sends an IPC message; never throws (a failure goes to `ChildEvents.error`). */
  send(message: unknown): void;
}

/** Everything a supervisor does to the OS. */
export interface ProcessHost {
  readonly pid: number;
  /** The parent pid now (it changes when the parent dies and we are re-parented). */
  ppid(): number;
  now(): number;
  /** Starts a child; undefined when that failed (`spawnError` is called, maybe later). */
  spawn(spec: ChildSpec, events: ChildEvents): Child | undefined;
  /** Signals a pid (its process group with `group`); false when it is gone. */
  signal(pid: number, signal: SignalName, opts?: { group?: boolean }): boolean;
  /** Our own handler for these signals; returns the remover (removing gives back the default action). */
  onSignals(signals: readonly SignalName[], handler: (signal: SignalName) => void): () => void;
  /** Keyed one-shot timers (setting a key replaces its timer). */
  readonly timers: TimerTable;
  /** An interval that does not keep the process alive; returns stop. */
  every(ms: number, fn: () => void): () => void;
  /** Writes a file atomically (temp file + rename) with this mode. */
  writeFile(path: string, data: string, opts: { mode: number }): void;
  /** Removes a file; a missing one is fine. */
  removeFile(path: string): void;
  /** Calls `onChange` when the file's mtime changes (polled every 200 ms, never keeps the process alive); returns stop. */
  watchFile(path: string, onChange: () => void): () => void;
  /** Last resort: `fn` runs when we are dying of a signal we do not handle; returns the remover. */
  onFatalSignal(fn: (signal: string) => void): () => void;
  /** Sets the process title (`ps`). */
  setTitle(title: string): void;
}

/** Why: production supervisors get the real OS; tests pass createFakeHost() instead. */
export function createNodeHost(): ProcessHost {
  return {
    pid: process.pid,
    ppid: () => process.ppid,
    now: Date.now,
    spawn: spawnChild,
    signal: (pid, signal, opts) => sendSignal(pid, signal, opts?.group ?? false),
    onSignals(signals, handler) {
      const listener = (signal: NodeJS.Signals) => handler(signal as SignalName);
      for (const s of signals) process.on(s, listener);
      return () => {
        for (const s of signals) process.off(s, listener);
      };
    },
    timers: createTimerTable(),
    every(ms, fn) {
      const t = setInterval(fn, ms);
      t.unref();
      return () => clearInterval(t);
    },
    writeFile: (path, data, opts) => writeFileAtomic(path, data, { mode: opts.mode }),
    removeFile: (path) => rmSync(path, { force: true }),
    watchFile(path, onChange) {
      const listener = (curr: Stats, prev: Stats) => {
        if (curr.mtimeMs > 0 && curr.mtimeMs !== prev.mtimeMs) onChange();
      };
      watchFile(path, { interval: 200, persistent: false }, listener);
      return () => unwatchFile(path, listener);
    },
    onFatalSignal: (fn) =>
      loadSignalExit().onExit((_code, signal) => {
        if (signal) fn(signal);
      }),
    setTitle(title) {
      process.title = title;
    },
  };
}

/**
 * Why: supervisors send TERM/INT/QUIT to stop a child, and a stopped (SIGSTOP, ^Z) process acts
 * on them only once continued, so each is followed by SIGCONT, as systemd does.
 */
export function signalAndWake(host: Pick<ProcessHost, 'signal'>, pid: number, signal: SignalName, opts?: { group?: boolean }): boolean {
  const sent = host.signal(pid, signal, opts);
  if (WAKE_WITH_CONT.has(signal)) host.signal(pid, 'SIGCONT', opts);
  return sent;
}

/**
 * Why: a child started before the process host existed (resque-starter's early spare) becomes a
 * Child whose events go where host.spawn's go; `spawnError` is not called (it has its `pid`).
 */
export function adoptChild(child: ChildProcess, pid: number, events: ChildEvents): Child {
  const reportError = (err: Error | null | undefined) => {
    if (err) events.error?.(err);
  };
  child.on('error', reportError);
  if (events.message) child.on('message', events.message);
  if (events.disconnect) child.once('disconnect', events.disconnect);
  child.once('exit', (code, signal) => events.exit(code, signal));
  return {
    pid,
    stdout: child.stdout,
    stderr: child.stderr,
    get connected() {
      return child.connected;
    },
    send(message) {
      if (!child.connected) return;
      try {
        child.send(message as Parameters<ChildProcess['send']>[0], reportError);
      } catch (err) {
        reportError(err as Error);
      }
    },
  };
}

// --- internal ---

const WAKE_WITH_CONT = new Set<SignalName>(['SIGTERM', 'SIGINT', 'SIGQUIT']);

function spawnChild(spec: ChildSpec, events: ChildEvents): Child | undefined {
  let child: ChildProcess;
  try {
    child = spawn(spec.file, spec.args, {
      argv0: spec.argv0,
      cwd: spec.cwd,
      env: spec.env,
      stdio: spec.stdio,
      detached: spec.detached,
      uid: spec.uid,
      gid: spec.gid,
    });
  } catch (err) {
    events.spawnError(err instanceof Error ? err : new Error(String(err)));
    return undefined;
  }
  if (child.pid === undefined) {
    child.once('error', (err) => events.spawnError(err));
    return undefined;
  }
  return adoptChild(child, child.pid, events);
}

/**
 * Why: signal-exit is the supervisors' last resort only; loaded on first use so that a process
 * that imports this package without supervising anything (a worker) never loads it (its
 * listeners defer death while the loop is busy: reference/node-mechanics.md §10).
 */
function loadSignalExit(): typeof import('signal-exit') {
  return createRequire(import.meta.url)('signal-exit') as typeof import('signal-exit');
}
