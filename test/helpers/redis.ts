import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { INFRA_VAR, MARK_VAR, runId } from './procs.js';
import { Spawned } from './spawn.js';
import { pollUntil } from './wait.js';

export interface TestRedis {
  /** `redis://127.0.0.1:<port>` of the private server (or REDIS_URL when given). */
  url: string;
  port: number;
  /** True when REDIS_URL points at an external server (restart/stop are then unavailable). */
  external: boolean;
  /** A fresh namespace for one test, so tests never see each other's keys. */
  namespace(): string;
  /** A new ioredis client on this server; closed by `close()`. */
  client(): Redis;
  /** Stops the server (SIGTERM, no save); `start()` brings it back on the same port. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Why: tests must not depend on the shared Redis on 6379; each suite gets its own
 * `redis-server` on a free loopback port (or REDIS_URL, for an external one).
 */
export interface RedisOptions {
  /** AOF with an fsync per write, so a stop/start keeps every acknowledged write (for restart scenarios). */
  persistent?: boolean;
  /** requirepass; the URL then carries it (`redis://:<password>@…`). */
  password?: string;
}

export async function startRedis(options: RedisOptions = {}): Promise<TestRedis> {
  const clients: Redis[] = [];
  const external = process.env.REDIS_URL;
  let server: Spawned | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-'));
  const port = external ? Number(new URL(external).port || 6379) : await freePort();

  const start = async () => {
    server = new Spawned(
      'redis-server',
      [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--protected-mode', 'yes',
        ...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
        ...(options.password ? ['--requirepass', options.password] : []),
      ],
      { env: { [INFRA_VAR]: runId(), [MARK_VAR]: '' }, label: `redis-server :${port}`, track: false },
    );
    await server.waitForLine(/Ready to accept connections/, { timeoutMs: 10_000 });
  };
  if (!external) await start();

  const url = external ?? `redis://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${port}`;
  return {
    url,
    port,
    external: Boolean(external),
    namespace: () => `test-${randomUUID().slice(0, 8)}`,
    client() {
      const c = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    async stopServer() {
      if (!server) throw new Error('cannot stop an external Redis');
      server.kill('SIGTERM');
      await server.waitForExit({ timeoutMs: 10_000 });
    },
    async startServer() {
      if (external) throw new Error('cannot start an external Redis');
      await start();
      await pollUntil(async () => {
        const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
        c.on('error', () => undefined);
        try {
          await c.connect();
          return (await c.ping()) === 'PONG';
        } finally {
          c.disconnect();
        }
      }, { what: 'redis to accept connections' });
    },
    async close() {
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      if (server && !server.exit) {
        server.kill('SIGTERM');
        await server.waitForExit({ timeoutMs: 10_000 }).catch(() => server!.kill('SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
