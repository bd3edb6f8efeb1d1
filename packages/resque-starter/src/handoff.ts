import { readFileSync } from 'node:fs';
import { readCmdline, readPidFile, sendSignal, type Logger } from '@baton/process-kit';
import { findControlSocket, openHandoff, type HandoffLink } from './control.js';
import { WorkerEnv } from './ipc.js';
import { messages } from './messages.js';
import { countWorkersOf, isLiveProcess, listProcesses, readEnvVar } from './proc.js';
import type { MasterEvent, OldMaster } from './state.js';

export interface FindOldMastersOptions {
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
export function findOldMasters(opts: FindOldMastersOptions): Array<{ pid: number; generation: number | undefined }> {
  const found = new Map<number, number | undefined>();
  if (opts.statusFile) {
    let text = '';
    try {
      text = readFileSync(opts.statusFile, 'utf8');
    } catch {
      // not written yet
    }
    for (const line of text.split('\n')) {
      const m = /^(\d+):(\d+)\s*$/.exec(line);
      if (!m) continue;
      const gen = Number(m[1]);
      const pid = Number(m[2]);
      if (gen < opts.generation && pid !== opts.self) found.set(pid, gen);
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
 * Why: the new master must know, at every moment, how many workers the old generation still
 * has (the C+1 bound counts both). Linked old masters push their count over the control
 * socket; otherwise (or once the old master is gone and its workers are orphans finishing a
 * job) /proc is polled.
 */
export class OldMasterTracker {
  private readonly links = new Map<number, HandoffLink>();
  private readonly polls = new Map<number, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly dispatch: (event: MasterEvent) => void,
    private readonly logger: Logger,
    private readonly opts: { env: Readonly<Record<string, string | undefined>>; self: number; generation: number | undefined; pollMs?: number },
  ) {}

  /** Links to (or starts counting) each old master; resolves with their initial counts. */
  async attach(olds: Array<{ pid: number; generation: number | undefined }>): Promise<OldMaster[]> {
    const out: OldMaster[] = [];
    for (const o of olds) {
      try {
        // An older version's master may have its socket in another runtime directory (root's
        // moved from <tmp> to /run): look in every place a master of this uid can use.
        const link = await openHandoff(findControlSocket(o.pid, this.opts.env), { pid: this.opts.self, generation: this.opts.generation });
        this.links.set(o.pid, link);
        link.onWorkers((live) => this.dispatch({ type: 'oldWorkers', pid: o.pid, live }));
        link.onClose(() => {
          this.links.delete(o.pid);
          this.poll(o.pid);
        });
        out.push({ pid: o.pid, generation: o.generation, live: link.initialLive, linked: true });
      } catch (err) {
        this.logger.warn(messages.oldMasterUnlinked(o.pid, (err as Error).message));
        out.push({ pid: o.pid, generation: o.generation, live: countWorkersOf(o.pid, WorkerEnv.masterPid), linked: false });
        this.poll(o.pid);
      }
    }
    return out;
  }

  /** Hands the workers back after a failed rolling restart. */
  async restore(pids: readonly number[]): Promise<void> {
    await Promise.all(
      pids.map(async (pid) => {
        const link = this.links.get(pid);
        if (link) await link.restore();
        else this.logger.warn(`old master ${pid} is not linked; send it TTIN to give it workers back`);
      }),
    );
  }

  /** QUIT to old masters that are not linked (they do not know they should exit when empty). */
  quit(pids: readonly number[]): void {
    for (const pid of pids) if (isResqueStarterMaster(pid)) sendSignal(pid, 'SIGQUIT');
  }

  close(): void {
    this.closed = true;
    for (const t of this.polls.values()) clearInterval(t);
    this.polls.clear();
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }

  private poll(pid: number): void {
    if (this.closed || this.polls.has(pid)) return;
    let last = -1;
    const tick = () => {
      const live = countWorkersOf(pid, WorkerEnv.masterPid);
      if (live !== last) {
        last = live;
        this.dispatch({ type: 'oldWorkers', pid, live });
      }
      if (live === 0 && !isLiveProcess(pid)) {
        clearInterval(this.polls.get(pid));
        this.polls.delete(pid);
        this.dispatch({ type: 'oldGone', pid });
      }
    };
    this.polls.set(pid, setInterval(tick, this.opts.pollMs ?? 20));
    tick();
  }
}
