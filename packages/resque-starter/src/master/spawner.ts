import type { Child, ChildEvents, ChildSpec, Logger, ProcessHost } from '@baton/process-kit';
import { describeRedis, type MasterHandle, type ResolvedConfig } from '../config.js';
import { configForGroup } from '../config-groups.js';
import { isWorkerMessage, WorkerEnv, type MasterToWorker, type WorkerToMaster } from '../ipc.js';
import type { Effect, MasterEvent } from '../state/index.js';
import type { LogFile } from './log-file.js';
import { messages } from '../messages.js';
import type { RedisHealth } from './redis-health.js';
import { startSpare, workerSpec, type Spare } from './spare.js';

export interface SpawnerContext {
  host: Pick<ProcessHost, 'pid' | 'spawn' | 'signal'>;
  /** The master's environment; workers inherit it. */
  env: NodeJS.ProcessEnv;
  config(): ResolvedConfig;
  generation: number | undefined;
  /** The workers' uid/gid (`user`/`group`), when the master runs as root. */
  ids: { uid?: number; gid?: number } | undefined;
  /** Workers' stdout/stderr go here when set (else they inherit the master's). */
  logOut: LogFile | undefined;
  logger: Logger;
  dispatch(event: MasterEvent): void;
  masterHandle(): MasterHandle;
  /** A worker's Redis condition report, and its exit (it then reports nothing more). */
  redisHealth?: Pick<RedisHealth, 'report' | 'workerGone'> | undefined;
  /** Metrics on: workers report their finished jobs (`done`), handed here with the worker's group. */
  jobsDone?: ((group: string, jobs: Extract<WorkerToMaster, { t: 'done' }>['jobs']) => void) | undefined;
  /**
   * How many spares to have while new worker slots are about to open (a rolling restart's old
   * workers still run): `keep` at most (the rest stop), and start more up to `start`.
   */
  sparesWanted?: (() => { keep: number; start: number }) | undefined;
  /** A spare started before the config was known (spare.ts `startEarlySpare`), to adopt or stop. */
  early?: Spare | undefined;
}

/**
 * Why: the `spawn` effect starts a worker process (after the config's beforeFork) and turns
 * everything the process does — its messages, its exit, a failed start — into loop events;
 * `send` reaches it over its IPC channel.
 */
export class WorkerSpawner {
  private readonly children = new Map<number, Child>();
  /** Spare processes (WorkerEnv.spare), oldest (warmest) first. */
  private spares: Spare[] = [];
  /** Workers whose IPC channel is still open (their last messages may still be coming). */
  private readonly channels = new Set<number>();
  private drained: Array<() => void> = [];

  constructor(private readonly ctx: SpawnerContext) {
    const early = ctx.early;
    if (!early || early.gone) return;
    // Started as a worker of this config would be (its output where theirs goes, as the same user)?
    if (ctx.logOut || ctx.ids) {
      this.ctx.host.signal(early.child.pid, 'SIGQUIT');
      ctx.logger.debug(messages.earlySpareStopped(early.child.pid));
    } else {
      this.spares.push(early);
      ctx.logger.debug(messages.spareStarted(early.child.pid, true));
    }
  }

  /** Pids of the worker processes that have not exited. */
  get pids(): number[] {
    return [...this.children.keys()];
  }

  has(pid: number): boolean {
    return this.children.has(pid);
  }

