import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { BIN, spawnNode, ROOT, type Spawned, type SpawnedOptions } from './spawn.js';

export const ECHO = `${ROOT}test/fixtures/echo-server.mjs`;

/** Starts our start-server with the given options and command. */
export function startServerProcess(args: string[], command: string[], options?: SpawnedOptions): Spawned {
  return spawnNode(BIN.startServer, [...args, '--', ...command], { label: `start-server ${args.join(' ')}`, ...options });
}

/** Sends one line to a TCP port or unix path and resolves with the reply (`pid:gen:data`). */
export function ask(target: number | string, data = 'ping', { timeoutMs = 5000, host = '127.0.0.1' } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = typeof target === 'number' ? connect(target, host) : connect(target);
    let buf = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no reply from ${target} within ${timeoutMs} ms`));
    }, timeoutMs);
    c.on('connect', () => c.write(`${data}\n`));
    c.on('data', (d) => (buf += d));
    c.on('end', () => {
      clearTimeout(timer);
      resolve(buf);
    });
    c.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Reply fields. */
export function parseReply(reply: string): { pid: number; generation: number; data: string } {
  const [pid, gen, ...rest] = reply.split(':');
  return { pid: Number(pid), generation: Number(gen), data: rest.join(':') };
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
