import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, mkdirSync, rmSync, unwatchFile, watchFile, writeSync, type Stats } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { onExit } from 'signal-exit';
import {
  acquirePidFile,
  readPidFile,
  createLogger,
  resolveLevel,
  releasePidFile,
  sendSignal,
  writeFileAtomic,
  type Logger,
  type SignalName,
  createTimerTable,
  FILE_MODES,
  ignoreOutputErrors,
  openLogFile,
} from '@baton/process-kit';
import { describeRedis, type MasterHandle, type ResolvedConfig } from './config.js';
import { EventLoop } from './event-loop.js';
import { controlSocketPath, listenControl, runtimeDir, writeLine, type ControlReply, type ControlRequest } from './control.js';
import { ConfigError, StartupError } from './errors.js';
import { findOldMasters, isResqueStarterMaster, MASTER_TITLE, OldMasterTracker, pidFileOwner } from './handoff.js';
import { isWorkerMessage, WorkerEnv, type WorkerToMaster } from './ipc.js';
import { loadConfigFile } from './load-config.js';
import { messages } from './messages.js';
import { groupMembers, readRssAnonKb, stillRunning } from './proc.js';
import { checkRedis } from './redis-check.js';
import { loadResque, type ResqueQueue } from './resque.js';
import { initialState, reduce, type Effect, type MasterEvent, type MasterSettings, type MasterState } from './state.js';
import { renderMasterTitle, renderStatus } from './status.js';
import { resolveIds } from './users.js';

/** The signals the master gives a meaning to; each has our own handler from the first line on. */
export const MASTER_SIGNALS: SignalName[] = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGCONT', 'SIGTTIN', 'SIGTTOU', 'SIGHUP'];

export interface MasterHost {
  /** Environment at start (REDIS_URL, SERVER_STARTER_*, BATON_LOG_LEVEL, …); workers inherit it. */
  env: NodeJS.ProcessEnv;
  /** Where log lines go when the config has no `logFile`. */
  stderr?: NodeJS.WritableStream;
}

/** Settings the reducer needs, from a resolved config. */
export function settingsOf(c: ResolvedConfig): MasterSettings {
  return {
    readyTimeoutMs: c.readyTimeoutMs,
    stopTimeoutMs: c.stopTimeoutMs,
    termTimeoutMs: c.termTimeoutMs,
    jobTimeoutMs: c.jobTimeoutMs,
    maxMemoryKb: c.maxMemoryKb,
    crashLoop: c.crashLoop,
    maxConcurrency: c.maxConcurrency,
    maxStarting: Math.max(4, 2 * availableParallelism()),
    reapJobProcesses: c.reapJobProcesses,
  };
}

/**
 * Why: runs one master generation: loads and checks the config and Redis before touching
 * anything, takes over from an older generation when there is one, then feeds signals, worker
 * messages, exits and timers one at a time through the pure reducer and executes its effects.
 * Resolves with the exit code.
 */
