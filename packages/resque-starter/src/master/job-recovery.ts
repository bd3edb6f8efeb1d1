import { groupMembers, logLine, stillRunning, type Logger, type ProcessHost } from '@baton/process-kit';
import { eventFields, groupField, messages } from '../messages.js';
import type { Effect } from '../state/index.js';
import type { QueueClients } from './queue-client.js';

type Host = Pick<ProcessHost, 'now' | 'signal' | 'every' | 'timers'>;

/**
 * Why: a dead worker's jobs must go back to their queues (or, killed for jobTimeout, be
 * recorded as failed), and what its jobs left in its process group must be stopped; the
 * master waits for both before it exits.
 */
export class JobRecovery {
  private readonly recovering = new Set<Promise<void>>();
  private readonly reaping = new Set<Promise<void>>();

  constructor(
    private readonly queues: QueueClients,
    private readonly host: Host,
    private readonly logger: Logger,
    private readonly termTimeoutMs: () => number,
    /** Jobs put back (or failed) for a dead worker of `group` (metrics). */
    private readonly onRecovered?: (group: string, n: number) => void,
  ) {}

  /** The `recover` effect: the exited worker's in-flight jobs go back (a timed-out one fails). */
  recover(fx: Extract<Effect, { type: 'recover' }>): void {
    track(this.recovering, this.putBack(fx));
  }

  /**
   * The `reap` effect: TERM now to the exited worker's process group, KILL after termTimeout to
   * exactly the processes seen (pid and start time), so a reused pid is never hit.
   */
  reap(pid: number): void {
    const members = groupMembers(pid);
    if (members.length === 0) return;
    this.host.signal(pid, 'SIGTERM', { group: true });
    this.host.signal(pid, 'SIGCONT', { group: true });
    this.logger.info(messages.reapingGroup(pid, members.map((m) => m.pid)));
    const deadline = this.host.now() + this.termTimeoutMs();
    const done = new Promise<void>((resolve) => {
      let left = members;
      const stop = this.host.every(50, () => {
        left = stillRunning(left);
        if (left.length > 0 && this.host.now() < deadline) return;
        stop();
        for (const m of left) this.host.signal(m.pid, 'SIGKILL');
        resolve();
      });
    });
    track(this.reaping, done);
  }

  /** At exit: recoveries still running get up to `boundMs` (Redis may be away), then the reaps end. */
  async settle(boundMs: number): Promise<void> {
    if (this.recovering.size > 0) {
      // A worker killed on the way out (stopTimeout, TERM) left jobs in flight: put them back
      // before the master goes.
      this.logger.info(messages.recoveringBeforeExit(this.recovering.size));
      const timedOut = await new Promise<boolean>((resolve) => {
        this.host.timers.set('exit:recovery', boundMs, () => resolve(true));
        void Promise.allSettled([...this.recovering]).then(() => resolve(false));
      });
      this.host.timers.clear('exit:recovery');
      if (timedOut) this.logger.warn(messages.recoverTimedOut(boundMs));
    }
    await Promise.allSettled([...this.reaping]);
  }

  // --- internal ---

  private async putBack(fx: Extract<Effect, { type: 'recover' }>): Promise<void> {
    try {
      const q = await this.queues.forGroup(fx.group).get();
      const failed = fx.failed;
      if (failed?.job.id && failed.job.worker) {
        const ok = await q.failInflight(failed.job.worker, failed.job.id, { exception: 'Resque::JobTimeout', error: failed.error });
        if (ok) this.logger.warn(logLine(messages.jobFailedTimeout(fx.pid, failed.job), eventFields('job-failed-timeout', { workerPid: fx.pid, group: groupField(fx.group), class: failed.job.class, queue: failed.job.queue, worker: failed.job.worker })));
        if (ok) this.onRecovered?.(fx.group, 1);
      }
      let n = 0;
      for (const id of fx.ids) n += await q.recoverWorker(id);
      if (n > 0) this.logger.warn(logLine(messages.recovered(fx.pid, n), eventFields('jobs-recovered', { workerPid: fx.pid, group: groupField(fx.group), jobs: n })));
      this.onRecovered?.(fx.group, n);
    } catch (err) {
      this.logger.error(logLine(messages.recoverFailed(fx.pid, (err as Error).message), eventFields('jobs-recovery-failed', { workerPid: fx.pid, group: groupField(fx.group), error: (err as Error).message })));
    }
  }
}

/** Keeps `p` in `set` while it runs. */
function track(set: Set<Promise<void>>, p: Promise<void>): void {
  set.add(p);
  void p.finally(() => set.delete(p));
}
