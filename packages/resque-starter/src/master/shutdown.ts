import type { Server } from 'node:net';
import type { Logger, ProcessHost } from '@baton/process-kit';
import type { LogFile } from './log-file.js';
import type { MasterParts } from './parts.js';
import { messages } from '../messages.js';

export interface ShutdownContext {
  host: Pick<ProcessHost, 'timers'>;
  parts: MasterParts;
  server: Server;
  logOut: LogFile | undefined;
  logger: Logger;
  stopSources(): void;
  /** Gives up the scheduler's leadership (a follower, the next generation, takes over at once). */
  scheduler: { stop(): Promise<void> };
  removeFiles(): void;
  removeExitGuard(): void;
}

/**
 * Why: the way out, once the reducer said `exit`: the sources stop, dead workers' jobs are put
 * back (bounded: Redis may be away) and their leftovers reaped, the predecessors get what they
 * were promised, links and the control socket close, the files go, Redis is let go. Each step
 * runs in its own try (as BullMQ's Worker.close does): one that fails is logged, the next runs.
 */
export async function shutDown(c: ShutdownContext): Promise<void> {
  const { parts } = c;
  const steps: Array<() => unknown> = [
    c.stopSources,
    () => c.scheduler.stop(),
    () => parts.recovery.settle(Math.max(parts.configs.config.redisTimeoutMs, 5000)),
    () => c.host.timers.clearAll(),
    () => parts.predecessors.close(),
    // The workers' last job counts, pushed to a successor before the links end.
    () => parts.metrics?.close(),
    () => parts.control.endLinks(),
    () => new Promise<void>((resolve) => c.server.close(() => resolve())),
    c.removeFiles,
    () => parts.queues.close(),
    c.removeExitGuard,
    () => c.logOut?.close(),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      c.logger.warn(messages.cleanupFailed((err as Error)?.message ?? String(err)));
    }
  }
}
