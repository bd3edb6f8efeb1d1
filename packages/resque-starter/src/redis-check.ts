import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import { describeRedis, type ResolvedConfig } from './config.js';
import { StartupError } from './errors.js';
import { inspectTopology, openCheckClient, type TopologyReport } from './redis-topology.js';

// What a worker will ask of Redis, tried once at start-up with harmless commands on keys of its
// own (`<namespace>:baton:check:<pid>:*`: each gets a TTL of PROBE_TTL_MS in the same round trip
// that creates it, and all are deleted when the check ends, whether it passed, failed or timed
// out), so that an ACL user without, say, `@scripting`, or a server with a needed command renamed
// away, fails the start with one line instead of workers that report ready and then run nothing.
// `ACL DRYRUN` would need admin rights, so we simply try. Only what the workers cannot do without
// counts: ioredis ignores a failed `CLIENT SETNAME`, so CLIENT is not tried, and PING (ours) only
// has to be answered.

/** What `checkRedis` found on a server that passed. */
export interface RedisReport {
  /** `redis_version` of INFO (or HELLO when INFO is refused); undefined when neither answers. */
  version: string | undefined;
  /** `redis_mode` (standalone, cluster, sentinel), when known. */
  mode: string | undefined;
  /** The commands tried, each found and permitted (those run inside the Lua scripts included). */
  commands: string[];
  /** The node reached, its role and replicas; Sentinel's settings; the Cluster slot. */
  topology: TopologyReport;
}

/**
 * Why: a new generation must fail fast (non-zero) while the old one still serves: Redis must
 * answer, and let this user run every command and script the workers need. Throws a
 * StartupError whose message is one line naming what is missing.
 */
export async function checkRedis(config: ResolvedConfig): Promise<RedisReport> {
  return probeRedis(config);
}

/** `checkRedis`, returning what it found (`check --redis` prints it). */
export async function probeRedis(config: ResolvedConfig): Promise<RedisReport> {
  const where = describeRedis(config.redis);
  // A Cluster is typed as a Redis here: the probe uses the command interface they share.
  const client = openCheckClient(config.redis, config.redisTimeoutMs) as Redis;
  // The connection's own error says why (WRONGPASS, ECONNREFUSED); the rejected call often only
  // says "Connection is closed".
  let cause: Error | undefined;
  client.on('error', (err: Error) => (cause ??= err));
  const deadline = new AbortController();
  const timedOut = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${config.redisTimeoutMs / 1000}s`)), config.redisTimeoutMs);
    deadline.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });
  timedOut.catch(() => undefined);
  const keys = probeKeys(config);
  try {
    try {
      await Promise.race([
        (async () => {
          await client.connect();
          // Any answer will do: a PING renamed away ("unknown command") is nothing the workers need.
          await client.ping().catch((err: Error) => {
            if (classifyRefusal(String(err?.message)) !== 'unknown') throw err;
          });
        })(),
        timedOut,
      ]);
    } catch (err) {
      throw new StartupError(`Redis at ${where} is not reachable: ${(cause ?? (err as Error)).message}`, { cause: cause ?? err });
    }
    let topology: TopologyReport;
    try {
      topology = await Promise.race([inspectTopology(client, config), timedOut]);
    } catch (err) {
      throw new StartupError(`Redis at ${where}: the topology check failed: ${firstLine((cause ?? (err as Error)).message)}`, { cause: cause ?? err });
    }
    if (topology.role === 'sentinel') {
      throw new StartupError(
        `Redis at ${where} is a Sentinel, not a Redis server: give the Sentinels and the master name they monitor, \`redis: { sentinels: [{ host, port }], name: 'mymaster' }\``,
      );
    }
    if (topology.role === 'slave') {
      throw new StartupError(
        `Redis at ${where} is a read-only replica${topology.reached ? ` (${topology.reached})` : ''}: the workers must write; point \`redis\` at the primary, or at the Sentinels that know it`,
      );
    }
    let probe: Probe;
    try {
      probe = await Promise.race([probePermissions(client, config, keys, deadline.signal), timedOut]);
    } catch (err) {
      throw new StartupError(`Redis at ${where}: the permission check failed: ${firstLine((cause ?? (err as Error)).message)}`, { cause: cause ?? err });
    }
    if (probe.refused.length > 0) throw new StartupError(renderMissing(where, probe.refused, config.namespace));
    return { version: probe.server.version, mode: probe.server.mode, commands: probe.tried, topology };
  } finally {
    // Stops the probe issuing further commands; the DEL queues behind any still in flight.
    deadline.abort(new Error('the Redis check ended'));
    if (client.status === 'ready') await removeProbeKeys(client, keys, Math.min(1000, config.redisTimeoutMs));
    client.disconnect();
  }
}

