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
    /** The master uses several Redis servers: conditions are kept, and named, per Redis. */
    private readonly perRedis = false,
  ) {}

  /** A worker's (or the master's own) report of a condition starting or ending, on the Redis `redis` (described). */
  report(from: Reporter, trouble: RedisTrouble, redis = ''): void {
    const who = 'master' in from ? 'master' : String(from.pid);
    const where = this.perRedis ? redis : '';
    const key = `${trouble.condition}\0${where}`;
    const c = this.open.get(key);
    if (trouble.state === 'down') {
      if (c) {
        c.reporters.add(who);
        return;
      }
      this.open.set(key, { since: this.now(), first: who, reporters: new Set([who]) });
      this.logger.warn(messages.redisTroubleStarted('master' in from ? 'master' : from, trouble.condition, withoutScript(trouble.message), where));
      return;
    }
    if (!c) return;
    c.reporters.delete(who);
    if (c.reporters.size === 0) this.close(key);
  }

  /**
   * The outcome of one of the master's own writes (lease renewals): a refusal by Redis
   * (`NOREPLICAS`, `READONLY`, `MISCONF`, `OOM`) opens `write-refused` for the master, a write
   * that lands closes it. Connection failures are the link's business, not counted here.
   */
  masterWrite(err: Error | undefined, redis = ''): void {
    const message = err?.message ?? '';
    if (err && !WRITE_REFUSED.test(message)) return;
    this.report({ master: redis }, err ? { state: 'down', condition: 'write-refused', message } : { state: 'up', condition: 'write-refused', message: '' }, redis);
  }

  /** A worker exited: it no longer holds any condition open. */
  workerGone(pid: number): void {
    for (const [key, c] of this.open) {
      if (!c.reporters.delete(String(pid)) || c.reporters.size > 0) continue;
      this.open.delete(key);
      this.logger.debug(messages.redisTroubleLeft(key.split('\0')[0]!, this.now() - c.since));
    }
  }

  /** The conditions open now (for tests and the status file), with their Redis when kept per Redis. */
  get conditions(): string[] {
    return [...this.open.keys()].map((k) => k.replace(/\0$/, '').replace('\0', ' '));
  }

  private close(key: string): void {
    const c = this.open.get(key)!;
    this.open.delete(key);
    const [condition, where] = key.split('\0') as [string, string];
    this.logger.info(messages.redisTroubleEnded(condition, this.now() - c.since, where));
  }
}
