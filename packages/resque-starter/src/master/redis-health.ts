import type { RedisTrouble } from '../ipc.js';
import { messages } from '../messages.js';
import type { RedisConditionStatus, RedisStatus } from '../status.js';

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
  private readonly open = new Map<string, { since: number; first: string; message: string; reporters: Set<string> }>();
  /** What each reporter (a worker's pid, or `master`) is in now, by condition key: for the status file. */
  private readonly held = new Map<string, Map<string, { since: number; message: string }>>();
  /** The master's own connection to each Redis (redis-link), while it is down: no line here (the link says it). */
  private readonly links = new Map<string, { since: number; message: string }>();
  private changed: () => void = () => undefined;

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
    this.hold(who, key, trouble);
    const c = this.open.get(key);
    if (trouble.state === 'down') {
      if (c) {
        c.reporters.add(who);
        return;
      }
      const message = withoutScript(trouble.message);
      this.open.set(key, { since: this.now(), first: who, message, reporters: new Set([who]) });
      this.logger.warn(messages.redisTroubleStarted('master' in from ? 'master' : from, trouble.condition, message, where));
      return;
    }
    if (!c) return;
    c.reporters.delete(who);
    if (c.reporters.size === 0) this.close(key);
  }

  /** The master's own connection to `redis` went down (`message`: why) or is back (undefined); logged by the link itself. */
  link(redis: string, down: { message: string } | undefined): void {
    if (down && !this.links.has(redis)) this.links.set(redis, { since: this.now(), message: down.message });
    else if (!down && this.links.has(redis)) this.links.delete(redis);
    else return;
    this.changed();
  }

  /** Called whenever a condition of a worker or of the master starts or ends (the master rewrites its status file). */
  onChange(listener: () => void): void {
    this.changed = listener;
  }

  /** A worker's conditions now, for its entry in the status file. */
  workerStatus(pid: number): RedisStatus {
    const mine = this.held.get(String(pid));
    return statusOf([...(mine ?? [])].map(([key, h]) => conditionStatus(key, h.since, h.message)));
  }

  /**
   * The master's view: every condition open now (when it began, what the first reporter saw,
   * how many workers are in it, whether the master is) and its own connection when it is down.
   */
  masterStatus(): RedisStatus {
    const conditions: RedisConditionStatus[] = [...this.open].map(([key, c]) => ({
      ...conditionStatus(key, c.since, c.message),
      workers: [...c.reporters].filter((r) => r !== 'master').length,
      master: c.reporters.has('master'),
    }));
    for (const [redis, l] of this.links) conditions.push({ ...conditionStatus(`connection\0${this.perRedis ? redis : ''}`, l.since, l.message), workers: 0, master: true });
    return statusOf(conditions);
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
    if (this.held.delete(String(pid))) this.changed();
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

  /** Keeps what `who` is in, for the status file; tells the master when that changed. */
  private hold(who: string, key: string, trouble: RedisTrouble): void {
    let mine = this.held.get(who);
    if (trouble.state === 'down') {
      if (mine?.has(key)) return;
      if (!mine) this.held.set(who, (mine = new Map()));
      mine.set(key, { since: this.now(), message: withoutScript(trouble.message) });
    } else {
      if (!mine?.delete(key)) return;
      if (mine.size === 0) this.held.delete(who);
    }
    this.changed();
  }

  private close(key: string): void {
    const c = this.open.get(key)!;
    this.open.delete(key);
    const [condition, where] = key.split('\0') as [string, string];
    this.logger.info(messages.redisTroubleEnded(condition, this.now() - c.since, where));
  }
}

function conditionStatus(key: string, since: number, message: string): RedisConditionStatus {
  const [condition, redis] = key.split('\0') as [string, string];
  return { condition, message, since: new Date(since).toISOString(), ...(redis ? { redis } : {}) };
}

/** `down` with the oldest condition's start while any lasts; `up` with none. */
function statusOf(conditions: RedisConditionStatus[]): RedisStatus {
  if (conditions.length === 0) return { state: 'up', since: null, conditions: [] };
  conditions.sort((a, b) => a.since.localeCompare(b.since));
  return { state: 'down', since: conditions[0]!.since, conditions };
}
