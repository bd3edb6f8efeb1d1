import { logLine, type Logger, type ProcessHost } from '@baton/process-kit';
import type { PredecessorTracker } from '../handoff.js';
import type { Effect, MasterEvent, MasterState } from '../state/index.js';
import type { ConfigHolder } from './config-holder.js';
import type { ControlRequests } from './control-requests.js';
import type { JobRecovery } from './job-recovery.js';
import type { PidFile } from './pid-file.js';
import type { WorkerSpawner } from './spawner.js';
import type { MasterNotify } from './notify.js';
import type { StatusOutput } from './status-output.js';

/** The parts of the master the reducer's effects act on. */
export interface EffectTargets {
  host: Pick<ProcessHost, 'signal' | 'timers'>;
  dispatch(event: MasterEvent): void;
  spawner: WorkerSpawner;
  recovery: JobRecovery;
  configs: ConfigHolder;
  predecessors: PredecessorTracker;
  pidFile: PidFile;
  control: ControlRequests;
  status: StatusOutput;
  /** Start-server's readiness gate and/or systemd, when either listens. */
  notify?: MasterNotify | undefined;
  /** The reducer's state after the step (for `notify`). */
  state?: (() => MasterState) | undefined;
  logger: Logger;
  /** The `exit` effect: the master's run is over with this code. */
  finish(code: number): void;
}

type Handlers = { [T in Effect['type']]: (effect: Extract<Effect, { type: T }>) => void };

/** Why: one line per effect, each handed to the part of the master that owns it (exhaustive: a new effect type does not compile until it has a handler). */
export function createExecutor(t: EffectTargets): (effect: Effect) => void {
  const handlers: Handlers = {
    spawn: (fx) => void t.spawner.spawn(fx),
    signal: (fx) => t.host.signal(fx.pid, fx.signal, { group: fx.group }),
    send: (fx) => t.spawner.send(fx.pid, fx.message),
    recover: (fx) => t.recovery.recover(fx),
    reap: (fx) => t.recovery.reap(fx.pid),
    setTimer: (fx) => t.host.timers.set(fx.key, fx.ms, () => t.dispatch(fx.event)),
    clearTimer: (fx) => t.host.timers.clear(fx.key),
    reloadConfig: () => t.configs.reload(),
    applyConfig: (fx) => t.configs.apply(fx.configId),
    quitPredecessors: (fx) => t.predecessors.quit(fx.pids),
    retirePredecessor: (fx) => t.predecessors.retire(fx.pid, fx.group),
    restorePredecessors: (fx) => {
      t.predecessors.restore(fx.pids);
      // The predecessor that keeps serving gets the pid file back.
      t.pidFile.handTo(fx.pids[0]);
    },
    reply: (fx) => t.control.reply(fx.id, fx.reply),
    reclaimPidFile: () => t.pidFile.reclaim(),
    status: () => {
      t.status.update();
      if (t.notify && t.state) t.notify.update(t.state());
    },
    log: (fx) => t.logger[fx.level](fx.fields ? logLine(fx.message, fx.fields) : fx.message),
    exit: (fx) => t.finish(fx.code),
  };
  return (effect) => (handlers[effect.type] as (fx: Effect) => void)(effect);
}
