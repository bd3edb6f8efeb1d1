import { readFileSync } from 'node:fs';
import {
  isLiveProcess,
  listProcesses,
  logLine,
  parseStatusFile,
  readCmdline,
  readEnvVar,
  readPidFile,
  type Logger,
  type ProcessHost,
} from '@baton/process-kit';
import { findControlSocket, openHandoff, type HandoffLink } from './control.js';
import { WorkerEnv } from './ipc.js';
import { eventFields, messages } from './messages.js';
import type { MasterEvent, Predecessor } from './state/index.js';

export interface FindPredecessorsOptions {
  self: number;
  /** Our parent (start-server) pid. */
  ppid: number;
  /** SERVER_STARTER_GENERATION of this master. */
  generation: number;
  /** start-server's status file: SERVER_STARTER_STATUS_FILE, or `serverStarterStatusFile` from the config. */
  statusFile: string | undefined;
}

/** True if the pid is a live resque-starter master (not one of its workers). */
export function isResqueStarterMaster(pid: number): boolean {
  if (!isLiveProcess(pid)) return false;
  // Every master sets this title as soon as its config is loaded (a wrapper such as `npx
  // resque-starter` only has the name in its arguments).
  if (!readCmdline(pid).startsWith(MASTER_TITLE)) return false;
  return readEnvVar(pid, WorkerEnv.slot) === undefined;
}

/** The start of every master's process title. */
export const MASTER_TITLE = 'resque-starter master';

/**
 * Why: under start-server the new master must find the generation(s) it replaces. Two sources,
 * merged: start-server's status file (`generation:pid` lines below ours), and — because Perl's
 * start_server neither exports that file's path nor lists a generation before its `--interval`
 * is over — our sibling processes: resque-starter masters with the same parent and a lower
 * SERVER_STARTER_GENERATION. Generation numbers skip, so "ours − 1" is never assumed.
 */
export function findPredecessors(opts: FindPredecessorsOptions): Array<{ pid: number; generation: number | undefined }> {
  const found = new Map<number, number | undefined>();
  if (opts.statusFile) {
    for (const { generation, pid } of parseStatusFile(readOrEmpty(opts.statusFile))) {
      if (generation < opts.generation && pid !== opts.self) found.set(pid, generation);
    }
  }
  if (opts.ppid > 1) {
    for (const pid of listProcesses((pid, st) => st.ppid === opts.ppid && pid !== opts.self)) {
      const gen = Number(readEnvVar(pid, 'SERVER_STARTER_GENERATION'));
      if (Number.isInteger(gen) && gen < opts.generation) found.set(pid, gen);
    }
  }
  // A generation started through a wrapper (`npx resque-starter`, `sh -c`) is the wrapper's pid:
  // the master is its child.
  for (const [pid, gen] of [...found]) {
    if (isResqueStarterMaster(pid)) continue;
    found.delete(pid);
    for (const child of listProcesses((_p, st) => st.ppid === pid)) if (child !== opts.self && isResqueStarterMaster(child)) found.set(child, gen);
  }
  return [...found]
    .filter(([pid]) => isResqueStarterMaster(pid))
    .map(([pid, generation]) => ({ pid, generation }))
    .sort((a, b) => (a.generation ?? 0) - (b.generation ?? 0));
}

/** The pid in our pid file when it is a live master other than us. */
export function pidFileOwner(pidFile: string | undefined, self: number): number | undefined {
  if (!pidFile) return undefined;
  const pid = readPidFile(pidFile);
  return pid !== undefined && pid !== self && isResqueStarterMaster(pid) ? pid : undefined;
}

/**
 * Why: when a predecessor cannot tell us its worker count (no control socket, or it died and
 * its workers are finishing as orphans), count the processes started for it: workers carry
 * RESQUE_STARTER_MASTER_PID in their environment, which no title change can hide.
 */
export function countWorkersOf(masterPid: number): number {
  const want = String(masterPid);
  return listProcesses((pid, st) => /^(node|resque-starte)/.test(st.comm) && readEnvVar(pid, WorkerEnv.masterPid) === want).length;
}

/**
 * Why: the new master must know, at every moment, how many workers its predecessors still
 * have (the C+1 bound counts both). Linked predecessors push their count over the control
 * socket; otherwise (or once the predecessor is gone and its workers are orphans finishing a
 * job) /proc is polled.
 */