  /** Resolves once every worker's IPC channel has closed (its last messages handled), or after `timeoutMs`. */
  async channelsClosed(timeoutMs: number): Promise<void> {
    if (this.channels.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drained.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The `spawn` effect; synchronous unless the config has a beforeFork. */
  async spawn(fx: Extract<Effect, { type: 'spawn' }>): Promise<void> {
    const { config, dispatch } = this.ctx;
    const beforeFork = config().beforeFork;
    if (beforeFork) {
      try {
        await beforeFork(this.ctx.masterHandle(), fx.slot, fx.group);
      } catch (err) {
        dispatch({ type: 'spawnFailed', key: fx.key, error: `beforeFork threw: ${(err as Error)?.message ?? String(err)}` });
        return;
      }
    }
    // Set as soon as spawn returns (or the spare is taken); a child's callbacks never run before that.
    let pid = 0;
    const events: ChildEvents = {
      exit: (code, signal) => {
        this.children.delete(pid);
        this.ctx.redisHealth?.workerGone(pid);
        dispatch({ type: 'exit', pid, code, signal });
      },
      message: (m) => {
        if (!isWorkerMessage(m)) return;
        if (m.t === 'done') return void this.ctx.jobsDone?.(fx.group, m.jobs);
        // Not the reducer's business: logged once per condition by the master's Redis health.
        if (m.t === 'redis') this.ctx.redisHealth?.report({ slot: fx.slot, pid }, m.trouble, describeRedis((configForGroup(this.ctx.config(), fx.group) ?? this.ctx.config()).redis));
        else dispatch(fromWorker(pid, m));
      },
      spawnError: (err) => dispatch({ type: 'spawnFailed', key: fx.key, error: err.message }),
      error: (err) => this.ctx.logger.debug(messages.workerError(pid, err.message)),
      disconnect: () => {
        this.channels.delete(pid);
        if (this.channels.size > 0) return;
        for (const done of this.drained.splice(0)) done();
      },
    };
    const spare = this.takeSpare();
    let child: Child | undefined;
    if (spare) {
      // The next slot's spare starts now, while this one has loaded nothing of the app: the fork
      // (a copy of this master until its exec) never adds to the workers of both generations.
      this.topUpSpares();
      // From now on its events are this worker's; it loads the config (the app's code) only now.
      spare.relay.to = events;
      child = spare.child;
      child.send({ t: 'become', env: this.slotEnv(fx) } satisfies MasterToWorker);
      this.ctx.logger.debug(messages.spareTaken(child.pid));
    } else {
      child = this.ctx.host.spawn({ ...this.baseSpec(), env: { ...this.baseSpec().env, ...this.slotEnv(fx) } }, events);
      if (child) this.pipeOutput(child);
    }
    if (!child) return;
    pid = child.pid;
    this.children.set(pid, child);
    this.channels.add(pid);
    dispatch({ type: 'spawned', key: fx.key, pid });
    this.syncSpare();
  }

  /**
   * Why (issue 16): during a rolling restart each new worker's start-up (~100–200 ms of loading
   * our code and ioredis) lies on the critical path, once per worker. A spare does that loading
   * ahead of need, before its slot opens: it loads no app code (it is not a worker, and counts
   * toward no C+1 bound) until `spawn` hands it a slot. Two are kept while `ctx.sparesWanted()`
   * says slots will open, so the one handed the next slot has had a whole slot's time to load;
   * otherwise they stop. Called after each effect (and `spawn` tops them up before a hand-over).
   */
  syncSpare(): void {
    this.spares = this.spares.filter((s) => !s.gone);
    const want = this.ctx.sparesWanted?.() ?? { keep: 0, start: 0 };
    // The newest (least loaded) go first.
    while (this.spares.length > want.keep) this.ctx.host.signal(this.spares.pop()!.child.pid, 'SIGQUIT');
    while (this.spares.length < Math.min(want.start, want.keep) && this.fillSpare());
  }

  /** Pids of the spares running. */
  get sparePids(): number[] {
    return this.spares.map((s) => s.child.pid);
  }

  /** The `send` effect: a message to a worker whose IPC channel is open. */
  send(pid: number, message: MasterToWorker): void {
    const child = this.children.get(pid);
    if (child?.connected) child.send(message);
  }

  // --- internal ---

  /** The oldest spare that is alive and reachable (those that are not leave the spare place too). */
  private takeSpare(): Spare | undefined {
    while (this.spares.length > 0) {
      const spare = this.spares.shift()!;
      if (!spare.gone && spare.child.connected) return spare;
    }
    return undefined;
  }

  /** Spares up to `keep` (the slot being handed over is counted as filled). */
  private topUpSpares(): void {
    this.spares = this.spares.filter((s) => !s.gone);
    const keep = this.ctx.sparesWanted?.().keep ?? 0;
    while (this.spares.length < keep && this.fillSpare());
  }

  /** Starts one more spare; false when that failed. */
  private fillSpare(): boolean {
    const spare = startSpare(this.ctx.host, this.baseSpec(), (pid, how) => {
      this.spares = this.spares.filter((s) => s.child.pid !== pid);
      this.ctx.logger.debug('error' in how ? messages.spareFailed(how.error) : messages.spareExited(pid, how.code, how.signal));
    });
    if (!spare) return false;
    this.pipeOutput(spare.child);
    this.spares.push(spare);
    this.ctx.logger.debug(messages.spareStarted(spare.child.pid, false));
    return true;
  }

  private pipeOutput(child: Child): void {
    const out = this.ctx.logOut;
    if (out) {
      child.stdout?.on('data', (d: Buffer) => out.write(d));
      child.stderr?.on('data', (d: Buffer) => out.write(d));
    }
  }

  /** How every worker process (and spare) starts. */
  private baseSpec(): ChildSpec {
    return workerSpec({ env: this.ctx.env, masterPid: this.ctx.host.pid, logOut: this.ctx.logOut !== undefined, ids: this.ctx.ids });
  }

  /** What makes a process the worker of a slot: in its environment, or handed to a spare. */
  private slotEnv(fx: Extract<Effect, { type: 'spawn' }>): Record<string, string> {
    return {
      [WorkerEnv.config]: this.ctx.config().path,
      // Workers running as another user cannot read our private runtime directory.
      [WorkerEnv.compiled]: this.ctx.ids ? '' : (this.ctx.config().compiled ?? ''),
      [WorkerEnv.slot]: String(fx.slot),
      [WorkerEnv.group]: fx.group,
      [WorkerEnv.retirePid]: fx.retire ? String(fx.retire) : '',
      [WorkerEnv.paused]: fx.paused ? '1' : '',
      [WorkerEnv.generation]: this.ctx.generation !== undefined ? String(this.ctx.generation) : '',
      [WorkerEnv.metrics]: this.ctx.jobsDone ? '1' : '',
      // A spare started before the config was loaded does not know the format yet.
      [WorkerEnv.logFormat]: this.ctx.env[WorkerEnv.logFormat] ?? '',
    };
  }
}

function fromWorker(pid: number, m: Exclude<WorkerToMaster, { t: 'redis' | 'done' }>): MasterEvent {
  switch (m.t) {
    case 'hello':
      return { type: 'hello', pid, id: m.id, ids: m.ids };
    case 'retire':
      return { type: 'retireAsked', pid };
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
