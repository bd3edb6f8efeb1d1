import { PassThrough } from 'node:stream';
import type { Child, ChildEvents, ChildSpec, ProcessHost } from './host.js';
import type { SignalName } from './signals.js';
import type { TimerTable } from './timers.js';

// A ProcessHost for unit tests: nothing touches the OS. Spawns, signals, files and titles are
// recorded; timers run on a manual clock (`advance`); the test plays the children and the OS
// (`exit`, `message`, `raise`, `touch`, `dieOf`).

/** One spawn() call: what was asked, and the handles a test uses to play the child. */
export interface FakeSpawn {
  readonly spec: ChildSpec;
  /** Undefined when the spawn failed (`failNextSpawn`). */
  readonly pid: number | undefined;
  /** The Child handed to the supervisor (undefined when the spawn failed). */
  readonly child: FakeChild | undefined;
  /** IPC messages the supervisor sent to it. */
  readonly sent: unknown[];
  /** True once `exit` or `spawnError` was delivered. */
  readonly ended: boolean;
  /** The child exits (calls `events.exit`): `exit()` is code 0, `exit(null, 'SIGTERM')` death by a signal. */
  exit(code?: number | null, signal?: NodeJS.Signals | null): void;
  /** The child sends an IPC message (calls `events.message`). */
  message(message: unknown): void;
  /** Delivers the spawn error of a `failNextSpawn(error, { async: true })` spawn. */
  spawnError(): void;
}

export interface FakeChild extends Child {
  /** Ends the IPC channel without an exit (a worker that called `disconnect()`). */
  disconnect(): void;
}

/** A signal the supervisor sent. */
export interface SentSignal {
  pid: number;
  signal: SignalName;
  group: boolean;
}

export interface FakeHost extends ProcessHost {
  readonly spawns: FakeSpawn[];
  readonly signals: SentSignal[];
  /** Files written and not removed since: path → data and mode. */
  readonly files: Map<string, { data: string; mode: number }>;
  /** Paths passed to removeFile, in order. */
  readonly removed: string[];
  /** Every title set, in order. */
  readonly titles: string[];
  /** Pids that are not our children but answer signals (old masters, …). */
  readonly livePids: Set<number>;
  /** Called after each recorded signal (e.g. to make a child exit on TERM). */
  onSignalSent: ((sent: SentSignal) => void) | undefined;
  /** The spawn of a pid. */
  spawnOf(pid: number): FakeSpawn;
  /** Children spawned and not yet ended. */
  liveChildren(): FakeSpawn[];
  /** The next spawn fails: at once (spawnError inside spawn), or when the test calls `spawnError()`. */
  failNextSpawn(error: Error, opts?: { async?: boolean }): void;
  /** Moves the clock forward, firing due timers and intervals in time order. */
  advance(ms: number): void;
  /** Keys of the pending one-shot timers. */
  timerKeys(): string[];
  /** Number of running `every` intervals. */
  intervalCount(): number;
  /** Delivers a signal to the installed handlers; false when none is installed (the real process would die). */
  raise(signal: SignalName): boolean;
  /** Number of installed handlers for a signal. */
  handlerCount(signal: SignalName): number;
  /** Changes a watched file's mtime: its watchers are called. */
  touch(path: string): void;
  /** We are dying of `signal`: the installed exit guards run. */
  dieOf(signal: string): void;
  /** Number of installed exit guards. */
  fatalGuardCount(): number;
  setPpid(ppid: number): void;
}

/** Why: supervisors (their start-up, signals, restarts) are unit-tested whole against it. */
export function createFakeHost(opts: { pid?: number; ppid?: number; now?: number } = {}): FakeHost {
  const clock = createManualClock(opts.now ?? 1_000_000);
  const children = createFakeChildren();
  let ppid = opts.ppid ?? 1;
  const host: FakeHost = {
    pid: opts.pid ?? 999,
    ppid: () => ppid,
    setPpid(p) {
      ppid = p;
    },
    now: () => clock.now,
    ...children,
    ...createHandlerRegistry(),
    signals: [],
    livePids: new Set(),
    onSignalSent: undefined,
    signal(pid, signal, o) {
      const sent = { pid, signal, group: o?.group ?? false };
      host.signals.push(sent);
      const alive = host.livePids.has(pid) || children.liveChildren().some((s) => s.pid === pid);
      host.onSignalSent?.(sent);
      return alive;
    },
    timers: clock.timers,
    every: clock.every,
    advance: clock.advance,
    timerKeys: clock.timerKeys,
    intervalCount: clock.intervalCount,
    files: new Map(),
    removed: [],
    titles: [],
    writeFile(path, data, o) {
      host.files.set(path, { data, mode: o.mode });
    },
    removeFile(path) {
      host.files.delete(path);
      host.removed.push(path);
    },
    setTitle(title) {
      host.titles.push(title);
    },
  };
  return host;
}

// --- internal ---

type FakeChildren = Pick<FakeHost, 'spawns' | 'spawn' | 'spawnOf' | 'liveChildren' | 'failNextSpawn'>;

/** Spawned children with pids from 1000 up, and the one-shot spawn failure. */
function createFakeChildren(): FakeChildren {
  const spawns: FakeSpawn[] = [];
  let nextPid = 1000;
  let failure: { error: Error; async: boolean } | undefined;
  return {
    spawns,
    spawn(spec, events) {
      const fail = failure;
      failure = undefined;
      const record = createFakeSpawn(spec, events, fail ? undefined : nextPid++, fail?.error);
      spawns.push(record);
      if (fail && !fail.async) record.spawnError();
      return record.child;
    },
    spawnOf(pid) {
      const s = spawns.find((r) => r.pid === pid);
      if (!s) throw new Error(`no fake child with pid ${pid}`);
      return s;
    },
    liveChildren: () => spawns.filter((s) => s.pid !== undefined && !s.ended),
    failNextSpawn(error, o) {
      failure = { error, async: o?.async ?? false };
    },
  };
}