/**
 * One refusal: the command, and whether the command itself, a key or a channel was refused
 * (NOPERM), or the server does not know the command (`unknown`: renamed or disabled with
 * `rename-command`).
 */
export interface Refusal {
  command: string;
  refused: 'command' | 'key' | 'channel' | 'unknown';
}

/**
 * Why: one place decides what an error reply means for the check: a NOPERM for the command, a
 * key or a channel, an unknown (renamed) command, or (undefined) anything else, which is no
 * refusal and ends the check as a failure.
 */
export function classifyRefusal(message: string): Refusal['refused'] | undefined {
  // Inside a script, Redis 7.0 words an ACL refusal "ERR The user executing the script can't …".
  if (message.startsWith('NOPERM') || /^ERR The user executing the script can't/.test(message)) return /\bkeys?\b/i.test(message) ? 'key' : /\bchannels?\b/i.test(message) ? 'channel' : 'command';
  // Redis: "ERR unknown command 'lset', …", "ERR unknown subcommand …", and from a script
  // "ERR Unknown Redis command called from script".
  if (/^ERR unknown (?:sub)?command\b|^ERR Unknown Redis command called from script/i.test(message)) return 'unknown';
  return undefined;
}

/**
 * Why: one line that names every refused command and how to grant it, e.g.
 * `Redis at … refuses what the workers need (NOPERM): commands EVAL, EVALSHA (grant +@scripting)`.
 */
export function renderMissing(where: string, missing: readonly Refusal[], namespace: string): string {
  const parts: string[] = [];
  const commands = missing.filter((m) => m.refused === 'command').map((m) => m.command);
  if (commands.length > 0) {
    const hints = new Set(commands.map((c) => HINTS[c.split(' ')[0]!] ?? `+${c.toLowerCase().replace(' ', '|')}`));
    parts.push(`commands ${commands.join(', ')} (grant ${[...hints].join(' ')})`);
  }
  const keys = missing.filter((m) => m.refused === 'key').map((m) => m.command);
  if (keys.length > 0) parts.push(`keys for ${keys.join(', ')} (grant ~${namespace}:*)`);
  const channels = missing.filter((m) => m.refused === 'channel').map((m) => m.command);
  if (channels.length > 0) parts.push(`the channel ${namespace}:baton:enqueued for ${channels.join(', ')} (grant &${namespace}:*)`);
  const unknown = missing.filter((m) => m.refused === 'unknown').map((m) => (m.command === 'INFO' ? "INFO (ioredis's ready check)" : m.command));
  const lacks = `commands the workers need: ${unknown.join(', ')} (renamed or disabled with rename-command?)`;
  if (parts.length === 0) return `Redis at ${where} does not know ${lacks}`;
  const refuses = `Redis at ${where} refuses what the workers need (NOPERM): ${parts.join('; ')}`;
  return unknown.length > 0 ? `${refuses}; and does not know ${lacks}` : refuses;
}

// --- internal ---

const HINTS: Record<string, string> = {
  EVAL: '+@scripting',
  EVALSHA: '+@scripting',
  SUBSCRIBE: '+@pubsub',
  PUBLISH: '+@pubsub',
  MULTI: '+@transaction',
};

/** Every probe key expires this long after it is created, whatever happens to the check. */
const PROBE_TTL_MS = 60_000;

interface ProbeKeys {
  s: string;
  l: string;
  set: string;
  h: string;
}

function probeKeys(config: ResolvedConfig): ProbeKeys {
  const base = `${config.namespace}:baton:check:${process.pid}`;
  return { s: `${base}:s`, l: `${base}:l`, set: `${base}:set`, h: `${base}:h` };
}

/** Best effort within `boundMs`: a key whose DEL is refused or lost still expires (PROBE_TTL_MS). */
async function removeProbeKeys(client: Redis, k: ProbeKeys, boundMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([client.del(k.s, k.l, k.set, k.h), new Promise((resolve) => (timer = setTimeout(resolve, boundMs)))]);
  } catch {
    // refused (NOPERM), or the connection is in subscriber mode or gone: the TTLs remain
  } finally {
    clearTimeout(timer);
  }
}

