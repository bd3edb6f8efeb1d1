// The chaos harness: the full chain (start-server → resque-starter → workers) on a redis-server,
// a stream of jobs that record every execution in a file (so losses and duplicates can be
// counted whatever happens to Redis or to the processes), seeded randomness, and the checks
// every scenario ends with. Used by test/chaos/*.test.ts and, at a larger scale, bench/chaos.mjs.
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startRedis, type RedisOptions, type TestRedis } from '../helpers/redis.js';
import { slow, slowness } from '../helpers/slowness.js';
import { BIN, ROOT, spawnNode, spawnTracked, type Spawned } from '../helpers/spawn.js';
import { assertNoUnexpectedAlarms, type ExpectedAlarm } from '../helpers/log-audit.js';
import { pidAlive, pollUntil } from '../helpers/wait.js';
import { resqueModuleEnv, type StatusFile } from '../fixtures/rs-harness.js';
import { WORKER_TITLE_START } from '../../packages/resque-starter/src/status.js';

/** Scale factor: 1 in the test suite; bench/chaos.mjs raises it (CHAOS_SCALE) for longer runs. */
export const SCALE = Math.max(1, Number(process.env.CHAOS_SCALE ?? 1) || 1);

/**
 * A scenario's seed: its fixed number, plus CHAOS_SEED_OFFSET (bench/chaos.mjs varies it between
 * rounds). A failure prints the seed; rerun with the offset that makes it.
 */
export function seedOf(n: number): number {
  return n + (Number(process.env.CHAOS_SEED_OFFSET ?? 0) || 0);
}

/** mulberry32: a small seeded PRNG, so a failing scenario replays with the same choices. */
export function rng(seed: number): { next(): number; int(lo: number, hi: number): number; pick<T>(a: readonly T[]): T } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(next() * arr.length)]!,
  };
}

export interface ChaosConf {
  concurrency: number;
  /** Owner-lock lifetime in seconds (short, so frozen workers are recovered quickly). */
  lockTimeout?: number;
  readyTimeout?: number;
  stopTimeout?: number;
  /** Crash-loop rule; scenarios that kill many workers on purpose raise `deaths`. */
  crashLoop?: { deaths: number; window: number; delay: number; maxDelay: number };
  /** Put `redis` in the config (default: the workers take it from REDIS_URL). */
  redisInConfig?: boolean;
  /** Extra statements at the top of conf.ts (after the imports). */
  prelude?: string;
  /** Extra fields of defineConfig. */
  extra?: string;
  /** Extra entries of `jobs` (e.g. a class with `retry` options). */
  jobs?: string;
}

export interface Execution {
  what: 'start' | 'done';
  id: string;
  pid: number;
  t: number;
}

export interface ChaosResult {
  scenario: string;
  seed: number;
  jobs: number;
  lost: number;
  duplicates: number;
  orphans: number;
  /** Resque registrations, in-flight lists and owner locks left after a clean stop. */
  stale: number;
  /** Entries in `failed` that are not the poison jobs meant to fail, and poison jobs missing from it. */
  unexpectedFailed: number;
  /** What the scenario measures as its recovery (ms), and what that is. */
  recoveryMs: number | undefined;
  recoveryWhat: string;
  notes: string[];
  /** The run's measured slowness factor (deadlines were scaled by it). */
  slowness: number;
}

/** A second chain on the same namespace and records file (another host on the same Redis). */
export interface PeerOptions {
  /** Names the peer's directory and its process mark (`CHAOS_NS=<ns>/<name>`). */
  name: string;
  conf?: ChaosConf;
}

