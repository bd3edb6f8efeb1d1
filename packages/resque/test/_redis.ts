// A private redis-server for this package's tests: free port, ready by its log line, killed on close.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export interface PrivateRedis {
  url: string;
  /** A fresh namespace per test. */
  namespace(): string;
  /** A client closed by `close()`. */
  client(): Redis;
  close(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 10_000);
    proc.stdout.on('data', (d: Buffer) => {
      log += d;
      if (/Ready to accept connections/.test(log)) {
        clearTimeout(timer);
        proc.stdout.resume();
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${log}`));
    });
  });
  const url = `redis://127.0.0.1:${port}`;
  const clients: Redis[] = [];
  return {
    url,
    namespace: () => `test-${randomUUID()}`,
    client: () => {
      const c = new Redis(url);
      clients.push(c);
      return c;
    },
    close: async () => {
      for (const c of clients) c.disconnect();
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
