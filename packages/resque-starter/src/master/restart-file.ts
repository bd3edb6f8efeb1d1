import type { Logger, ProcessHost } from '@baton/process-kit';
import { messages } from '../messages.js';
import type { MasterEvent } from '../state/index.js';

/** Why: touching the config's `restartFile` reloads, like HUP (for deploy tools that cannot signal). Returns stop. */
export function watchRestartFile(host: Pick<ProcessHost, 'watchFile'>, path: string, logger: Logger, dispatch: (event: MasterEvent) => void): () => void {
  return host.watchFile(path, () => {
    logger.info(messages.restartFile(path));
    dispatch({ type: 'reloadRequest', source: 'restart file' });
  });
}
