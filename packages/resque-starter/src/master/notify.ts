import { closeSync, writeSync } from 'node:fs';
import { createSdNotify, monotonicUsec, type Logger, type NotifyFields, type ProcessHost, type SdNotify } from '@baton/process-kit';
import { messages } from '../messages.js';
import type { MasterState } from '../state/index.js';

/** Tells whoever waits for this master that it is ready (start-server's gate, or systemd). */
export interface MasterNotify {
  /** After each step (the `status` effect): sends what changed. */
  update(state: MasterState): void;
  /** Stops the watchdog. */
  stop(): void;
}

export interface MasterNotifyContext {
  host: Pick<ProcessHost, 'pid' | 'spawn' | 'every'>;
  env: NodeJS.ProcessEnv;
  logger: Logger;
}

/**
 * Why: a master is ready once its workers are (and, under start-server, once its takeover is
 * done). Under `start-server --ready-notify` it says READY=1 on SERVER_STARTER_NOTIFY_FD, so the
 * old generation is retired then; standalone under systemd (NOTIFY_SOCKET, no start-server) it
 * speaks sd_notify itself: READY=1, RELOADING=1 on HUP and READY=1 when the reload is done,
 * STOPPING=1, STATUS= with the worker counts, WATCHDOG=1. Under start-server it never talks to
 * systemd: start-server owns the unit's notify socket.
 */
export function createMasterNotify(ctx: MasterNotifyContext): MasterNotify | undefined {
  const gateFd = Number(ctx.env.SERVER_STARTER_NOTIFY_FD);
  const underStartServer = ctx.env.SERVER_STARTER_PID !== undefined || ctx.env.SERVER_STARTER_PORT !== undefined;
  const sd = underStartServer ? undefined : createSdNotify({ env: ctx.env, host: ctx.host, onError: (m) => ctx.logger.warn(messages.sdNotifyFailed(m)) });
  const gate = Number.isInteger(gateFd) && gateFd >= 3 ? gateFd : undefined;
  if (!sd && gate === undefined) return undefined;
  const stopWatchdog = sd?.startWatchdog();
  let gateOpen = gate !== undefined;
  const systemd = sd ? createSystemdObserver(sd) : undefined;
  return {
    update(state) {
      if (gateOpen && isReady(state)) {
        gateOpen = false;
        try {
          writeSync(gate!, 'READY=1\n');
          closeSync(gate!);
          ctx.logger.info(messages.reportedReady(gate!));
        } catch (err) {
          ctx.logger.warn(messages.sdNotifyFailed(`SERVER_STARTER_NOTIFY_FD ${gate}: ${(err as Error).message}`));
        }
      }
      systemd?.(state);
    },
    stop() {
      stopWatchdog?.();
    },
  };
}

/** Ready: running, not being replaced, no takeover under way, and every wanted worker ready. */
export function isReady(state: MasterState): boolean {
  if (state.phase !== 'running' || state.replacedBy || state.takeover) return false;
  const ready = state.workers.filter((w) => w.phase === 'ready' && !w.stop).length;
  return ready >= state.desired || state.workers.every((w) => w.phase === 'ready');
}

/** `4/4 workers ready (1 busy)`, with `reloading`, `taking over`, `stopping` when so. */
export function renderMasterNotifyStatus(state: MasterState): string {
  const ready = state.workers.filter((w) => w.phase === 'ready').length;
  const busy = state.workers.filter((w) => w.activity === 'busy').length;
  const what = state.phase === 'stopping' || state.phase === 'done' ? 'stopping: ' : state.takeover ? 'taking over: ' : state.reload ? 'reloading: ' : '';
  return `${what}${ready}/${state.desired} workers ready (${busy} busy, ${state.workers.length} live)${state.paused ? ', paused' : ''}`;
}

// --- internal ---

function createSystemdObserver(sd: SdNotify): (state: MasterState) => void {
  let ready = false;
  let reloading = false;
  let stopping = false;
  let lastStatus = '';
  return (state) => {
    const fields: NotifyFields = {};
    if (state.phase === 'stopping' || state.phase === 'done') {
      if (!stopping) fields.STOPPING = 1;
      stopping = true;
    } else if (!ready) {
      if (isReady(state)) {
        ready = true;
        fields.READY = 1;
      }
    } else if (state.reload && !reloading) {
      reloading = true;
      fields.RELOADING = 1;
      fields.MONOTONIC_USEC = monotonicUsec().toString();
    } else if (reloading && !state.reload) {
      reloading = false;
      fields.READY = 1;
    }
    const status = renderMasterNotifyStatus(state);
    if (status !== lastStatus) fields.STATUS = status;
    lastStatus = status;
    if (Object.keys(fields).length > 0) sd.send(fields);
  };
}
