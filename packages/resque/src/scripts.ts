import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** Bumped whenever a script changes, so a Redis shared by two versions runs the right one. */
export const SCRIPTS_VERSION = '12';

/** `<name>-<numKeys>`; `-<k>n` takes k keys per item, their number given at each call. */
const SCRIPTS = {
  reserve: 'reserve-3',
  reserveMany: 'reserve-3n',
  settle: 'settle-3',
  requeue: 'requeue-3',
  recover: 'recover-3',
  failInflight: 'fail-inflight-3',
  hold: 'hold-1n',
  register: 'register-1n',
  renew: 'renew-1n',
  unregister: 'unregister-1n',
  delay: 'delay-1',
  move: 'move-2',
  removeDelayed: 'remove-delayed-1',
  delayedCount: 'delayed-count-1',
  delayedList: 'delayed-list-1',
  lock: 'lock-1',
  tick: 'tick-2n',
  push: 'push-2',
  retryFailed: 'retry-failed-1n',
} as const;
export type ScriptName = keyof typeof SCRIPTS;

const LUA_DIR = new URL('../src/lua/', import.meta.url);
const sources = new Map<ScriptName, string>();

/**
 * Why: scripts live in `lua/<name>-<numKeys>.lua` with a contract header (BullMQ's layout); the
 * blocks several of them share live once in `lua/include/<name>.lua`, spliced in at load time.
 */
export function defineScripts(redis: Redis): void {
  for (const [name, file] of Object.entries(SCRIPTS) as Array<[ScriptName, string]>) {
    let lua = sources.get(name);
    if (!lua) {
      lua = assembleScript(`${file}.lua`, readLua(file), (include) => readLua(`include/${include}`));
      sources.set(name, lua);
      shas.set(name, createHash('sha1').update(lua).digest('hex'));
    }
    const numKeys = file.split('-').pop()!;
    // The defined command EVALs the script when the server does not have it (NOSCRIPT).
    // Without numberOfKeys, the command's first argument is the number of keys.
    redis.defineCommand(commandName(name), numKeys.endsWith('n') ? { lua } : { lua, numberOfKeys: Number(numKeys) });
  }
}

const INCLUDE = /^--- @include "([^"\n]*)"[ \t]*$/gm;

/**
 * Why: BullMQ's `--- @include "<name>"`: each such line of `source` is replaced by the fragment
 * `read(name)` returns. A missing fragment, a fragment that includes another, or an `@include`
 * line of any other form throws: a script that would run without its functions must not load.
 */
export function assembleScript(file: string, source: string, read: (name: string) => string): string {
  const lua = source.replace(INCLUDE, (_, name: string) => {
    let fragment: string;
    try {
      fragment = read(name);
    } catch (cause) {
      throw new Error(`${file}: --- @include "${name}": no such fragment (lua/include/${name}.lua)`, { cause });
    }
    if (fragment.includes('@include')) throw new Error(`${file}: --- @include "${name}": fragments cannot include others`);
    return fragment.trimEnd();
  });
  const stray = /^.*@include.*$/m.exec(lua);
  if (stray) throw new Error(`${file}: unrecognised include line \`${stray[0]}\` (expected --- @include "<name>")`);
  return lua;
}

/** Script arguments: strings, numbers, payload bytes, or lists of them (spliced in place, e.g. queue names). */
export type ScriptArg = string | number | Buffer | readonly (string | number | Buffer)[];

/**
 * The only way scripts are called: typed by name, keys then args. A plain EVALSHA first (ioredis's
 * script commands cost a few µs more per call, which shows at one job at a time); on NOSCRIPT
 * (a new or restarted server) the command defined by `defineScripts` sends the script itself.
 */
export function runScript(redis: Redis, name: ScriptName, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
  return run(redis, name, keys, args);
}

function run(redis: Redis, name: ScriptName, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
  const commands = redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const fn = commands[COMMANDS[name]];
  if (!fn) return Promise.reject(new Error(`script ${name} is not defined on this connection`));
  // ioredis flattens one level of nesting (a list argument) into the command's arguments.
  const flat = args as Array<string | number | Buffer>;
  const sent = commands['evalsha']!.call(redis, shas.get(name)!, keys.length, ...keys, ...flat);
  return sent.catch((err: unknown) => {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return DYNAMIC.has(name) ? fn.call(redis, keys.length, ...keys, ...args) : fn.call(redis, ...keys, ...args);
  });
}

function readLua(path: string): string {
  return readFileSync(new URL(`${path}.lua`, LUA_DIR), 'utf8');
}

function commandName(name: ScriptName): string {
  return `baton_${name}_v${SCRIPTS_VERSION}`;
}

const shas = new Map<ScriptName, string>();
const DYNAMIC = new Set((Object.keys(SCRIPTS) as ScriptName[]).filter((n) => SCRIPTS[n].endsWith('n')));
const COMMANDS = Object.fromEntries(Object.keys(SCRIPTS).map((n) => [n, commandName(n as ScriptName)])) as Record<ScriptName, string>;
/** ioredis defines `<command>Buffer` next to each command: the same call, bulk replies as Buffers. */
