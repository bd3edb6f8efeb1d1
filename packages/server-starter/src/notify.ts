import { monotonicUsec, type NotifyFields, type SdNotify } from '@baton/process-kit';
import type { SupervisorState } from './state.js';

/**
 * Why: systemd learns start-server's state from the reducer's state after each step, without a
 * notify effect in the reducer: READY=1 once the first generation is accepted, RELOADING=1 when a
 * newer one starts while one serves, READY=1 again once it took over (or failed to), STOPPING=1,
 * and STATUS= with the generations.
 */
export function createNotifyObserver(sd: Pick<SdNotify, 'send'>, monotonic: () => bigint = monotonicUsec): (state: SupervisorState) => void {
  let ready = false;
  let reloading = false;
  let stopping = false;
  let lastStatus = '';
  return (state) => {
    const status = renderNotifyStatus(state);
    const fields: NotifyFields = {};
    const current = state.gens.find((g) => g.role === 'current');
    const serving = state.gens.some((g) => g.role !== 'checking');
    const starting = state.spawning !== undefined || state.gens.some((g) => g.role === 'checking');
    if (state.phase === 'stopping' || state.phase === 'done') {
      if (!stopping) fields.STOPPING = 1;
      stopping = true;
    } else if (!ready) {
      if (current) {
        ready = true;
        fields.READY = 1;
      }
    } else if (starting && serving && !reloading) {
      reloading = true;
      fields.RELOADING = 1;
      fields.MONOTONIC_USEC = monotonic().toString();
    } else if (reloading && !starting) {
      reloading = false;
      fields.READY = 1;
    }
    if (status !== lastStatus) fields.STATUS = status;
    lastStatus = status;
    if (Object.keys(fields).length > 0) sd.send(fields);
  };
}

/** `gen 3 (pid 1234) serving; gen 4 (pid 1240) starting; 1 old leaving`: what `systemctl status` shows. */
export function renderNotifyStatus(state: SupervisorState): string {
  const parts: string[] = [];
  const current = state.gens.find((g) => g.role === 'current');
  const checking = state.gens.find((g) => g.role === 'checking');
  const olds = state.gens.filter((g) => g.role === 'old').length;
  if (state.phase === 'stopping' || state.phase === 'done') return `stopping: waiting for ${state.gens.length} worker(s)`;
  parts.push(current ? `gen ${current.generation} (pid ${current.pid}) serving` : 'no generation serving');
  if (checking) parts.push(`gen ${checking.generation} (pid ${checking.pid}) starting`);
  else if (state.spawning !== undefined) parts.push(`gen ${state.spawning} spawning`);
  else if (state.retryScheduled) parts.push(`gen ${state.lastGeneration} failed to start, retrying`);
  if (olds > 0) parts.push(`${olds} old leaving`);
  return parts.join('; ');
}