export async function runMaster(configPath: string, host: MasterHost): Promise<number> {
  // Our own handler for every control signal comes first; events wait until the loop is opened
  // by `start` (a TERM during start-up takes effect before any worker starts).
  let state!: MasterState;
  let execute!: (fx: Effect) => void;
  const loop = new EventLoop<MasterEvent>((event) => {
    const step = reduce(state, event, Date.now());
    state = step.state;
    for (const fx of step.effects) {
      // An effect that throws must not take the loop (and the master, orphaning its workers) down.
      try {
        execute(fx);
      } catch (err) {
        logger.error(messages.effectFailed(fx.type, (err as Error)?.message ?? String(err)));
      }
    }
  });
  const dispatch = (event: MasterEvent) => loop.push(event);
  const onSignal = (sig: NodeJS.Signals) => dispatch({ type: 'signal', signal: sig });
  for (const sig of MASTER_SIGNALS) process.on(sig, onSignal);
  const isStopSignal = (e: MasterEvent) => e.type === 'signal' && (e.signal === 'SIGTERM' || e.signal === 'SIGINT' || e.signal === 'SIGQUIT');

  const env = host.env;
  const bootLogger = createLogger({ tag: 'resque-starter', level: resolveLevel(env.BATON_LOG_LEVEL) });
  let config: ResolvedConfig;
  {
    const { config: c, loadMs } = await loadConfigFile(configPath, env);
    config = c;
    bootLogger.debug(messages.configLoaded(c.path, loadMs));
  }
  if (loop.take(isStopSignal)) return 0;
  process.title = `${MASTER_TITLE} (starting)`;

  // A closed log pipe (`| head`, a restarting `| logger`) must not take the master down.
  ignoreOutputErrors();
  let logOut: LogFile | undefined;
  try {
    for (const f of [config.pidFile, config.statusFile, config.logFile]) if (f) mkdirSync(dirname(f), { recursive: true });
    logOut = config.logFile ? new LogFile(config.logFile, config.fileMode) : undefined;
  } catch (err) {
    throw new StartupError((err as Error).message, { cause: err });
  }
  const logger = createLogger({ tag: 'resque-starter', level: config.logLevel, stream: (logOut as unknown as NodeJS.WritableStream | undefined) ?? host.stderr });
  const generation = env.SERVER_STARTER_GENERATION ? Number(env.SERVER_STARTER_GENERATION) : undefined;
  const ids = resolveIds(config.user, config.group, (m) => logger.warn(m));

  // 1. Redis must answer before anything else is touched (an old generation keeps serving).
  await checkRedis(config);

  // 2. The generation(s) we replace, when under start-server.
  const olds =
    generation !== undefined
      ? findOldMasters({
          self: process.pid,
          ppid: process.ppid,
          generation,
          statusFile: env.SERVER_STARTER_STATUS_FILE || config.serverStarterStatusFile,
        })
      : [];

  // 3. Pid file: taken over from an old generation, else refused while a live master owns it.
  const pidFile = config.pidFile;
  let releasePid = () => undefined as void;
  if (pidFile) {
    const owner = pidFileOwner(pidFile, process.pid);
    if (owner !== undefined && olds.some((o) => o.pid === owner)) {
      writeFileAtomic(pidFile, `${process.pid}\n`, { mode: FILE_MODES.pid });
      releasePid = () => releasePidFile(pidFile, process.pid);
      logger.info(messages.pidFileTaken(pidFile, owner));
    } else {
      try {
        releasePid = acquirePidFile(pidFile, process.pid, { isOurs: isResqueStarterMaster, what: 'resque-starter' });
      } catch (err) {
        throw new StartupError((err as Error).message, { cause: err });
      }
    }
  }

  const startedAt = Date.now();
  const ctlDir = runtimeDir(env);
  const ctlPath = controlSocketPath(process.pid, ctlDir);
  const children = new Map<number, ChildProcess>();
  const timers = createTimerTable();
  state = initialState(settingsOf(config));
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let finished = false;
  let resque: Promise<ResqueQueue> | undefined;
  const workerScript = fileURLToPath(new URL('./worker-main.js', import.meta.url));
  const execArgv = process.execArgv.filter((a) => !/^--(inspect|debug)/.test(a));

  // --- effects ---

  const spawnWorker = async (fx: Extract<Effect, { type: 'spawn' }>) => {
    if (config.beforeFork) {
      try {
        await config.beforeFork(masterHandle(), fx.slot);
      } catch (err) {
        dispatch({ type: 'spawnFailed', key: fx.key, error: `beforeFork threw: ${(err as Error)?.message ?? String(err)}` });
        return;
      }
    }
    const out = logOut ? 'pipe' : 'inherit';
    const stdio: StdioOptions = ['ignore', out, out, 'ipc'];
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...execArgv, workerScript], {
        argv0: `resque-starter${' '.repeat(256)}`,
        detached: true,
        stdio,
        env: {
          ...env,
          [WorkerEnv.config]: config.path,
          [WorkerEnv.slot]: String(fx.slot),
          [WorkerEnv.masterPid]: String(process.pid),
          [WorkerEnv.retirePid]: fx.retire ? String(fx.retire) : '',
          [WorkerEnv.paused]: fx.paused ? '1' : '',
          [WorkerEnv.generation]: generation !== undefined ? String(generation) : '',
        },
        ...(ids ?? {}),
      });
    } catch (err) {
      dispatch({ type: 'spawnFailed', key: fx.key, error: (err as Error).message });
      return;
    }
    if (child.pid === undefined) {
      child.once('error', (err) => dispatch({ type: 'spawnFailed', key: fx.key, error: err.message }));
      return;
    }
    const pid = child.pid;
    children.set(pid, child);
    if (logOut) {
      child.stdout?.on('data', (d: Buffer) => logOut.write(d));
      child.stderr?.on('data', (d: Buffer) => logOut.write(d));
    }
    child.on('error', (err) => logger.debug(`worker ${pid}: ${err.message}`));
    child.on('message', (m: unknown) => {
      if (isWorkerMessage(m)) dispatch(fromWorker(pid, m));
    });
    child.once('exit', (code, signal) => {
      children.delete(pid);
      dispatch({ type: 'exit', pid, code, signal });
    });
    dispatch({ type: 'spawned', key: fx.key, pid });
  };

  let statusTimer: NodeJS.Timeout | undefined;
  let lastPushed = -1;
  const subscribers = new Map<Socket, number>();
  const writeStatus = () => {
    statusTimer = undefined;
    if (!config.statusFile || state.old || finished) return;
    try {
      const snap = renderStatus(state, { pid: process.pid, generation, queues: config.queues, startedAt, now: Date.now() });
      writeFileAtomic(config.statusFile, `${JSON.stringify(snap, null, 2)}\n`, { mode: config.fileMode });
    } catch (err) {
      logger.warn(`could not write statusFile ${config.statusFile}: ${(err as Error).message}`);
    }
  };
  const onStatus = () => {
    process.title = renderMasterTitle(state, config.queues);
    const live = state.workers.length;
    if (live !== lastPushed) {
      lastPushed = live;
      for (const conn of subscribers.keys()) writeLine(conn, { event: 'workers', live });
    }
    statusTimer ??= setTimeout(writeStatus, 50);
  };

  execute = (fx: Effect) => {
    switch (fx.type) {
      case 'spawn':
        void spawnWorker(fx);
        break;
      case 'signal':
        sendSignal(fx.pid, fx.signal, fx.group);
        break;
      case 'send': {
        const child = children.get(fx.pid);
        if (child?.connected) child.send(fx.message, (err) => err && logger.debug(`worker ${fx.pid}: ${err.message}`));
        break;
      }
      case 'recover': {
        track(recovering, recover(fx.pid, fx.ids, fx.failed));
        break;
      }
      case 'reap':
        reapGroup(fx.pid);
        break;
      case 'setTimer':
        timers.set(fx.key, fx.ms, () => dispatch(fx.event));
        break;
      case 'clearTimer':
        timers.clear(fx.key);
        break;
      case 'reloadConfig':
        loadConfigFile(config.path, env).then(
          ({ config: c }) => {
            if (c.pidFile !== config.pidFile || c.statusFile !== config.statusFile || c.logFile !== config.logFile) {
              logger.warn('pidFile, statusFile and logFile changes apply only to a new master (restart through start-server)');
            }
            config = { ...c, pidFile: config.pidFile, statusFile: config.statusFile, logFile: config.logFile };
            dispatch({ type: 'reloaded', settings: settingsOf(c), desired: c.concurrency });
          },
          (err: unknown) => dispatch({ type: 'reloadFailed', error: err instanceof ConfigError ? err.shortMessage : String((err as Error)?.message ?? err) }),
        );
        break;
      case 'quitOld':
        tracker.quit(fx.pids);
        break;
      case 'restoreOld':
        pendingRestore = tracker.restore(fx.pids);
        if (pidFile) {
          // Give the pid file back to the generation that keeps serving.
          const back = fx.pids[0];
          if (back !== undefined) {
            try {
              writeFileAtomic(pidFile, `${back}\n`, { mode: FILE_MODES.pid });
            } catch {
              // best effort
            }
          }
        }
        break;
      case 'status':
        onStatus();
        break;
      case 'log':
        logger[fx.level](fx.message);
        break;
      case 'exit':
        finished = true;
        resolveDone(fx.code);
        break;
    }
  };
  let pendingRestore: Promise<void> = Promise.resolve();

  // One client for recovery and lease holding, made on first use (the promise, so two first
  // uses at once do not open two connections).
  const queueClient = (): Promise<ResqueQueue> =>
    (resque ??= loadResque().then((m) => new m.Queue({ redis: config.redis, namespace: config.namespace, maxRecoveries: config.maxRecoveries })));
  /** Keeps `p` in `set` while it runs (the shutdown waits for what is left). */
  const track = (set: Set<Promise<void>>, p: Promise<void>) => {
    set.add(p);
    void p.finally(() => set.delete(p));
  };
  /** Recoveries under way: the master waits for them (bounded) before it exits. */
  const recovering = new Set<Promise<void>>();
  const recover = async (pid: number, ids: readonly string[], failed: Extract<Effect, { type: 'recover' }>['failed']) => {
    try {
      const q = await queueClient();
      // A job killed for running past jobTimeout has failed: recorded, not run again.
      if (failed?.job.id && failed.job.worker) {
        const ok = await q.failInflight(failed.job.worker, failed.job.id, { exception: 'Resque::JobTimeout', error: failed.error });
        if (ok) logger.warn(messages.jobFailedTimeout(pid, failed.job));
      }
      let n = 0;
      for (const id of ids) n += await q.recoverWorker(id);
      if (n > 0) logger.warn(messages.recovered(pid, n));
    } catch (err) {
      logger.error(messages.recoverFailed(pid, (err as Error).message));
    }
  };

  /**
   * What an exited worker's jobs left in its process group (the worker led it): TERM now, KILL
   * after termTimeout to exactly those processes (pid and start time), so a reused pid is never hit.
   */
  const reaping = new Set<Promise<void>>();
  const reapGroup = (pid: number) => {
    const members = groupMembers(pid);
    if (members.length === 0) return;
    sendSignal(pid, 'SIGTERM', true);
    sendSignal(pid, 'SIGCONT', true);
    logger.info(messages.reapingGroup(pid, members.map((m) => m.pid)));
    const p = (async () => {
      const deadline = Date.now() + config.termTimeoutMs;
      let left = members;
      while (left.length > 0 && Date.now() < deadline) {
        await sleep(50);
        left = stillRunning(left);
      }
      for (const m of left) sendSignal(m.pid, 'SIGKILL');
    })();
    track(reaping, p);
  };

  // A job that blocks its worker's event loop stops the worker's lock renewal: while the worker
  // process is alive and ready, the master holds its leases, so no other worker takes its job
  // (jobTimeout, enforced from here, is what ends such a job).
  let holding = false; // one renewal at a time: while Redis is away they must not pile up
  const holdLeases = async () => {
    const ids = state.workers.filter((w) => w.phase === 'ready' && w.pid !== undefined && children.has(w.pid)).flatMap((w) => w.ids);
    if (ids.length === 0 || finished || holding) return;
    holding = true;
    try {
      await (await queueClient()).holdLocks(ids, config.lockTimeoutMs);
    } catch (err) {
      logger.debug(`holding worker leases: ${(err as Error).message}`);
    } finally {
      holding = false;
    }
  };
  const leaseTimer = setInterval(() => void holdLeases(), Math.max(100, Math.floor(config.lockTimeoutMs / 3)));
  leaseTimer.unref();

  const masterHandle = (): MasterHandle => ({
    pid: process.pid,
    generation,
    workers: state.workers.map((w) => ({ slot: w.slot, pid: w.pid, state: w.phase })),
    logger,
  });

  // --- control socket ---

  const handleControl = (req: ControlRequest, conn: Socket): ControlReply => {
    const snapshot = () => renderStatus(state, { pid: process.pid, generation, queues: config.queues, startedAt, now: Date.now() });
    switch (req.cmd) {
      case 'status':
        return { ok: true, status: snapshot() };
      case 'scale': {
        const n = Number(req.workers);
        if (!Number.isInteger(n) || n < 0) return { ok: false, error: `Expected a worker count ≥ 0, got \`${String(req.workers)}\`` };
        if (n > config.maxConcurrency) {
          return { ok: false, error: `Expected a worker count ≤ maxConcurrency (${config.maxConcurrency}), got \`${n}\`; raise maxConcurrency in the config to go higher` };
        }
        if (state.old) return { ok: false, error: 'this master is being replaced by a newer one; scale that one' };
        if (state.phase !== 'running') return { ok: false, error: `the master is ${state.phase}` };
        dispatch({ type: 'scale', desired: n });
        return { ok: true, concurrency: state.desired };
      }
      case 'reload':
        dispatch({ type: 'reloadRequest', source: 'reload command' });
        return { ok: true };
      case 'reopen-logs':
        if (logOut) {
          logOut.reopen();
          logger.info(messages.reopenedLogs(logOut.path));
        }
        return { ok: true, reopened: Boolean(logOut) };
      case 'handoff': {
        const by = Number(req.pid);
        if (!Number.isInteger(by) || by <= 1) return { ok: false, error: 'bad pid' };
        // Still starting (HUP storm: a newer generation came up first): the hand-off waits in
        // the loop and this master starts as OLD, with no worker of its own.
        if (loop.isOpen && state.phase !== 'running') return { ok: false, error: `the master is ${state.phase}` };
        dispatch({ type: 'handoff', by, generation: req.generation });
        subscribers.set(conn, by);
        lastPushed = state.workers.length;
        return { ok: true, live: state.workers.length };
      }
      case 'restore':
        // Only when no other newer master is still taking over (HUP storms: several can be).
        if (subscribers.delete(conn) && subscribers.size === 0) {
          dispatch({ type: 'handoffEnded', reason: 'restore' });
          reclaimPidFile();
        }
        return { ok: true };
      default:
        return { ok: false, error: `unknown command \`${(req as { cmd?: unknown }).cmd as string}\`` };
    }
  };
  /** After a failed hand-off this master serves again: the pid file must name it again. */
  const reclaimPidFile = () => {
    if (!pidFile || state.old) return;
    const owner = readPidFile(pidFile);
    if (owner === process.pid || (owner !== undefined && isResqueStarterMaster(owner))) return;
    try {
      writeFileAtomic(pidFile, `${process.pid}\n`, { mode: FILE_MODES.pid });
      releasePid = () => releasePidFile(pidFile, process.pid);
    } catch (err) {
      logger.warn(`could not take back pid file ${pidFile}: ${(err as Error).message}`);
    }
  };
  let control: Server;
  try {
    control = await listenControl(ctlPath, {
      request: handleControl,
      closed: (conn) => {
        if (subscribers.delete(conn) && (state.old || !loop.isOpen) && subscribers.size === 0) {
          dispatch({ type: 'handoffEnded', reason: 'lost' });
          reclaimPidFile();
        }
      },
    });
  } catch (err) {
    releasePid();
    throw new StartupError(`cannot open the control socket ${ctlPath}: ${(err as Error).message}`, { cause: err });
  }

  // Last resort: dying of a signal we do not handle must not leave workers or files behind.
  const removeExitGuard = onExit((_code, signal) => {
    if (!signal) return;
    for (const pid of children.keys()) {
      sendSignal(pid, 'SIGTERM', true);
      sendSignal(pid, 'SIGCONT', true);
    }
    cleanupFiles();
  });
  const cleanupFiles = () => {
    rmSync(ctlPath, { force: true });
    if (config.statusFile && !state.old) rmSync(config.statusFile, { force: true });
    releasePid();
  };

  if (config.restartFile) {
    const file = config.restartFile;
    watchFile(file, { interval: 200, persistent: false }, (curr: Stats, prev: Stats) => {
      if (curr.mtimeMs > 0 && curr.mtimeMs !== prev.mtimeMs) {
        logger.info(messages.restartFile(file));
        dispatch({ type: 'reloadRequest', source: 'restart file' });
      }
    });
  }
  const memoryTimer = setInterval(() => {
    const samples: Array<{ pid: number; rssKb: number }> = [];
    for (const w of state.workers) {
      if (w.pid === undefined || w.phase !== 'ready') continue;
      const kb = readRssAnonKb(w.pid);
      if (kb !== undefined) samples.push({ pid: w.pid, rssKb: kb });
    }
    if (samples.length > 0) dispatch({ type: 'memory', samples });
  }, config.statusIntervalMs);

  // Under start-server: if start-server itself is killed (-9), nobody would ever stop this
  // generation. Notice it (we are re-parented) and shut down gracefully, like QUIT: the jobs in
  // flight finish, nothing is orphaned.
  const supervisorPid = generation !== undefined && process.ppid > 1 ? process.ppid : undefined;
  const supervisorTimer =
    supervisorPid === undefined
      ? undefined
      : setInterval(() => {
          if (process.ppid === supervisorPid) return;
          clearInterval(supervisorTimer);
          logger.warn(messages.supervisorGone(supervisorPid, process.ppid));
          dispatch({ type: 'signal', signal: 'SIGQUIT' });
        }, 500);
  supervisorTimer?.unref();

  const tracker = new OldMasterTracker((e) => dispatch(e), logger, { env, self: process.pid, generation });
  logger.info(messages.starting(process.pid, config.concurrency, config.queues, describeRedis(config.redis), generation));
  const attached = await tracker.attach(olds);
  const stop = loop.take(isStopSignal);
  const replaced = loop.take((e) => e.type === 'handoff');
  loop.open({
    type: 'start',
    desired: config.concurrency,
    olds: attached,
    stop: stop?.type === 'signal' ? stop.signal : undefined,
    replacedBy: replaced?.type === 'handoff' ? { by: replaced.by, generation: replaced.generation } : undefined,
  });

  const code = await done;

  // --- shutdown: every step runs, each in its own try ---
  clearInterval(leaseTimer);
  if (recovering.size > 0) {
    // A worker killed on the way out (stopTimeout, TERM) left jobs in flight: put them back
    // before the master goes, bounded in case Redis is away.
    logger.info(messages.recoveringBeforeExit(recovering.size));
    const bound = Math.max(config.redisTimeoutMs, 5000);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.allSettled([...recovering]).then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), bound))),
    ]);
    clearTimeout(timer);
    if (timedOut) logger.warn(messages.recoverTimedOut(bound));
  }
  clearInterval(memoryTimer);
  clearInterval(supervisorTimer);
  // Job children of the last workers: TERM was sent; KILL what is left by termTimeout.
  await Promise.allSettled([...reaping]);
  if (config.restartFile) unwatchFile(config.restartFile);
  timers.clearAll();
  if (statusTimer) clearTimeout(statusTimer);
  await pendingRestore.catch(() => undefined);
  tracker.close();
  for (const conn of subscribers.keys()) conn.end();
  await new Promise<void>((r) => control.close(() => r()));
  try {
    cleanupFiles();
  } catch (err) {
    logger.warn(`cleanup: ${(err as Error).message}`);
  }
  try {
    await (await resque?.catch(() => undefined))?.close();
  } catch {
    // closing anyway
  }
  removeExitGuard();
  logOut?.close();
  return code;
}