/** One scenario's world: a directory with conf.ts, the records file, the chain's pid/status files. */
export class ChaosEnv {
  readonly dir = mkdtempSync(join(mkdirSync(join(ROOT, 'tmp'), { recursive: true }) ?? join(ROOT, 'tmp'), 'chaos-'));
  readonly ns: string;
  /** The mark of this env's processes (CHAOS_NS): the namespace, or `<ns>/<peer name>` for a peer. */
  readonly tag: string;
  readonly conf = join(this.dir, 'conf.ts');
  readonly records: string;
  readonly masterPidFile = join(this.dir, 'master.pid');
  readonly statusFile = join(this.dir, 'status.json');
  readonly ssPidFile = join(this.dir, 'ss.pid');
  readonly ssStatusFile = join(this.dir, 'ss.status');
  readonly runtimeDir = join(this.dir, 'run');
  /** Every chain started in this env; `stopAll` stops them. */
  private readonly chains: Spawned[] = [];
  /** The [error]/SIGKILL lines this scenario causes on purpose (everything else fails it). */
  private readonly alarms: ExpectedAlarm[] = [];

  /** Declares an alarm line the scenario causes on purpose; as narrow as the scenario allows. */
  expectAlarm(pattern: RegExp, why: string): this {
    this.alarms.push({ pattern, why });
    return this;
  }

  /** unicorn's check_stderr: every chain's output, once stopped, has no alarm the scenario did not declare. */
  auditLogs(): void {
    assertNoUnexpectedAlarms(this.chains, this.alarms);
  }

  constructor(
    readonly redis: TestRedis,
    readonly scenario: string,
    readonly seed: number,
    conf: ChaosConf,
    peerOf?: { env: ChaosEnv; name: string },
  ) {
    this.ns = peerOf ? peerOf.env.ns : redis.namespace();
    this.tag = peerOf ? `${this.ns}/${peerOf.name}` : this.ns;
    this.records = peerOf ? peerOf.env.records : join(this.dir, 'records.log');
    if (!peerOf) writeFileSync(this.records, '');
    this.writeConf(conf);
  }

  /** Workers the current conf.ts asks for (what `startChain` waits for). */
  concurrency = 0;

  writeConf(c: ChaosConf): void {
    this.concurrency = c.concurrency;
    writeFileSync(this.conf, renderChaosConf(this, c));
  }

  /** Replaces conf.ts with text that does not load (a syntax error on line 3). */
  breakConf(): void {
    writeFileSync(this.conf, `import { defineConfig } from '@baton/resque-starter';\n\nexport default defineConfig({ concurrency: , });\n`);
  }

  env(): Record<string, string> {
    return {
      RESQUE_STARTER_RUNTIME_DIR: this.runtimeDir,
      RS_TEST_NS: this.ns,
      CHAOS_NS: this.tag,
      REDIS_URL: this.redis.url,
      BATON_LOG_LEVEL: 'info',
      ...resqueModuleEnv(),
    };
  }

  /**
   * start-server (ours) → resque-starter -c conf.ts, with the README's recommended flags.
   * `via` runs it through a command that execs the rest (e.g. `unshare --uts … exec "$@"`):
   * the process tree is then the same, under another host name.
   */
  chain(extraArgs: string[] = [], via: string[] = []): Spawned {
    const args = [BIN.startServer, `--pid-file=${this.ssPidFile}`, `--status-file=${this.ssStatusFile}`, '--signal-on-hup=CONT', `--interval=${process.env.CHAOS_SS_INTERVAL ?? '0.3'}`, ...extraArgs, '--', process.execPath, BIN.resqueStarter, '-c', this.conf];
    const label = `start-server [${this.scenario}${this.tag === this.ns ? '' : ` ${this.tag.slice(this.ns.length + 1)}`}, seed ${this.seed}]`;
    const sp = via.length > 0 ? spawnTracked(via[0]!, [...via.slice(1), process.execPath, ...args], { label, env: this.env() }) : spawnNode(args[0]!, args.slice(1), { label, env: this.env() });
    this.chains.push(sp);
    return sp;
  }

  /** `chain()`, then wait until its last worker slot is ready. */
  async startChain(extraArgs: string[] = [], via: string[] = []): Promise<Spawned> {
    const sp = this.chain(extraArgs, via);
    await sp.waitForLine(new RegExp(`worker\\[${this.concurrency - 1}\\] \\d+ ready`), { timeoutMs: slow(20_000) });
    return sp;
  }