/** Commands run by the workers' Lua scripts, each tried with pcall on the probe keys. */
const SCRIPT_PROBE = `
local s, l, set, h = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ttl = tonumber(ARGV[2])
local refused = {}
local function try(name, ...)
  local ok = redis.pcall(name, ...)
  if type(ok) == 'table' and ok.err then
    table.insert(refused, name)
    table.insert(refused, ok.err)
  end
end
try('SET', s, '1', 'PX', ttl)
try('GET', s)
try('EXISTS', s)
try('INCR', s)
try('INCRBY', s, 1)
try('EXPIRE', s, 60)
try('DEL', s)
try('RPUSH', l, 'x')
try('LPUSH', l, 'x')
try('LINDEX', l, 0)
try('LLEN', l)
try('LRANGE', l, 0, -1)
try('LTRIM', l, 0, -1)
try('LPOP', l)
try('DEL', l)
try('SADD', set, 'x')
try('SREM', set, 'x')
try('HDEL', h, 'f')
try('PUBLISH', ARGV[1], '')
-- Whatever was refused above (a DEL, an SREM), no probe key outlives the check for long.
for _, k in ipairs(KEYS) do redis.pcall('PEXPIRE', k, ttl) end
return refused
`;

/** The commands SCRIPT_PROBE runs inside the scripts. */
const SCRIPT_COMMANDS = ['SET', 'GET', 'EXISTS', 'INCR', 'INCRBY', 'EXPIRE', 'DEL', 'RPUSH', 'LPUSH', 'LINDEX', 'LLEN', 'LRANGE', 'LTRIM', 'LPOP', 'SADD', 'SREM', 'HDEL', 'PUBLISH', 'PEXPIRE'];

interface Probe {
  /** What was refused; empty when all is allowed. */
  refused: Refusal[];
  /** Every command tried (directly or from the script probe). */
  tried: string[];
  server: { version: string | undefined; mode: string | undefined };
}

/** `redis_version` and `redis_mode` of an INFO reply. */
export function parseInfoServer(info: string): { version: string | undefined; mode: string | undefined } {
  const field = (name: string) => new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(info)?.[1]?.trim() || undefined;
  return { version: field('redis_version'), mode: field('redis_mode') };
}

/** `version` and `mode` of a HELLO reply (RESP2: a flat list of names and values). */
export function parseHello(reply: unknown): { version: string | undefined; mode: string | undefined } {
  const out: { version: string | undefined; mode: string | undefined } = { version: undefined, mode: undefined };
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    if (reply[i] === 'version' && typeof reply[i + 1] === 'string') out.version = reply[i + 1] as string;
    if (reply[i] === 'mode' && typeof reply[i + 1] === 'string') out.mode = reply[i + 1] as string;
  }
  return out;
}

/**
 * Returns what was refused and what was tried. Throws on any other error, and once `signal`
 * is aborted (the check timed out): it then sends nothing more.
 */
