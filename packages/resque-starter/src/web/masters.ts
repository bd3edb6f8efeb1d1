import { readFileSync } from 'node:fs';
import { isAlive, parseStatusFile, readPidFile, type StatusLine } from '@baton/process-kit';
import type { ResolvedConfig } from '../config.js';
import { findControlSocket, sendControl } from '../control.js';
import type { StatusSnapshot } from '../status.js';

// The masters and generations page: what the config's status file says (the current master,
// and the old masters it is taking over from with their live worker counts), completed with
// each old master's own status over its control socket (its workers draining), and
// start-server's status file (generation:pid lines).

export type WorkerStatus = StatusSnapshot['workers'][number];

/** One master (one start-server generation) as the page shows it. */
export interface MasterView {
  pid: number;
  generation: number | null;
  /** `current`: the status file's master; `old`: one it is taking over from. */
  role: 'current' | 'old';
  state: StatusSnapshot['master']['state'] | 'gone' | 'unknown';
  concurrency: number | undefined;
  /** Its live worker processes (starting and stopping ones included). */
  workerCount: number;
  /** Its workers, when known (the status file, or the master's control socket). */
  workers: WorkerStatus[] | undefined;
  groups: StatusSnapshot['master']['groups'];
  paused: boolean;
  rollingRestart: StatusSnapshot['master']['rollingRestart'];
  updatedAt: string | undefined;
  /** Redis as this master sees it (conditions open now); undefined when unknown (an older master's status file). */
  redis: StatusSnapshot['master']['redis'] | undefined;
}

export interface MastersView {
  /** Where the status came from, for the page's footnote. */
  source: string;
  /** Why nothing could be read (no statusFile/pidFile, file missing, …). */
  problem: string | undefined;
  masters: MasterView[];
  /** Worker processes alive over every master. */
  alive: number;
  /**
   * The most worker processes a rolling restart may run: concurrency + 1 of the new master
   * (or the old master's count, when it had more).
   */
  bound: number | undefined;
  /** start-server's generations (its `--status-file`), when the config names it. */
  startServer: StatusLine[] | undefined;
  scheduler: StatusSnapshot['scheduler'];
}

export interface MastersSource {
  statusFile: string | undefined;
  pidFile: string | undefined;
  serverStarterStatusFile: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** The control-socket reply timeout; short: a page must not wait on a stuck master. */
  timeoutMs?: number;
}

export function mastersSource(config: ResolvedConfig, env: Readonly<Record<string, string | undefined>>): MastersSource {
  return { statusFile: config.statusFile, pidFile: config.pidFile, serverStarterStatusFile: config.serverStarterStatusFile, env };
}

/** Why: the whole page's data in one read: the status file first (no socket needed, any user may read it), then the old masters' sockets. */
export async function readMasters(src: MastersSource): Promise<MastersView> {
  const timeoutMs = src.timeoutMs ?? 500;
  let snapshot: StatusSnapshot | undefined;
  let source = '';
  let problem: string | undefined;
  if (src.statusFile) {
    source = `status file ${src.statusFile}`;
    try {
      snapshot = JSON.parse(readFileSync(src.statusFile, 'utf8')) as StatusSnapshot;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      problem = e.code === 'ENOENT' ? `no status file at ${src.statusFile}: is the master running (on this host)?` : `cannot read the status file ${src.statusFile}: ${e.message}`;
    }
  } else if (src.pidFile) {
    const pid = readPidFile(src.pidFile);
    source = `control socket of the master in ${src.pidFile}`;
    if (pid === undefined || !isAlive(pid)) problem = `no master running (pid file ${src.pidFile})`;
    else snapshot = await askStatus(pid, src, timeoutMs);
    if (!snapshot && !problem) problem = `master ${pid} did not answer on its control socket`;
  } else {
    problem = 'the config names no `statusFile` (nor `pidFile`): set `statusFile` to see the masters here';
  }
  const masters: MasterView[] = [];
  let bound: number | undefined;
  if (snapshot) {
    const m = snapshot.master;
    const alive = isAlive(m.pid);
    masters.push({
      pid: m.pid,
      generation: m.generation,
      role: 'current',
      state: alive ? m.state : 'gone',
      concurrency: m.concurrency,
      workerCount: alive ? snapshot.workers.length : 0,
      workers: alive ? snapshot.workers : [],
      groups: m.groups ?? [],
      paused: m.paused,
      rollingRestart: m.rollingRestart,
      updatedAt: m.updatedAt,
      redis: m.redis,
    });
    bound = m.concurrency + 1;
    const olds = await Promise.all(
      snapshot.oldMasters.map(async (o) => ({ o, s: isAlive(o.pid) ? await askStatus(o.pid, src, timeoutMs) : undefined, alive: isAlive(o.pid) })),
    );
    for (const { o, s, alive } of olds) {
      masters.push({
        pid: o.pid,
        generation: o.generation,
        role: 'old',
        state: !alive ? 'gone' : (s?.master.state ?? 'old'),
        concurrency: s?.master.concurrency,
        // The new master's count is pushed to it by the old one: the one that bounds the hand-off.
        workerCount: alive ? o.workers : 0,
        workers: s?.workers,
        groups: s?.master.groups ?? [],
        paused: s?.master.paused ?? false,
        rollingRestart: s?.master.rollingRestart ?? null,
        updatedAt: s?.master.updatedAt,
        redis: s?.master.redis,
      });
      if (s && s.master.concurrency > (bound ?? 0)) bound = s.master.concurrency;
    }
  }
  let startServer: StatusLine[] | undefined;
  if (src.serverStarterStatusFile) {
    try {
      startServer = parseStatusFile(readFileSync(src.serverStarterStatusFile, 'utf8'));
    } catch {
      startServer = undefined;
    }
  }
  return {
    source,
    problem,
    masters,
    alive: masters.reduce((n, m) => n + m.workerCount, 0),
    bound,
    startServer,
    scheduler: snapshot?.scheduler ?? null,
  };
}

// --- internal ---

async function askStatus(pid: number, src: MastersSource, timeoutMs: number): Promise<StatusSnapshot | undefined> {
  try {
    const reply = await sendControl(findControlSocket(pid, src.env), { cmd: 'status' }, timeoutMs);
    return reply.ok ? (reply.status as StatusSnapshot) : undefined;
  } catch {
    return undefined;
  }
}
