import type { Logger, ProcessHost } from '@baton/process-kit';
import type { ResolvedConfig } from '../config.js';
import type { MasterState } from '../state/index.js';
import { renderMasterTitle, renderStatus, type RedisView, type StatusSnapshot } from '../status.js';
import { messages } from '../messages.js';

export interface StatusContext {
  host: Pick<ProcessHost, 'pid' | 'now' | 'timers' | 'writeFile' | 'removeFile' | 'setTitle'>;
  state(): MasterState;
  config(): ResolvedConfig;
  generation: number | undefined;
  startedAt: number;
  /** Tells the linked successors the live worker count. */
  pushWorkers(live: number, links: readonly number[]): void;
  /** The scheduler's part of the status (undefined until it is set up). */
  scheduler?(): StatusSnapshot['scheduler'] | undefined;
  /** Redis conditions of the workers and the master (undefined: none known). */
  redis?: RedisView | undefined;
  logger: Logger;
}

/**
 * Why: what the master shows of itself after each step (the `status` effect): its process
 * title, the live worker count pushed to the newer masters taking over from it, and the status
 * file — written at most every 50 ms, and not by a master that is being replaced (the file is
 * its successor's then).
 */
export class StatusOutput {
  private lastPushed = -1;
  private writePending = false;
  /** The title last set: setting the same again is a syscall per worker message for nothing. */
  private lastTitle: string | undefined;

  constructor(private readonly ctx: StatusContext) {}

  /** Where the scheduler's part of the status comes from, once it runs. */
  setScheduler(source: () => StatusSnapshot['scheduler']): void {
    this.ctx.scheduler = source;
  }

  /** The `status` effect. */
  update(): void {
    const state = this.ctx.state();
    const title = renderMasterTitle(state, this.ctx.config().queues);
    if (title !== this.lastTitle) {
      this.lastTitle = title;
      this.ctx.host.setTitle(title);
    }
    const live = state.workers.length;
    if (live !== this.lastPushed) {
      this.lastPushed = live;
      this.ctx.pushWorkers(live, state.successors);
    }
    if (this.writePending) return;
    this.writePending = true;
    this.ctx.host.timers.set(STATUS_TIMER, 50, () => {
      this.writePending = false;
      this.write();
    });
  }

  snapshot(): StatusSnapshot {
    const { host, generation, startedAt } = this.ctx;
    const config = this.ctx.config();
    const groupQueues = Object.fromEntries(config.groups.map((g) => [g.name, g.queues]));
    return renderStatus(this.ctx.state(), { pid: host.pid, generation, queues: config.queues, groupQueues, startedAt, now: host.now(), scheduler: this.ctx.scheduler?.(), redis: this.ctx.redis });
  }

  /** At exit: the status file goes, unless a successor took it over. */
  remove(): void {
    const path = this.ctx.config().statusFile;
    if (path && !this.ctx.state().replacedBy) this.ctx.host.removeFile(path);
  }

  // --- internal ---

  private write(): void {
    const { statusFile, fileMode } = this.ctx.config();
    const state = this.ctx.state();
    if (!statusFile || state.replacedBy || state.phase === 'done') return;
    try {
      this.ctx.host.writeFile(statusFile, `${JSON.stringify(this.snapshot(), null, 2)}\n`, { mode: fileMode });
    } catch (err) {
      this.ctx.logger.warn(messages.statusFileFailed(statusFile, (err as Error).message));
    }
  }
}

/** Its key in the host's timer table (the reducer's keys are `<timer>:<worker>` and `hold`). */
const STATUS_TIMER = 'statusFile';
