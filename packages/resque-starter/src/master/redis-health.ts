import type { RedisTrouble } from '../ipc.js';
import { messages } from '../messages.js';

/** The logger's levels used here (consola's, or a recorder in tests). */
export type LineLogger = Record<'warn' | 'info' | 'debug', (message: string) => void>;

/** `NOREPLICAS … script: <sha>, on @user_script:124.` → `NOREPLICAS …` (which script says nothing to an operator). */
function withoutScript(message: string): string {
  return message.replace(/\s*script: [0-9a-f]{40}, on @user_script:\d+\.?$/, '');
}

/** Replies by which Redis refuses a write it would otherwise take. */
const WRITE_REFUSED = /^(?:NOREPLICAS|READONLY|MISCONF|OOM|MASTERDOWN|EXECABORT)\b/;

/** Who reported a condition: a worker (slot and pid), or the master's own writes to one Redis (its key). */
export type Reporter = { slot: number; pid: number } | { master: string };

/**
 * Why: during a failover every worker hits the same wall (the connection drops, writes are
 * refused) and each would say so; the operator needs one line when it starts, naming the first
 * worker that hit it and what Redis said, and one line when it ends, with how long it lasted.
 * Conditions are kept per kind (`connection`, `write-refused`, …): a kind starts when its
 * first reporter is in it, and ends when none is left (a worker that exits leaves it).
 */
export class RedisHealth {
  private readonly open = new Map<string, { since: number; first: string; reporters: Set<string> }>();

  constructor(
    private readonly logger: LineLogger,
    private readonly now: () => number,
  ) {}

  /** A worker's (or the master's own) report of a condition starting or ending. */
  report(from: Reporter, trouble: RedisTrouble): void {
    const who = 'master' in from ? `master ${from.master}` : String(from.pid);
    const c = this.open.get(trouble.condition);
    if (trouble.state === 'down') {
      if (c) {
        c.reporters.add(who);
        return;
      }
      this.open.set(trouble.condition, { since: this.now(), first: who, reporters: new Set([who]) });
      this.logger.warn(messages.redisTroubleStarted('master' in from ? 'master' : from, trouble.condition, withoutScript(trouble.message)));
      return;
    }
    if (!c) return;
    c.reporters.delete(who);
    if (c.reporters.size === 0) this.close(trouble.condition, c.since);
  }

  /**
   * The outcome of one of the master's own writes (lease renewals): a refusal by Redis
   * (`NOREPLICAS`, `READONLY`, `MISCONF`, `OOM`) opens `write-refused` for the master, a write
   * that lands closes it. Connection failures are the link's business, not counted here.
   */
  masterWrite(err: Error | undefined, redis = ''): void {
    const message = err?.message ?? '';
    if (err && !WRITE_REFUSED.test(message)) return;
    this.report({ master: redis }, err ? { state: 'down', condition: 'write-refused', message } : { state: 'up', condition: 'write-refused', message: '' });
  }

  /** A worker exited: it no longer holds any condition open. */
  workerGone(pid: number): void {
    for (const [condition, c] of this.open) {
      if (!c.reporters.delete(String(pid)) || c.reporters.size > 0) continue;
      this.open.delete(condition);
      this.logger.debug(messages.redisTroubleLeft(condition, this.now() - c.since));
    }
  }

  /** The conditions open now (for tests and the status file). */
  get conditions(): string[] {
    return [...this.open.keys()];
  }

  private close(condition: string, since: number): void {
    this.open.delete(condition);
    this.logger.info(messages.redisTroubleEnded(condition, this.now() - since));
  }
}
