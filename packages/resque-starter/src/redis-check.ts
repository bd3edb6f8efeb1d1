import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { describeRedis, type ResolvedConfig } from './config.js';
import { StartupError } from './errors.js';

// What a worker will ask of Redis, tried once at start-up with harmless commands on keys of its
// own (`<namespace>:baton:check:<pid>:*`, deleted at once and expiring anyway), so that an ACL
// user without, say, `@scripting` fails the start with one line instead of workers that report
// ready and then run nothing. `ACL DRYRUN` would need admin rights, so we simply try.

/**
 * Why: a new generation must fail fast (non-zero) while the old one still serves: Redis must
 * answer, and let this user run every command and script the workers need. Throws a
 * StartupError whose message is one line naming what is missing.
 */
export async function checkRedis(config: ResolvedConfig): Promise<void> {
  const where = describeRedis(config.redis);
  const common = {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: config.redisTimeoutMs,
    enableOfflineQueue: false,
    // We PING ourselves; ioredis's INFO-based ready check only warns when INFO is not allowed.
    enableReadyCheck: false,
  };
  const client = typeof config.redis === 'string' ? new Redis(config.redis, common) : new Redis({ ...config.redis, ...common });
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
  try {
    try {
      await Promise.race([
        (async () => {
          await client.connect();
          await client.ping();
        })(),
        timedOut,
      ]);
    } catch (err) {
      throw new StartupError(`Redis at ${where} is not reachable: ${(cause ?? (err as Error)).message}`, { cause: cause ?? err });
    }
    let missing: Refusal[];
    try {
      missing = await Promise.race([probePermissions(client, config), timedOut]);
    } catch (err) {
      throw new StartupError(`Redis at ${where}: the permission check failed: ${firstLine((cause ?? (err as Error)).message)}`, { cause: cause ?? err });
    }
    if (missing.length > 0) throw new StartupError(renderMissing(where, missing, config.namespace));
  } finally {
    deadline.abort();
    client.disconnect();
  }
}

/** One refusal: the command, and whether the command itself, a key or a channel was refused. */
export interface Refusal {
  command: string;
  refused: 'command' | 'key' | 'channel';
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
  return `Redis at ${where} refuses what the workers need (NOPERM): ${parts.join('; ')}`;
}

// --- internal ---

const HINTS: Record<string, string> = {
  EVAL: '+@scripting',
  EVALSHA: '+@scripting',
  SUBSCRIBE: '+@pubsub',
  PUBLISH: '+@pubsub',
  MULTI: '+@transaction',
  CLIENT: '+client|setname',
};

/** Commands run by the workers' Lua scripts, each tried with pcall on the probe keys. */
const SCRIPT_PROBE = `
local s, l, set, h = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local refused = {}
local function try(name, ...)
  local ok = redis.pcall(name, ...)
  if type(ok) == 'table' and ok.err and string.find(ok.err, 'NOPERM', 1, true) then
    table.insert(refused, name)
    table.insert(refused, ok.err)
  end
end
try('SET', s, '1', 'PX', 60000)
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
return refused
`;

/** Returns what was refused; empty when all is allowed. */
async function probePermissions(client: Redis, config: ResolvedConfig): Promise<Refusal[]> {
  const base = `${config.namespace}:baton:check:${process.pid}`;
  const k = { s: `${base}:s`, l: `${base}:l`, set: `${base}:set`, h: `${base}:h` };
  const channel = `${config.namespace}:baton:enqueued`;
  const refused: Refusal[] = [];
  const refuse = (command: string, message: string) => {
    const kind = /\bkeys?\b/i.test(message) ? 'key' : /\bchannels?\b/i.test(message) ? 'channel' : 'command';
    if (!refused.some((r) => r.command === command && r.refused === kind)) refused.push({ command, refused: kind });
  };
  const tried = async (name: string, run: () => Promise<unknown>): Promise<unknown> => {
    try {
      return await run();
    } catch (err) {
      const message = String((err as Error)?.message);
      if (!message.startsWith('NOPERM')) throw err;
      refuse(name, message);
      return undefined;
    }
  };

  // Data commands the workers and the master send directly.
  await tried('SET', () => client.set(k.s, '1', 'PX', 60_000));
  await tried('GET', () => client.get(k.s));
  await tried('MGET', () => client.mget(k.s));
  await tried('EXISTS', () => client.exists(k.s));
  await tried('RPUSH', () => client.rpush(k.l, 'x'));
  await tried('LSET', () => client.lset(k.l, 0, 'x'));
  await tried('LINDEX', () => client.lindex(k.l, 0));
  await tried('LLEN', () => client.llen(k.l));
  await tried('LRANGE', () => client.lrange(k.l, 0, -1));
  await tried('LREM', () => client.lrem(k.l, 0, 'x'));
  await tried('SADD', () => client.sadd(k.set, 'x'));
  await tried('SISMEMBER', () => client.sismember(k.set, 'x'));
  await tried('SMEMBERS', () => client.smembers(k.set));
  await tried('SREM', () => client.srem(k.set, 'x'));
  await tried('HSET', () => client.hset(k.h, 'f', 'v'));
  await tried('HDEL', () => client.hdel(k.h, 'f'));
  await tried('TIME', () => client.time());
  // The workers name their connections (ioredis `connectionName`).
  await tried('CLIENT SETNAME', () => client.client('SETNAME', `baton-resque:check:${process.pid}`));
  await tried('MULTI', async () => {
    const res = await client.multi().ping().exec();
    const err = res?.find(([e]) => e)?.[0];
    if (err) throw err;
  });

  // The Lua scripts: EVAL, then EVALSHA of the script EVAL just cached, and what the scripts call.
  const keys = [k.s, k.l, k.set, k.h];
  const fromScript = (await tried('EVAL', () => client.eval(SCRIPT_PROBE, keys.length, ...keys, channel))) as string[] | undefined;
  if (fromScript !== undefined) {
    for (let i = 0; i + 1 < fromScript.length; i += 2) refuse(fromScript[i]!, fromScript[i + 1]!);
    const sha = createHash('sha1').update(SCRIPT_PROBE).digest('hex');
    await tried('EVALSHA', () => client.evalsha(sha, keys.length, ...keys, channel));
  } else {
    // An unknown sha: NOSCRIPT means EVALSHA itself is allowed, NOPERM that it is not.
    await tried('EVALSHA', () => client.evalsha('0'.repeat(40), 0)).catch(() => undefined);
  }

  // Wake-ups: producers PUBLISH, idle workers SUBSCRIBE (unless they poll: dequeueInterval).
  await tried('PUBLISH', () => client.publish(channel, ''));
  await tried('DEL', () => client.del(k.s, k.l, k.set, k.h));
  if (config.dequeueInterval === undefined) {
    await tried('SUBSCRIBE', async () => {
      await client.subscribe(channel);
      await client.unsubscribe(channel);
    });
  }
  return refused;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!;
}
