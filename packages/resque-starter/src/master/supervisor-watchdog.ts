import type { Logger, ProcessHost } from '@baton/process-kit';
import { messages } from '../messages.js';
import type { MasterEvent } from '../state/index.js';

/**
 * Why: under start-server, if start-server itself is killed (-9), nobody would ever stop this
 * generation. Notice it (we are re-parented) and shut down gracefully, like QUIT: the jobs in
 * flight finish, nothing is orphaned. Returns stop.
 */
export function watchSupervisor(
  host: Pick<ProcessHost, 'every' | 'ppid'>,
  supervisorPid: number,
  logger: Logger,
  dispatch: (event: MasterEvent) => void,
): () => void {
  const stop = host.every(500, () => {
    const ppid = host.ppid();
    if (ppid === supervisorPid) return;
    stop();
    logger.warn(messages.supervisorGone(supervisorPid, ppid));
    dispatch({ type: 'signal', signal: 'SIGQUIT' });
  });
  return stop;
}