type HandlerRegistry = Pick<
  FakeHost,
  'onSignals' | 'raise' | 'handlerCount' | 'watchFile' | 'touch' | 'onFatalSignal' | 'dieOf' | 'fatalGuardCount'
>;

/** Installed signal handlers, file watchers and exit guards, and the test's ways to call them. */
function createHandlerRegistry(): HandlerRegistry {
  const handlers = new Map<SignalName, Set<(s: SignalName) => void>>();
  const watchers = new Map<string, Set<() => void>>();
  const guards = new Set<(signal: string) => void>();
  return {
    onSignals(signals, handler) {
      for (const s of signals) setOf(handlers, s).add(handler);
      return () => {
        for (const s of signals) handlers.get(s)?.delete(handler);
      };
    },
    raise(signal) {
      const set = handlers.get(signal);
      if (!set || set.size === 0) return false;
      for (const h of [...set]) h(signal);
      return true;
    },
    handlerCount: (signal) => handlers.get(signal)?.size ?? 0,
    watchFile(path, onChange) {
      setOf(watchers, path).add(onChange);
      return () => watchers.get(path)?.delete(onChange);
    },
    touch(path) {
      for (const w of [...(watchers.get(path) ?? [])]) w();
    },
    onFatalSignal(fn) {
      guards.add(fn);
      return () => guards.delete(fn);
    },
    dieOf(signal) {
      for (const g of [...guards]) g(signal);
    },
    fatalGuardCount: () => guards.size,
  };
}

function setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}

function createFakeSpawn(spec: ChildSpec, events: ChildEvents, pid: number | undefined, error: Error | undefined): FakeSpawn {
  let ended = false;
  let connected = hasIpc(spec.stdio);
  const end = (what: string) => {
    if (ended) throw new Error(`fake child ${pid ?? '(not started)'}: ${what} after it already ended`);
    ended = true;
    connected = false;
  };
  const sent: unknown[] = [];
  const child: FakeChild | undefined =
    pid === undefined
      ? undefined
      : {
          pid,
          stdout: isPipe(spec.stdio, 1) ? new PassThrough() : null,
          stderr: isPipe(spec.stdio, 2) ? new PassThrough() : null,
          get connected() {
            return connected;
          },
          send(message) {
            if (connected) sent.push(message);
          },
          disconnect() {
            connected = false;
          },
        };
  return {
    spec,
    pid,
    child,
    sent,
    get ended() {
      return ended;
    },
    exit(code = 0, signal = null) {
      if (pid === undefined) throw new Error('a fake spawn that failed cannot exit');
      end('exit');
      events.exit(signal ? null : code, signal);
    },
    message(message) {
      if (!connected) throw new Error(`fake child ${pid}: message without an IPC channel`);
      events.message?.(message);
    },
    spawnError() {
      if (!error) throw new Error(`fake child ${pid}: spawned fine, it has no spawn error`);
      end('spawnError');
      events.spawnError(error);
    },
  };
}

function hasIpc(stdio: ChildSpec['stdio']): boolean {
  return Array.isArray(stdio) && stdio.includes('ipc');
}

function isPipe(stdio: ChildSpec['stdio'], fd: number): boolean {
  return stdio === 'pipe' || stdio === 'overlapped' || (Array.isArray(stdio) && (stdio[fd] === 'pipe' || stdio[fd] === 'overlapped'));
}

interface ManualClock {
  readonly now: number;
  readonly timers: TimerTable;
  every(ms: number, fn: () => void): () => void;
  advance(ms: number): void;
  timerKeys(): string[];
  intervalCount(): number;
}

interface Scheduled {
  due: number;
  seq: number;
  fire: () => void;
  /** Set for `every` intervals: rescheduled after firing. */
  period?: number;
}

/** One-shot keyed timers and intervals on a clock that moves only in `advance`. */
function createManualClock(start: number): ManualClock {
  let now = start;
  let seq = 0;
  const keyed = new Map<string, Scheduled>();
  const intervals = new Set<Scheduled>();
  const nextDue = (limit: number): { key?: string; s: Scheduled } | undefined => {
    let best: { key?: string; s: Scheduled } | undefined;
    const consider = (s: Scheduled, key?: string) => {
      if (s.due <= limit && (!best || s.due < best.s.due || (s.due === best.s.due && s.seq < best.s.seq))) best = { key, s };
    };
    for (const [key, s] of keyed) consider(s, key);
    for (const s of intervals) consider(s);
    return best;
  };
  return {
    get now() {
      return now;
    },
    timers: {
      set(key, ms, fire) {
        keyed.set(key, { due: now + Math.max(0, ms), seq: seq++, fire });
      },
      clear(key) {
        keyed.delete(key);
      },
      clearAll() {
        keyed.clear();
      },
    },
    every(ms, fn) {
      const s: Scheduled = { due: now + ms, seq: seq++, fire: fn, period: Math.max(1, ms) };
      intervals.add(s);
      return () => intervals.delete(s);
    },
    advance(ms) {
      const target = now + ms;
      for (let next = nextDue(target); next; next = nextDue(target)) {
        now = next.s.due;
        if (next.key !== undefined) keyed.delete(next.key);
        else {
          next.s.due += next.s.period!;
          next.s.seq = seq++;
        }
        next.s.fire();
      }
      now = target;
    },
    timerKeys: () => [...keyed.keys()],
    intervalCount: () => intervals.size,
  };
}
