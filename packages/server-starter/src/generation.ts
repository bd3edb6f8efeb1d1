import type { StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger, ProcessHost } from '@baton/process-kit';
import { readEnvdir } from './envdir.js';
import { socketStdio, type BoundSocket } from './listeners.js';
import { messages } from './messages.js';
import type { StartServerOptions } from './options.js';
import { formatServerStarterPort } from './protocol.js';
import { NOTIFY_FD_VAR, type ReadyChannels } from './ready-gate.js';
import type { SupervisorEvent } from './state.js';

/** Takes a generation's output pipes and forwards what it writes (see log-pipe.ts). */
export interface OutputRelay {
  adopt(output: Readable): void;
}

export interface LauncherContext {
  os: ProcessHost;
  logger: Logger;
  options: StartServerOptions;
  sockets: readonly BoundSocket[];
  /** start-server's environment at start; each generation gets it plus envdir and protocol variables. */
  env: NodeJS.ProcessEnv;
  /** stdout/stderr fd for the generations ('inherit' when undefined), or a relay for their pipes. */
  childOutput: number | OutputRelay | undefined;
  childInput: 'inherit' | 'ignore';
  /** Where the child's `spawned`, `spawnFailed` and `exit` events go (the event loop). */
  push(event: SupervisorEvent): void;
  /** With --ready-notify: each generation gets a channel, and its READY=1 is reported here. */
  ready?: { channels: ReadyChannels; reported(generation: number): void } | undefined;
}

/**
 * Why: a generation is the command with the sockets on their fds and the Server::Starter
 * variables set; its start, failure to start and exit come back to the loop as events.
 * Returns the `spawn` effect's executor.
 */
export function createLauncher(ctx: LauncherContext): (generation: number) => void {
  const { os, logger, options, push } = ctx;
  const baseEnv = protocolEnv(ctx);
  const relay = typeof ctx.childOutput === 'object' ? ctx.childOutput : undefined;
  const out = relay ? 'pipe' : typeof ctx.childOutput === 'number' ? ctx.childOutput : 'inherit';
  const stdio: unknown[] = [ctx.childInput, out, out, ...socketStdio(ctx.sockets)];
  const [file, ...args] = options.command as [string, ...string[]];

  const start = (generation: number, extra: unknown[] = [], extraEnv: NodeJS.ProcessEnv = {}) => {
    let pid = 0;
    const env = { ...withEnvdir(baseEnv, options.envdir, logger), ...extraEnv, SERVER_STARTER_GENERATION: String(generation) };
    const child = os.spawn(
      { file, args, cwd: options.dir, env, stdio: [...stdio, ...extra] as StdioOptions },
      {
        exit: (code, signal) => push({ type: 'exit', pid, code, signal }),
        spawnError: (error) => push({ type: 'spawnFailed', generation, error: error.message }),
        error: (error) => logger.debug(messages.workerError(pid, error.message)),
      },
    );
    if (!child) return;
    pid = child.pid;
    if (relay && child.stdout) relay.adopt(child.stdout);
    if (relay && child.stderr) relay.adopt(child.stderr);
    push({ type: 'spawned', generation, pid });
  };
  const { ready } = ctx;
  if (!ready) return (generation) => start(generation);
  // The channel's end goes on the first fd after the sockets; the generation finds it in the env.
  const notifyFd = stdio.length;
  return (generation) => {
    ready.channels.create((fields) => fields.READY === '1' && ready.reported(generation)).then(
      (channel) => {
        start(generation, [channel.childEnd], { [NOTIFY_FD_VAR]: String(notifyFd) });
        channel.childEnd.destroy();
      },
      (err: Error) => push({ type: 'spawnFailed', generation, error: `--ready-notify channel: ${err.message}` }),
    );
  };
}

// --- internal ---

function protocolEnv({ os, options, sockets, env }: LauncherContext): NodeJS.ProcessEnv {
  return {
    ...env,
    ...options.exportedEnv,
    SERVER_STARTER_PORT: formatServerStarterPort(sockets.map((s) => ({ address: s.address, fd: s.childFd }))),
    SERVER_STARTER_PID: String(os.pid),
    SERVER_STARTER_BACKLOG: String(options.backlog),
    ...(options.statusFile ? { SERVER_STARTER_STATUS_FILE: options.statusFile } : {}),
  };
}

/** `--envdir` is read again for every generation (a restart picks up changed variables). */
function withEnvdir(env: NodeJS.ProcessEnv, dir: string | undefined, logger: Logger): NodeJS.ProcessEnv {
  if (!dir) return env;
  try {
    return { ...env, ...readEnvdir(dir) };
  } catch (err) {
    logger.warn(messages.envdirFailed(dir, (err as Error).message));
    return env;
  }
}