  masterPid(): number | undefined {
    try {
      const n = Number(readFileSync(this.masterPidFile, 'utf8').trim());
      return Number.isInteger(n) && n > 1 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /** resque-starter's status file (the serving master's view), if readable. */
  statusFileJson(): StatusFile | undefined {
    try {
      return JSON.parse(readFileSync(this.statusFile, 'utf8')) as StatusFile;
    } catch {
      return undefined;
    }
  }

  /** Enqueues `Chaos` jobs (id, ms) in Resque's format; returns their ids. */
  async enqueue(r: Redis, n: number, ms: (i: number) => number, prefix = 'j', queue = 'chaos'): Promise<string[]> {
    const ids: string[] = [];
    const batch: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = `${prefix}${i}`;
      ids.push(id);
      batch.push(JSON.stringify({ class: 'Chaos', args: [id, ms(i)] }));
    }
    await r.sadd(`${this.ns}:queues`, queue);
    for (let i = 0; i < batch.length; i += 1000) await r.rpush(`${this.ns}:queue:${queue}`, ...batch.slice(i, i + 1000));
    return ids;
  }

  /** Pushes raw payloads (poison) as they are. */
  async pushRaw(r: Redis, raws: string[], queue = 'chaos'): Promise<void> {
    await r.sadd(`${this.ns}:queues`, queue);
    await r.rpush(`${this.ns}:queue:${queue}`, ...raws);
  }

  executions(): Execution[] {
    const out: Execution[] = [];
    for (const line of readFileSync(this.records, 'utf8').split('\n')) {
      const [what, id, pid, t] = line.split(' ');
      if ((what === 'start' || what === 'done') && id) out.push({ what, id, pid: Number(pid), t: Number(t) });
    }
    return out;
  }

  /** How many times each id has been performed to the end. */
  doneCounts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const e of this.executions()) if (e.what === 'done') m.set(e.id, (m.get(e.id) ?? 0) + 1);
    return m;
  }

  /** Waits until every id is done; `idleTimeoutMs` is for an idle machine (scaled by the slowness). */
  async waitAllDone(ids: readonly string[], idleTimeoutMs = 60_000): Promise<void> {
    const timeoutMs = slow(idleTimeoutMs);
    let missing = ids.length;
    try {
      await pollUntil(
        () => {
          const done = this.doneCounts();
          missing = ids.filter((id) => !done.has(id)).length;
          return missing === 0;
        },
        { what: `${ids.length} jobs of ${this.scenario} to be done`, timeoutMs, intervalMs: 50 },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message} (${missing} missing)`, { cause: err });
    }
  }

  /** Pids of every live process of this env's chain (found by the CHAOS_NS mark in /proc/<pid>/environ). */
  treePids(): number[] {
    return findByEnv(`CHAOS_NS=${this.tag}`);
  }

  /**
   * Live worker processes of this env (both generations), in pid order (seeded picks replay):
   * started for a slot, or a spare (a rolling restart's process started ahead of need) once it has
   * been handed a slot and taken a worker's title, before it loads any app code.
   */
  workerPids(): number[] {
    const slotted = findByEnv(`CHAOS_NS=${this.tag}`, 'RESQUE_STARTER_SLOT=');
    const handed = this.#spares().filter((pid) => hasWorkerTitle(pid));
    return [...slotted, ...handed].sort((a, b) => a - b);
  }

  /** Spares not handed a slot yet: our code loaded, no app code; neither a master nor a worker. */
  idleSparePids(): number[] {
    return this.#spares().filter((pid) => !hasWorkerTitle(pid));
  }

  #spares(): number[] {
    return findByEnv(`CHAOS_NS=${this.tag}`, 'RESQUE_STARTER_SPARE=1');
  }

  /** Ids of the jobs `pid` has started and not finished (what it holds when it is killed). */
  inFlight(pid: number): string[] {
    const ex = this.executions().filter((x) => x.pid === pid);
    const done = new Set(ex.filter((x) => x.what === 'done').map((x) => x.id));
    return ex.filter((x) => x.what === 'start' && !done.has(x.id)).map((x) => x.id);
  }

  /** Stops every chain (TERM to start-server, as an operator would) and waits for the tree (idle-machine deadline, scaled). */
  async stopAll(idleTimeoutMs = 20_000): Promise<number> {
    for (const c of this.chains) if (!c.exit) c.kill('SIGTERM');
    await Promise.all(this.chains.map((c) => (c.exit ? undefined : c.waitForExit({ timeoutMs: slow(idleTimeoutMs) }).catch(() => undefined))));
    return await this.orphansAfter(10_000);
  }

  /** Waits up to `ms` (idle machine; scaled by the slowness) for every process of the tree to be gone; returns how many are left (then kills them). */
  async orphansAfter(ms: number): Promise<number> {
    try {
      await pollUntil(() => this.treePids().length === 0, { timeoutMs: slow(ms), what: 'the process tree to exit' });
      return 0;
    } catch {
      const left = this.treePids();
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      return left.length;
    }
  }

  /** Registrations, in-flight lists, owner locks and heartbeats left in Redis. */
  async staleState(r: Redis): Promise<{ count: number; what: string[] }> {
    const ns = this.ns;
    const [workers, batonWorkers, heartbeat, keys] = await Promise.all([
      r.smembers(`${ns}:workers`),
      r.smembers(`${ns}:baton:workers`),
      r.hkeys(`${ns}:workers:heartbeat`),
      scanKeys(r, `${ns}:*`),
    ]);
    const leftKeys = keys.filter((k) => /:(worker:|baton:inflight:|baton:lock:)/.test(k));
    const what = [...workers.map((w) => `workers ∋ ${w}`), ...batonWorkers.map((w) => `baton:workers ∋ ${w}`), ...heartbeat.map((w) => `heartbeat ${w}`), ...leftKeys];
    return { count: what.length, what };
  }

  /** Ids in `failed` (first arg of the payload, or the raw payload when it has none). */
  async failedIds(r: Redis): Promise<string[]> {
    return (await r.lrange(`${this.ns}:failed`, 0, -1)).map((raw) => {
      const f = JSON.parse(raw) as { payload: unknown };
      const p = f.payload as { args?: unknown } | string;
      if (typeof p === 'object' && p && Array.isArray(p.args) && typeof p.args[0] === 'string') return p.args[0];
      return typeof p === 'string' ? `raw:${p}` : `raw:${JSON.stringify(p)}`;
    });
  }

  /**
   * The end of every scenario: stop the tree (unless already gone), then count losses,
   * duplicates, orphans, stale registrations and unexpected failures.
   */
  async finish(
    r: Redis,
    o: { ids: readonly string[]; expectFailed?: readonly string[]; recoveryMs?: number; recoveryWhat: string; notes?: string[]; orphans?: number },
  ): Promise<ChaosResult> {
    const orphans = (o.orphans ?? 0) + (await this.stopAll());
    const done = this.doneCounts();
    const lost = o.ids.filter((id) => !done.has(id)).length;
    let duplicates = 0;
    for (const id of o.ids) duplicates += Math.max(0, (done.get(id) ?? 0) - 1);
    const stale = await this.staleState(r);
    const failed = await this.failedIds(r);
    const expect = new Set(o.expectFailed ?? []);
    const unexpectedFailed = failed.filter((id) => !expect.has(id)).length + [...expect].filter((id) => !failed.includes(id)).length;
    const notes = [...(o.notes ?? [])];
    if (stale.count > 0) notes.push(`stale: ${stale.what.slice(0, 5).join(', ')}`);
    if (unexpectedFailed > 0) notes.push(`failed holds ${JSON.stringify(failed.slice(0, 5))}, expected ${JSON.stringify([...expect].slice(0, 5))}`);
    const result: ChaosResult = {
      scenario: this.scenario,
      seed: this.seed,
      jobs: o.ids.length + expect.size,
      lost,
      duplicates,
      orphans,
      stale: stale.count,
      unexpectedFailed,
      recoveryMs: o.recoveryMs,
      recoveryWhat: o.recoveryWhat,
      notes,
      slowness: slowness(),
    };
    if (process.env.CHAOS_REPORT) appendFileSync(process.env.CHAOS_REPORT, `${JSON.stringify(result)}\n`);
    return result;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The hooks every chaos file needs: its own redis-server (with `options`), an admin client, and
 * after each scenario its chain stopped (a failed one may leave it running) before its
 * directory goes. `setup` makes a scenario's env; `redis` and `r` are valid inside tests.
 */
export function chaosSuite(options: RedisOptions = {}): {
  readonly redis: TestRedis;
  readonly r: Redis;
  setup(scenario: string, seed: number, conf: ChaosConf, on?: TestRedis): ChaosEnv;
  /** A second env on `env`'s namespace and records file, with its own files and process mark. */
  peer(env: ChaosEnv, o: PeerOptions): ChaosEnv;
} {
  let redis: TestRedis | undefined;
  let r: Redis | undefined;
  const envs: ChaosEnv[] = [];
  beforeAll(async () => {
    redis = await startRedis(options);
    r = redis.client();
  });
  afterAll(async () => {
    await redis?.close();
  });
  afterEach(async (ctx) => {
    const failed = ctx.task.result?.state === 'fail';
    const audits: Error[] = [];
    for (const e of envs.splice(0)) {
      await e.stopAll();
      try {
        if (!failed) e.auditLogs();
      } catch (err) {
        audits.push(err as Error);
      }
      e.cleanup();
    }
    if (audits.length > 0) throw new Error(audits.map((a) => a.message).join('\n'));
  });
  return {
    get redis() {
      return redis!;
    },
    get r() {
      return r!;
    },
    setup(scenario, seed, conf, on) {
      const e = new ChaosEnv(on ?? redis!, scenario, seed, conf);
      envs.push(e);
      return e;
    },
    peer(env, o) {
      const e = new ChaosEnv(env.redis, env.scenario, env.seed, o.conf ?? { concurrency: env.concurrency }, { env, name: o.name });
      envs.push(e);
      return e;
    },
  };
}

/**
 * The alarm lines chaos scenarios cause on purpose; each scenario declares the ones it causes
 * (`env.expectAlarm(ALARMS.workerKilled, 'why')`), and any other [error]/SIGKILL line fails it.
 */
export const ALARMS = {
  /** A worker (`worker[3]`, or `worker[mail/1]` in a group) the test killed with -9: a death, or (already being stopped: scaled down, replaced) an exit by SIGKILL at info. */
  workerKilled:
    /\[error\] \[resque-starter\] worker\[(?:[\w.-]+\/)?\d+\] \d+ died (before it was ready )?\(killed by SIGKILL \(Forced termination\)\); its jobs go back to their queues$|\[info\] \[resque-starter\] worker\[(?:[\w.-]+\/)?\d+\] \d+ exited \([^)]*\): killed by SIGKILL \(Forced termination\)$/,
  /**
   * start-server on a generation the test killed with -9 (old, current, or still being checked;
   * or the current one while its successor is still being checked: a warning, the successor takes over).
   */
  generationKilled: (pid: number) =>
    new RegExp(
      `\\[(error|warn|info)\\] \\[start-server\\] (old worker ${pid} died, status:9|worker ${pid} died unexpectedly with status:9|new worker ${pid} seems to have failed to start, exit status:9|worker ${pid} \\(generation \\d+\\) exited with status:9) \\(killed by SIGKILL`,
    ),
  /** start-server on a new generation that gave up with exit `code`, before or after --interval. */
  generationExit: (code: number) =>
    new RegExp(`\\[error\\] \\[start-server\\] (worker \\d+ died unexpectedly|new worker \\d+ seems to have failed to start).*\\(exit code ${code}\\)`),
  rolloutAborted: /\[error\] \[resque-starter\] rolling restart aborted: new worker\[\d+\] failed/,
  workerCrashedAtStart: (code: number) => new RegExp(`\\[error\\] \\[resque-starter\\] worker\\[\\d+\\] \\d+ died before it was ready \\(exit code ${code}\\)`),
  workerNotReady: /\[error\] \[resque-starter\] worker\[\d+\] \d+ not ready after \d+s: killing it$/,
  notReadyKilled: /\[info\] \[resque-starter\] worker\[\d+\] \d+ exited \(not ready in time, kill stop\): killed by SIGKILL/,
};

/** What every scenario must end with: nothing lost, nothing orphaned, nothing stale, no surprise in `failed`. */
export function expectClean(res: ChaosResult): void {
  expect(res, JSON.stringify(res)).toMatchObject({ lost: 0, orphans: 0, stale: 0, unexpectedFailed: 0 });
}

/** Samples the number of live worker processes until stopped; keeps the maximum. */
export function sampleWorkers(env: ChaosEnv, everyMs = 10): { stop(): number } {
  let max = 0;
  const t = setInterval(() => {
    max = Math.max(max, env.workerPids().length);
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return max;
    },
  };
}

export const since = (sp: Spawned) => ({ from: sp.output.length });

export function alive(pid: number | undefined): boolean {
  return pid !== undefined && pidAlive(pid);
}

function renderChaosConf(env: ChaosEnv, c: ChaosConf): string {
  const crash = c.crashLoop ?? { deaths: 100, window: 10, delay: 0.2, maxDelay: 1 };
  return `import { appendFileSync } from 'node:fs';
import { defineConfig } from '@baton/resque-starter';

const RECORDS = ${JSON.stringify(env.records)};
const record = (what: string, id: string) => appendFileSync(RECORDS, what + ' ' + id + ' ' + process.pid + ' ' + Date.now() + '\\n');
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
${c.prelude ?? ''}
export default defineConfig({
  concurrency: ${c.concurrency},
  queues: ['chaos'],
  ${c.redisInConfig ? `redis: ${JSON.stringify(env.redis.url)},` : ''}
  namespace: ${JSON.stringify(env.ns)},
  pidFile: 'master.pid',
  statusFile: 'status.json',
  lockTimeout: ${c.lockTimeout ?? 2},
  stopTimeout: ${c.stopTimeout ?? 30},
  termTimeout: 2,
  readyTimeout: ${c.readyTimeout ?? 15},
  statusInterval: 0.2,
  crashLoop: ${JSON.stringify(crash)},
  jobs: {
    /** Records its start, works for ms (aborted on a fast stop or a lapsed lock), records its end. */
    async Chaos(this: { signal: AbortSignal }, id: string, ms: number) {
      record('start', id);
      if (ms > 0) await sleep(ms, this.signal);
      record('done', id);
    },
    /** Fails every time (with a non-Error, the worst kind). */
    Fail(id: string) {
      record('start', id);
      throw 'meant to fail: ' + id;
    },
    /** Kills its own worker every time. */
    Kill(id: string) {
      record('start', id);
      process.kill(process.pid, 'SIGKILL');
    },
    ${c.jobs ?? ''}
  },
  ${c.extra ?? ''}
});
`;
}

function hasWorkerTitle(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith(WORKER_TITLE_START);
  } catch {
    return false; // gone
  }
}

function findByEnv(...needles: string[]): number[] {
  const out: number[] = [];
  for (const e of safeReaddir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      // "K=V" must be a whole entry; "K=" (ending in =) only has to start one.
      const env = `\0${readFileSync(`/proc/${e}/environ`, 'latin1')}`;
      if (!needles.every((n) => env.includes(n.endsWith('=') ? `\0${n}` : `\0${n}\0`))) continue;
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && state !== 'X') out.push(Number(e));
    } catch {
      // gone or not ours
    }
  }
  return out;
}

function safeReaddir(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

async function scanKeys(r: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out;
}