// --- internal ---

function fromWorker(pid: number, m: WorkerToMaster): MasterEvent {
  switch (m.t) {
    case 'hello':
      return { type: 'hello', pid, id: m.id, ids: m.ids };
    case 'ready':
      return { type: 'ready', pid, retired: m.retired };
    case 'job':
      return { type: 'jobStarted', pid, job: m.job };
    case 'state':
      return { type: 'report', pid, activity: m.activity, job: m.job, jobs: m.jobs, processed: m.processed, rssKb: m.rssKb };
    case 'recycling':
      return { type: 'recycling', pid, reason: m.reason };
    case 'fatal':
      return { type: 'fatal', pid, message: m.message };
  }
}

/** An append-only log file that `reopen-logs` reopens (for logrotate). Writes are synchronous. */
class LogFile {
  private fd: number;
  constructor(
    readonly path: string,
    private readonly mode: number,
  ) {
    this.fd = openLogFile(path, { mode });
  }
  write(chunk: string | Uint8Array): boolean {
    try {
      if (typeof chunk === 'string') writeSync(this.fd, chunk);
      else writeSync(this.fd, chunk);
    } catch {
      // a full disk must not take the master down
    }
    return true;
  }
  reopen(): void {
    const old = this.fd;
    this.fd = openLogFile(this.path, { mode: this.mode });
    closeSync(old);
  }
  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
