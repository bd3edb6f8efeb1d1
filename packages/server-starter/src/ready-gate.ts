import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNotify, signalAndWake, type Logger, type ProcessHost } from '@baton/process-kit';
import { messages } from './messages.js';
import type { StartServerOptions } from './options.js';
import type { SupervisorEvent, SupervisorState } from './state.js';

// --ready-notify: a generation is accepted when it says READY=1 (sd_notify style, one
// `KEY=VALUE` per line) on the fd named by SERVER_STARTER_NOTIFY_FD, instead of after --interval.
// Node can neither create a socketpair nor read unix datagrams, so each generation's channel is
// a connected pair of unix stream sockets made through a listener in a private 0700 directory
// that lives only until the pair is connected. Any language can write a line to an fd.

/** The variable that names the generation's end of its channel. */
export const NOTIFY_FD_VAR = 'SERVER_STARTER_NOTIFY_FD';

/** One generation's channel: its end goes into the child's stdio; ours reads. */
export interface ReadyChannel {
  childEnd: net.Socket;
  close(): void;
}

/** Why: each generation gets a channel of its own, so a READY=1 names the generation that sent it. */
export class ReadyChannels {
  private dir: string | undefined;
  private seq = 0;
  private readonly open = new Set<net.Socket>();

  async create(onFields: (fields: Record<string, string>) => void): Promise<ReadyChannel> {
    this.dir ??= mkdtempSync(join(tmpdir(), 'start-server-ready-'));
    const path = join(this.dir, `${++this.seq}.sock`);
    const server = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
      const [ours, childEnd] = await Promise.all([
        new Promise<net.Socket>((resolve) => server.once('connection', resolve)),
        new Promise<net.Socket>((resolve, reject) => {
          const c = net.connect(path, () => resolve(c));
          c.once('error', reject);
        }),
      ]);
      this.read(ours, onFields);
      return { childEnd, close: () => ours.destroy() };
    } finally {
      server.close();
    }
  }

  /** At exit: every channel closed, the directory removed. */
  closeAll(): void {
    for (const s of this.open) s.destroy();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  // --- internal ---

  private read(ours: net.Socket, onFields: (fields: Record<string, string>) => void): void {
    this.open.add(ours);
    let buf = '';
    const flush = (all: boolean) => {
      const cut = all ? buf.length : buf.lastIndexOf('\n') + 1;
      if (cut <= 0) return;
      const fields = parseNotify(buf.slice(0, cut));
      buf = buf.slice(cut);
      if (Object.keys(fields).length > 0) onFields(fields);
    };
    ours.setEncoding('utf8');
    ours.on('data', (d: string) => {
      buf += d;
      flush(false);
    });
    ours.on('end', () => flush(true));
    ours.on('error', () => undefined);
    ours.on('close', () => this.open.delete(ours));
  }
}

export interface ReadyWaiterContext {
  os: ProcessHost;
  logger: Logger;
  options: StartServerOptions;
  state(): SupervisorState;
  push(event: SupervisorEvent): void;
}

/**
 * Why: the reducer accepts a generation on its `check` timer; with --ready-notify that timer
 * fires when the generation reports READY=1 (at once if it already did), and --ready-timeout
 * later it is stopped instead (--signal-on-term, KILL after --term-timeout): its exit is then a
 * failed start and the serving generation is never signalled.
 */
export function createReadyWaiter(ctx: ReadyWaiterContext): { awaitReady(generation: number, key: string): void; reported(generation: number): void } {
  const { os, logger, options } = ctx;
  const ready = new Set<number>();
  const waiting = new Map<number, string>();
  const accept = (generation: number, key: string) => os.timers.set(key, 0, () => ctx.push({ type: 'timer', timer: 'check', generation }));
  const timedOut = (generation: number) => {
    waiting.delete(generation);
    const g = ctx.state().gens.find((x) => x.generation === generation && x.role === 'checking');
    if (!g) return;
    logger.warn(messages.readyTimeout(g.pid, generation, options.readyTimeoutMs, options.signalOnTerm));
    signalAndWake(os, g.pid, options.signalOnTerm);
    if (options.termTimeoutMs > 0) {
      os.timers.set(`readyKill:${generation}`, options.termTimeoutMs, () => {
        if (ctx.state().gens.some((x) => x.pid === g.pid)) {
          logger.warn(messages.forceKill(options.termTimeoutMs, [g.pid]));
          os.signal(g.pid, 'SIGKILL');
        }
      });
    }
  };
  return {
    awaitReady(generation, key) {
      if (ready.has(generation)) return accept(generation, key);
      waiting.set(generation, key);
      if (options.readyTimeoutMs > 0) os.timers.set(key, options.readyTimeoutMs, () => timedOut(generation));
    },
    reported(generation) {
      if (ready.has(generation)) return;
      ready.add(generation);
      const g = ctx.state().gens.find((x) => x.generation === generation);
      logger.info(messages.reportedReady(g?.pid ?? 0, generation));
      const key = waiting.get(generation);
      if (key !== undefined) {
        waiting.delete(generation);
        accept(generation, key);
      }
    },
  };
}
