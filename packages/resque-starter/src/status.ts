import type { JobInfo } from './ipc.js';
import type { MasterState } from './state/model.js';

/** The JSON status file and `resque-starter status` output. */
export interface StatusSnapshot {
  master: {
    pid: number;
    /** start-server's SERVER_STARTER_GENERATION, or null when not under start-server. */
    generation: number | null;
    state: 'starting' | 'running' | 'stopping' | 'old';
    paused: boolean;
    /** Desired number of workers (concurrency after TTIN/TTOU/scale). */
    concurrency: number;
    queues: string[];
    configVersion: number;
    startedAt: string;
    updatedAt: string;
    rollingRestart: { kind: 'handoff' | 'reload'; startedAt: string } | null;
  };
  workers: Array<{
    slot: number;
    pid: number | null;
    state: 'starting' | 'idle' | 'busy' | 'paused' | 'stopping';
    id: string | null;
    job: (Omit<JobInfo, 'startedAt'> & { startedAt: string }) | null;
    processed: number;
    /** RssAnon in kB (private memory), null when not sampled yet. */
    memoryKb: number | null;
    startedAt: string;
    configVersion: number;
  }>;
  oldMasters: Array<{ pid: number; generation: number | null; workers: number }>;
  /** The scheduler (delayed jobs, retries, `schedule`): null before it is known (unit tests without one). */
  scheduler: {
    enabled: boolean;
    /** This master leads the scheduler on the config's (top-level) Redis. */
    leader: boolean;
    /** Seconds of the leader lock. */
    lockTtl: number;
    /** The recurring jobs' names. */
    schedule: string[];
    /** Every `<redis>/<namespace>` this master leads the scheduler on (groups on other Redis servers included). */
    leading: string[];
  } | null;
}

/** Why: one shape for the status file, the `status` command and tests. */
export function renderStatus(
  state: MasterState,
  meta: { pid: number; generation: number | undefined; queues: string[]; startedAt: number; now: number; scheduler?: StatusSnapshot['scheduler'] | undefined },
): StatusSnapshot {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    master: {
      pid: meta.pid,
      generation: meta.generation ?? null,
      state: state.replacedBy ? 'old' : state.phase === 'idle' ? 'starting' : state.phase === 'done' ? 'stopping' : state.phase,
      paused: state.paused,
      concurrency: state.desired,
      queues: meta.queues,
      configVersion: state.version,
      startedAt: iso(meta.startedAt),
      updatedAt: iso(meta.now),
      rollingRestart: state.takeover
        ? { kind: 'handoff', startedAt: iso(state.takeover.startedAt) }
        : state.reload
          ? { kind: 'reload', startedAt: iso(state.reload.startedAt) }
          : null,
    },
    workers: [...state.workers]
      .sort((a, b) => a.slot - b.slot || a.key - b.key)
      .map((w) => ({
        slot: w.slot,
        pid: w.pid ?? null,
        state: w.stop ? 'stopping' : w.phase !== 'ready' ? 'starting' : w.activity === 'starting' ? 'idle' : w.activity,
        id: w.id ?? null,
        job: w.job ? { queue: w.job.queue, class: w.job.class, startedAt: iso(w.job.startedAt) } : null,
        processed: w.processed,
        memoryKb: w.rssKb ?? null,
        startedAt: iso(w.spawnedAt),
        configVersion: w.version,
      })),
    oldMasters: state.predecessors.map((p) => ({ pid: p.pid, generation: p.generation ?? null, workers: p.live })),
    scheduler: meta.scheduler ?? null,
  };
}

/** The master's process title (kept short: its argv area is small). */
export function renderMasterTitle(state: MasterState, queues: readonly string[]): string {
  const ready = state.workers.filter((w) => w.phase === 'ready' && !w.stop).length;
  const flags = [state.replacedBy ? 'OLD' : '', state.paused ? 'PAUSED' : '', state.phase === 'stopping' ? 'STOPPING' : ''].filter(Boolean);
  return `resque-starter master ${ready}/${state.desired} (${queues.join(',')})${flags.length ? ` ${flags.join(' ')}` : ''}`;
}

/** Appended to worker titles; see renderWorkerTitle. */
export const RUBY_PRUNE_MARK = ' [resque:work]';

/** A worker's process title: slot, queues, BUSY/IDLE/PAUSED, OLD, and the job it runs. */
export function renderWorkerTitle(w: {
  slot: number;
  queues: readonly string[];
  activity: 'starting' | 'idle' | 'busy' | 'paused' | 'stopping';
  old: boolean;
  job: JobInfo | undefined;
}): string {
  const state = w.activity.toUpperCase();
  const job = w.job ? ` ${w.job.class} on ${w.job.queue} since ${new Date(w.job.startedAt).toISOString()}` : '';
  // Ruby Resque's same-host prune spares only pids whose command line matches
  // /resque:work|resque-[0-9]/ (resque-protocol.md §4.2): the marker keeps a Ruby worker that
  // starts on this host from pruning our live workers. It goes last and is never cut off.
  const text = `resque-starter worker[${w.slot}] (${w.queues.join(',')}) ${state}${w.old ? ' OLD' : ''}${job}`;
  return `${text.slice(0, 250 - RUBY_PRUNE_MARK.length)}${RUBY_PRUNE_MARK}`;
}
