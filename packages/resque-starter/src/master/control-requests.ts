import type { Socket } from 'node:net';
import { writeLine, type ControlHandlers, type ControlReply, type ControlRequest } from '../control.js';
import type { MasterEvent } from '../state/index.js';
import type { StatusSnapshot } from '../status.js';

export interface ControlContext {
  /** Whether the master's loop is open (before that, events wait in it). */
  isOpen(): boolean;
  dispatch(event: MasterEvent): void;
  snapshot(): StatusSnapshot;
  maxConcurrency(): number;
  /** Reopens the log file; false when there is none. */
  reopenLogs(): boolean;
  /** What a successor that gives up counted (its `metrics` on link `link`), when this master serves metrics. */
  metricsFromSuccessor?(link: number, parts: unknown): void;
}

/**
 * Why: the control socket's requests become loop events; the reducer, not this module, decides
 * `scale` and `handoff` and answers them through a `reply` effect (the request waits for it).
 * A newer master's hand-off connection is a link with a number: its `restore` and its close
 * are events too, and the live worker count is pushed on it while the reducer lists it.
 */
export class ControlRequests implements ControlHandlers {
  private readonly waiting = new Map<number, (reply: ControlReply) => void>();
  /** Every hand-off connection still open, with its link (undefined once restored or refused). */
  private readonly links = new Map<Socket, number | undefined>();
  private readonly sockets = new Map<number, Socket>();
  private nextReply = 1;
  private nextLink = 1;

  constructor(private readonly ctx: ControlContext) {}

  request(req: ControlRequest, conn: Socket): ControlReply | undefined | Promise<ControlReply> {
    switch (req.cmd) {
      case 'status':
        return { ok: true, status: this.ctx.snapshot() };
      case 'scale':
        return this.scale(req.workers, req.group);
      case 'pause':
        if (req.group !== undefined && typeof req.group !== 'string') return { ok: false, error: `Expected a group name, got \`${String(req.group)}\`` };
        return this.ask((reply) => ({ type: 'pause', paused: req.paused === true, group: req.group, reply }));
      case 'reload':
        this.ctx.dispatch({ type: 'reloadRequest', source: 'reload command' });
        return { ok: true };
      case 'reopen-logs':
        return { ok: true, reopened: this.ctx.reopenLogs() };
      case 'handoff':
        return this.handoff(req, conn);
      case 'restore':
        this.unlink(conn, (link) => this.ctx.dispatch({ type: 'successorRestored', link }));
        return { ok: true };
      case 'metrics': {
        const link = this.links.get(conn);
        if (link !== undefined) this.ctx.metricsFromSuccessor?.(link, req.parts);
        return undefined;
      }
      case 'retire': {
        // Only a linked successor may ask; its request is answered by a worker leaving, not a reply.
        const link = this.links.get(conn);
        if (link !== undefined && (req.group === undefined || typeof req.group === 'string')) this.ctx.dispatch({ type: 'retireRequest', link, group: req.group });
        return undefined;
      }
      default:
        return { ok: false, error: `unknown command \`${(req as { cmd?: unknown }).cmd as string}\`` };
    }
  }

  closed(conn: Socket): void {
    this.unlink(conn, (link) => this.ctx.dispatch({ type: 'successorLost', link }));
    this.links.delete(conn);
  }

  /** The `reply` effect: answers the request waiting under `id`. */
  reply(id: number, reply: ControlReply): void {
    this.waiting.get(id)?.(reply);
    this.waiting.delete(id);
  }

  /** Tells the linked successors `links` this master's live worker count. */
  pushWorkers(live: number, links: readonly number[]): void {
    for (const link of links) {
      const conn = this.sockets.get(link);
      if (conn) writeLine(conn, { event: 'workers', live });
    }
  }

  /** Sends a metrics push (master/metrics.ts) to the linked successors `links`. */
  pushMetrics(push: { event: 'metrics' }, links: readonly number[]): void {
    for (const link of links) {
      const conn = this.sockets.get(link);
      if (conn) writeLine(conn, push);
    }
  }

  /** At exit: every hand-off connection still open is ended (the control socket closes once they are). */
  endLinks(): void {
    for (const conn of this.links.keys()) conn.end();
  }

  // --- internal ---

  /** `scale [GROUP] N`: a group's ceiling is checked by the reducer, which knows the groups. */
  private scale(workers: unknown, group: unknown): ControlReply | Promise<ControlReply> {
    const n = Number(workers);
    if (!Number.isInteger(n) || n < 0) return { ok: false, error: `Expected a worker count ≥ 0, got \`${String(workers)}\`` };
    if (group !== undefined && typeof group !== 'string') return { ok: false, error: `Expected a group name, got \`${String(group)}\`` };
    const max = this.ctx.maxConcurrency();
    if (group === undefined && n > max) {
      return { ok: false, error: `Expected a worker count ≤ maxConcurrency (${max}), got \`${n}\`; raise maxConcurrency in the config to go higher` };
    }
    return this.ask((reply) => ({ type: 'scale', desired: n, group, reply }));
  }

  private handoff(req: Extract<ControlRequest, { cmd: 'handoff' }>, conn: Socket): ControlReply | Promise<ControlReply> {
    const by = Number(req.pid);
    if (!Number.isInteger(by) || by <= 1) return { ok: false, error: 'bad pid' };
    const link = this.nextLink++;
    this.links.set(conn, link);
    this.sockets.set(link, conn);
    const event = { type: 'successorLinked', link, by, generation: req.generation } as const;
    if (!this.ctx.isOpen()) {
      // Still starting (a HUP storm: a newer generation came up first): the event waits in the
      // loop and this master starts as replaced, with no worker of its own.
      this.ctx.dispatch(event);
      return { ok: true, live: 0 };
    }
    return this.ask((reply) => ({ ...event, reply })).then((answer) => {
      if (!answer.ok) this.unlink(conn, () => undefined);
      return answer;
    });
  }

  /** Dispatches the event made for a new reply id and waits for its `reply` effect. */
  private ask(eventFor: (reply: number) => MasterEvent): Promise<ControlReply> {
    const id = this.nextReply++;
    const answer = new Promise<ControlReply>((resolve) => this.waiting.set(id, resolve));
    this.ctx.dispatch(eventFor(id));
    return answer;
  }

  /** The link of `conn` ends (its connection may stay open): `then` tells the reducer how. */
  private unlink(conn: Socket, then: (link: number) => void): void {
    const link = this.links.get(conn);
    if (link === undefined) return;
    this.links.set(conn, undefined);
    this.sockets.delete(link);
    then(link);
  }
}
