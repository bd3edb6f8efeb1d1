import { FILE_MODES, formatStatusFile, signalAndWake, type Logger, type ProcessHost } from '@baton/process-kit';
import { messages } from './messages.js';
import type { StartServerOptions } from './options.js';
import type { Effect, SupervisorEvent, SupervisorState } from './state.js';
import { renderTitle } from './title.js';

export interface EffectContext {
  os: ProcessHost;
  logger: Logger;
  options: StartServerOptions;
  /** The reducer's state after the step that produced the effect. */
  state(): SupervisorState;
  push(event: SupervisorEvent): void;
  /** With --ready-notify: the `check` timer waits for the generation's READY=1 (ready-gate.ts). */
  readiness?: { awaitReady(generation: number, key: string): void } | undefined;
  /** Starts a generation (createLauncher). */
  spawn(generation: number): void;
  /** Ends start-server with this exit code. */
  finish(code: number): void;
}

/** Why: the only place the reducer's decisions touch the OS, each through the process host. */
export function createEffectRunner(ctx: EffectContext): (fx: Effect) => void {
  const { os, logger, options } = ctx;
  return (fx) => {
    switch (fx.type) {
      case 'spawn':
        ctx.spawn(fx.generation);
        break;
      case 'kill':
        for (const pid of fx.pids) signalAndWake(os, pid, fx.signal);
        break;
      case 'setTimer':
        if (fx.event.timer === 'check' && ctx.readiness) ctx.readiness.awaitReady(fx.event.generation, fx.key);
        else os.timers.set(fx.key, fx.ms, () => ctx.push(fx.event));
        break;
      case 'clearTimer':
        os.timers.clear(fx.key);
        break;
      case 'writeStatus':
        os.setTitle(renderTitle(ctx.state(), options.command));
        if (options.statusFile) writeStatus(ctx, options.statusFile, fx.lines);
        break;
      case 'log':
        logger[fx.level](fx.message);
        break;
      case 'exit':
        ctx.finish(fx.code);
        break;
    }
  };
}

// --- internal ---

function writeStatus({ os, logger, options }: EffectContext, path: string, lines: Extract<Effect, { type: 'writeStatus' }>['lines']): void {
  try {
    os.writeFile(path, formatStatusFile(lines), { mode: options.fileMode ?? FILE_MODES.status });
  } catch (err) {
    logger.warn(messages.statusFileFailed(path, (err as Error).message));
  }
}