export class PredecessorTracker {
  private readonly links = new Map<number, HandoffLink>();
  private readonly polls = new Map<number, () => void>();
  private restoring: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly dispatch: (event: MasterEvent) => void,
    private readonly logger: Logger,
    private readonly host: Pick<ProcessHost, 'pid' | 'every' | 'signal'>,
    private readonly opts: {
      env: Readonly<Record<string, string | undefined>>;
      generation: number | undefined;
      pollMs?: number;
      /** A linked predecessor's metrics pushes, and the end of its link (master/metrics.ts). */
      metrics?: { seed(pid: number, push: unknown): void; unlinked(pid: number): void; handBack(): Promise<unknown> } | undefined;
    },
  ) {}

  /**
   * Links to (or starts counting) each predecessor; resolves with their initial counts and, from
   * a linked one, the count it was asked for and its config's concurrency (a runtime `scale`
   * the reducer may keep: state/successor.ts `startingCount`).
   */
  async attach(found: Array<{ pid: number; generation: number | undefined }>): Promise<Predecessor[]> {
    const out: Predecessor[] = [];
    for (const p of found) {
      try {
        // An older version's master may have its socket in another runtime directory (root's
        // moved from <tmp> to /run): look in every place a master of this uid can use.
        const link = await openHandoff(findControlSocket(p.pid, this.opts.env), { pid: this.host.pid, generation: this.opts.generation });
        this.links.set(p.pid, link);
        link.onWorkers((live) => this.dispatch({ type: 'predecessorWorkers', pid: p.pid, live }));
        const metrics = this.opts.metrics;
        if (metrics) link.onMetrics((push) => metrics.seed(p.pid, push));
        link.onClose(() => {
          this.opts.metrics?.unlinked(p.pid);
          this.links.delete(p.pid);
          this.poll(p.pid);
        });
        out.push({ pid: p.pid, generation: p.generation, live: link.initialLive, linked: true, desired: link.desired, configured: link.configured, groups: link.groups });
      } catch (err) {
        this.logger.warn(messages.oldMasterUnlinked(p.pid, (err as Error).message));
        out.push({ pid: p.pid, generation: p.generation, live: countWorkersOf(p.pid), linked: false });
        this.poll(p.pid);
      }
    }
    return out;
  }

  /** Hands the workers back after a failed rolling restart (`close` waits for it). */
  restore(pids: readonly number[]): void {
    const restoring = pids.map(async (pid) => {
      const link = this.links.get(pid);
      // What this master's workers did goes back with them: the old master serves the endpoint again.
      if (link && this.opts.metrics) link.sendMetrics(await this.opts.metrics.handBack());
      if (link) await link.restore();
      else this.logger.warn(messages.predecessorNotLinked(pid));
    });
    this.restoring = Promise.all([this.restoring, ...restoring]).then(() => undefined);
  }

  /**
   * One worker of predecessor `pid` retires (of `group`; any without it), asked over its link
   * when it is linked (a master that says its groups' counts takes `retire`); else a TTOU, which
   * retires its soonest free.
   */
  retire(pid: number, group: string | undefined): void {
    const link = this.links.get(pid);
    if (link?.groups !== undefined) {
      link.retire(group);
      this.logger.debug(logLine(messages.askedToRetire(pid, group), eventFields('old-worker-retired', { oldMaster: pid, group, by: 'link' })));
    } else {
      this.host.signal(pid, 'SIGTTOU');
    }
  }

  /** QUIT to predecessors that are not linked (they do not know they should exit when empty). */
  quit(pids: readonly number[]): void {
    for (const pid of pids) if (isResqueStarterMaster(pid)) this.host.signal(pid, 'SIGQUIT');
  }

  /** At exit, once the restores asked for are done: no more polls, links closed. */
  async close(): Promise<void> {
    await this.restoring;
    this.closed = true;
    for (const stop of this.polls.values()) stop();
    this.polls.clear();
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }

  private poll(pid: number): void {
    if (this.closed || this.polls.has(pid)) return;
    let last = -1;
    const tick = () => {
      const live = countWorkersOf(pid);
      if (live !== last) {
        last = live;
        this.dispatch({ type: 'predecessorWorkers', pid, live });
      }
      if (live === 0 && !isLiveProcess(pid)) {
        this.polls.get(pid)?.();
        this.polls.delete(pid);
        this.dispatch({ type: 'predecessorGone', pid });
      }
    };
    this.polls.set(pid, this.host.every(this.opts.pollMs ?? 20, tick));
    tick();
  }
}

// --- internal ---

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // not written yet
  }
}
