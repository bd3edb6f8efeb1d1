// The ioredis bundled into resque-starter's dist (scripts/bundle.mjs), which workers and the configs
// they load share: its build puts the command methods' prototype in dictionary mode before adding
// them (~13 ms less per process, issue 16). That must change nothing a program can see: the same
// methods, with the same property flags, as the installed ioredis, and working against Redis.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './helpers/redis.js';

const DIST = fileURLToPath(new URL('../packages/resque-starter/dist/', import.meta.url));
const require = createRequire(import.meta.url);

type RedisClass = { prototype: object; new (url: string, options?: object): { set(k: string, v: string): Promise<unknown>; getBuffer(k: string): Promise<Buffer | null>; hset(k: string, f: string, v: string): Promise<unknown>; hgetall(k: string): Promise<Record<string, string>>; quit(): Promise<unknown> } };

/** Own properties of ioredis's Commander.prototype (Redis.prototype's parent) with their flags. */
function commanderMethods(Redis: RedisClass): Map<string, string> {
  const proto = Object.getPrototypeOf(Redis.prototype) as object;
  const out = new Map<string, string>();
  for (const name of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, name)!;
    out.set(name, `${typeof d.value} e${Number(d.enumerable)} w${Number(d.writable)} c${Number(d.configurable)}`);
  }
  return out;
}

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});

describe('the bundled ioredis', () => {
  it('is built with the dictionary-mode line, and is the copy dist/ioredis-lib.js gives when the installed ioredis is its version', async () => {
    const chunk = readdirSync(DIST).filter((f) => f.startsWith('_chunk-')).find((f) => readFileSync(join(DIST, f), 'utf8').includes('delete Commander.prototype.__batonDictionary'));
    expect(chunk, 'no chunk of dist/ carries the line bundle.mjs adds to Commander.js').toBeDefined();
    const lib = (await import(join(DIST, 'ioredis-lib.js'))) as { default: RedisClass & { Redis: RedisClass } };
    expect(lib.default.Redis).not.toBe((require('ioredis') as { Redis: RedisClass }).Redis);
  });

  it('has every command method of the installed ioredis with the same property flags, and none of its own', async () => {
    const lib = (await import(join(DIST, 'ioredis-lib.js'))) as { default: { Redis: RedisClass } };
    const bundled = commanderMethods(lib.default.Redis);
    const installed = commanderMethods((require('ioredis') as { Redis: RedisClass }).Redis);
    expect(bundled.size).toBeGreaterThan(500);
    expect(bundled.has('__batonDictionary')).toBe(false);
    expect([...bundled].sort()).toEqual([...installed].sort());
  });

  it('runs commands against a real Redis, strings and buffers', async () => {
    const lib = (await import(join(DIST, 'ioredis-lib.js'))) as { default: { Redis: RedisClass } };
    const r = new lib.default.Redis(redis.url);
    try {
      const key = `${redis.namespace()}:bundle`;
      await r.set(key, 'é-value');
      expect((await r.getBuffer(key))!.toString('utf8')).toBe('é-value');
      await r.hset(`${key}:h`, 'f', 'v');
      expect(await r.hgetall(`${key}:h`)).toEqual({ f: 'v' });
    } finally {
      await r.quit();
    }
  });
});
