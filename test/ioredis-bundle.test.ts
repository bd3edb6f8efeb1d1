// The ioredis bundled into resque-starter's dist (scripts/bundle.mjs), which workers and the configs
// they load share: its build puts the command methods' prototype in dictionary mode before adding
// them (~13 ms less per process, issue 16), and requires node's tls only when a TLS connection is
// made. That must change nothing a program can see: the same methods, with the same property
// flags, as the installed ioredis, working against Redis, with and without TLS.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.js';
import { INFRA_VAR, MARK_VAR, runId } from './helpers/procs.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { Spawned } from './helpers/spawn.js';

const DIST = fileURLToPath(new URL('../packages/resque-starter/dist/', import.meta.url));
const require = createRequire(import.meta.url);

type Client = { set(k: string, v: string): Promise<unknown>; getBuffer(k: string): Promise<Buffer | null>; hset(k: string, f: string, v: string): Promise<unknown>; hgetall(k: string): Promise<Record<string, string>>; ping(): Promise<string>; on(e: string, f: () => void): void; disconnect(): void; quit(): Promise<unknown> };
type RedisClass = { prototype: object; new (target: string | object): Client };

/** The Redis class of dist/ioredis-lib.js: the bundled copy (when the installed ioredis is its version). */
async function bundledRedis(): Promise<RedisClass> {
  return ((await import(join(DIST, 'ioredis-lib.js'))) as { default: { Redis: RedisClass } }).default.Redis;
}

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
    expect(await bundledRedis()).not.toBe((require('ioredis') as { Redis: RedisClass }).Redis);
  });

  it('has every command method of the installed ioredis with the same property flags, and none of its own', async () => {
    const bundled = commanderMethods(await bundledRedis());
    const installed = commanderMethods((require('ioredis') as { Redis: RedisClass }).Redis);
    expect(bundled.size).toBeGreaterThan(500);
    expect(bundled.has('__batonDictionary')).toBe(false);
    expect([...bundled].sort()).toEqual([...installed].sort());
  });

  it('runs commands against a real Redis, strings and buffers', async () => {
    const Redis = await bundledRedis();
    const r = new Redis(redis.url);
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

  it("requires node's tls only for a TLS connection, and connects over TLS (a redis-server with --tls-port)", async () => {
    const probe = `
      const m = await import(${JSON.stringify(join(DIST, 'ioredis-lib.js'))});
      const r = new m.default.Redis(${JSON.stringify(redis.url)});
      await r.ping();
      r.disconnect();
      console.log(process.moduleLoadList.some((x) => /^NativeModule (tls|_tls_wrap)$/.test(x)));`;
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' }).trim()).toBe('false');

    const dir = mkdtempSync(join(tmpdir(), 'baton-tls-'));
    const port = await freePort();
    let server: Spawned | undefined;
    try {
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      } catch {
        throw new Error('openssl could not make a test certificate (the TLS half of this test needs the openssl command)');
      }
      server = new Spawned(
        'redis-server',
        ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'), '--tls-ca-cert-file', join(dir, 'cert.pem'), '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--dir', dir],
        { env: { [INFRA_VAR]: runId(), [MARK_VAR]: '' }, label: `redis-server tls :${port}`, track: false },
      );
      await server.waitForLine(/Ready to accept connections/, { timeoutMs: 10_000 });
      const Redis = await bundledRedis();
      const r = new Redis({ host: '127.0.0.1', port, tls: { ca: readFileSync(join(dir, 'cert.pem')) }, maxRetriesPerRequest: 1 });
      r.on('error', () => undefined);
      try {
        expect(await r.ping()).toBe('PONG');
      } finally {
        r.disconnect();
      }
    } finally {
      if (server && !server.exit) {
        server.kill('SIGTERM');
        await server.waitForExit({ timeoutMs: 10_000 }).catch(() => server!.kill('SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
