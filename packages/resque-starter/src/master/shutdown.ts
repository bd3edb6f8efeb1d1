import type { Logger } from '@baton/process-kit';
import { masterMessages } from '../messages-master.js';

/**
 * Why: every step of the way out runs, in order, each in its own try (as BullMQ's
 * Worker.close does): one that fails is logged, and the ones after it still run.
 */
export async function runShutdownSteps(steps: ReadonlyArray<() => unknown>, logger: Logger): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      logger.warn(masterMessages.cleanupFailed((err as Error)?.message ?? String(err)));
    }
  }
}