async function probePermissions(client: Redis, config: ResolvedConfig, k: ProbeKeys, signal: AbortSignal): Promise<Probe> {
  const channel = `${config.namespace}:baton:enqueued`;
  const refused: Refusal[] = [];
  const tried = new Set<string>();
  let server: Probe['server'] = { version: undefined, mode: undefined };
  const refuse = (command: string, message: string): boolean => {
    const kind = classifyRefusal(message);
    if (kind === undefined) return false;
    if (!refused.some((r) => r.command === command && r.refused === kind)) refused.push({ command, refused: kind });
    return true;
  };
  const attempt = async (name: string, run: () => Promise<unknown>): Promise<unknown> => {
    signal.throwIfAborted();
    tried.add(name);
    try {
      return await run();
    } catch (err) {
      if (!refuse(name, String((err as Error)?.message))) throw err;
      return undefined;
    }
  };
  /** Creates a key and gives it its TTL in one round trip (a pipeline: Redis runs both in turn). */
  const created = (name: string, key: string, create: (p: ChainableCommander) => ChainableCommander) =>
    attempt(name, async () => {
      const res = await create(client.pipeline()).pexpire(key, PROBE_TTL_MS).exec();
      const err = res?.[0]?.[0];
      if (err) throw err;
      return res?.[0]?.[1];
    });

  // ioredis's ready check on every worker connection: a NOPERM only makes it skip the check
  // (with a warning), an unknown INFO makes every connection fail.
  await attempt('INFO', async () => {
    try {
      server = parseInfoServer(await client.info('server'));
    } catch (err) {
      if (classifyRefusal(String((err as Error)?.message)) === 'unknown') throw err;
      // INFO refused: HELLO (Redis 6+, no arguments: stays RESP2) also names the version.
      server = parseHello(await client.call('HELLO').catch(() => undefined));
    }
  });
  // Data commands the workers and the master send directly.
  await attempt('SET', () => client.set(k.s, '1', 'PX', PROBE_TTL_MS));
  await attempt('GET', () => client.get(k.s));
  await attempt('MGET', () => client.mget(k.s));
  await attempt('EXISTS', () => client.exists(k.s));
  await created('RPUSH', k.l, (p) => p.rpush(k.l, 'x'));
  await attempt('LSET', () => client.lset(k.l, 0, 'x'));
  await attempt('LINDEX', () => client.lindex(k.l, 0));
  await attempt('LLEN', () => client.llen(k.l));
  await attempt('LRANGE', () => client.lrange(k.l, 0, -1));
  await attempt('LREM', () => client.lrem(k.l, 0, 'x'));
  await created('SADD', k.set, (p) => p.sadd(k.set, 'x'));
  await attempt('SISMEMBER', () => client.sismember(k.set, 'x'));
  await attempt('SMEMBERS', () => client.smembers(k.set));
  await attempt('SREM', () => client.srem(k.set, 'x'));
  await created('HSET', k.h, (p) => p.hset(k.h, 'f', 'v'));
  await attempt('HDEL', () => client.hdel(k.h, 'f'));
  await attempt('TIME', () => client.time());
  await attempt('MULTI', async () => {
    // TIME: no key, so a refused key cannot abort the transaction (EXECABORT).
    const res = await client.multi().time().exec();
    const err = res?.find(([e]) => e)?.[0];
    if (err) throw err;
  });

  // The Lua scripts: EVAL, then EVALSHA of the script EVAL just cached, and what the scripts call.
  const keys = [k.s, k.l, k.set, k.h];
  const fromScript = (await attempt('EVAL', () => client.eval(SCRIPT_PROBE, keys.length, ...keys, channel, PROBE_TTL_MS))) as string[] | undefined;
  if (fromScript !== undefined) {
    for (let i = 0; i + 1 < fromScript.length; i += 2) {
      if (!refuse(fromScript[i]!, fromScript[i + 1]!)) throw new Error(`${fromScript[i]} in a script: ${fromScript[i + 1]}`);
    }
    for (const c of SCRIPT_COMMANDS) tried.add(c);
    const sha = createHash('sha1').update(SCRIPT_PROBE).digest('hex');
    await attempt('EVALSHA', () => client.evalsha(sha, keys.length, ...keys, channel, PROBE_TTL_MS));
  } else {
    // An unknown sha: NOSCRIPT means EVALSHA itself is allowed, NOPERM that it is not.
    await attempt('EVALSHA', () => client.evalsha('0'.repeat(40), 0)).catch(() => undefined);
  }

  // Wake-ups: producers PUBLISH, idle workers SUBSCRIBE (unless they poll: dequeueInterval).
  await attempt('PUBLISH', () => client.publish(channel, ''));
  await attempt('DEL', () => client.del(k.s, k.l, k.set, k.h));
  if (config.dequeueInterval === undefined) {
    await attempt('SUBSCRIBE', async () => {
      await client.subscribe(channel);
      await client.unsubscribe(channel);
    });
  }
  return { refused, tried: [...tried], server };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!;
}
