// Redis processes for bench/failover.mjs: a node, a replica (optionally behind a lagging link),
// three Sentinels, and a TCP forwarder standing in for a managed service's endpoint. Plain
// JavaScript twin of test/helpers/redis-topology.ts for the bench (which runs without a TS
// loader). Everything listens on free loopback ports; stopAll() kills what was started.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

const started = new Set();

export async function freePort() {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** redis-server (or a Sentinel, with `sentinel`: its config lines) on a free port: `{ port, url, kill(sig), client() }`. */
export async function startNode(dir, { args = [], sentinel } = {}) {
  const port = await freePort();
  const own = mkdtempSync(join(dir, 'node-'));
  let argv;
  if (sentinel) {
    writeFileSync(join(own, 's.conf'), `port ${port}\nbind 127.0.0.1\nprotected-mode no\ndir ${own}\n${sentinel}`);
    argv = [join(own, 's.conf'), '--sentinel'];
  } else {
    argv = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', own, '--protected-mode', 'no', ...args];
  }
  const child = spawn('redis-server', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 15_000);
    const onData = (d) => {
      out += d;
      if (/Ready to accept connections|Sentinel ID is/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server exited ${code}:\n${out}`)));
  });
  const clients = [];
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    child,
    client() {
      const c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    async kill(signal = 'SIGKILL') {
      for (const c of clients.splice(0)) c.disconnect();
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/**
 * A TCP forwarder: new connections go to the current target; open ones stay where they are.
 * `lagMs` delays every chunk in both directions (a replica link that falls behind).
 */
export async function startForwarder(targetPort, { lagMs = 0 } = {}) {
  let target = targetPort;
  let accepted = 0;
  const sockets = new Set();
  const relay = (from, to) =>
    from.on('data', (chunk) => {
      if (lagMs > 0) setTimeout(() => to.writable && to.write(chunk), lagMs);
      else if (to.writable) to.write(chunk);
    });
  const server = createServer((client) => {
    accepted++;
    const upstream = connect({ host: '127.0.0.1', port: target });
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    relay(client, upstream);
    relay(upstream, client);
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen({ port, host: '127.0.0.1' }, resolve));
  const fwd = {
    port,
    url: `redis://127.0.0.1:${port}`,
    retarget: (p) => void (target = p),
    get accepted() {
      return accepted;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(() => r()));
    },
  };
  started.add(fwd);
  return fwd;
}

/** Three Sentinels on `primaryPort` (quorum 2); resolves when they see each other and `replicas` replicas. */
export async function startSentinels(dir, primaryPort, { downAfterMs = 1000, replicas = 1, name = 'mymaster' } = {}) {
  const conf =
    `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2\nsentinel down-after-milliseconds ${name} ${downAfterMs}\n` +
    `sentinel failover-timeout ${name} 5000\nsentinel parallel-syncs ${name} 1\n`;
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(dir, { sentinel: conf }));
  const clients = nodes.map((n) => n.client());
  await until(async () => {
    for (const c of clients) {
      const m = toObject((await c.call('SENTINEL', 'MASTERS'))[0] ?? []);
      if (Number(m['num-other-sentinels']) < 2 || Number(m['num-slaves']) < replicas) return false;
    }
    return true;
  }, 30_000, 'the sentinels to see each other and the replica');
  return {
    nodes,
    options: { sentinels: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), name },
    async waitForFailover(oldPort) {
      return await until(async () => {
        const ports = await Promise.all(clients.map(async (c) => Number((await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))[1])));
        return ports.every((p) => p !== oldPort && p === ports[0]) ? ports[0] : undefined;
      }, 60_000, 'the sentinels to fail over');
    },
  };
}

/** Polls `check` every 20 ms until it returns a value other than undefined/false, or throws after `ms`. */
export async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Kills every process and closes every forwarder started here. */
export async function stopAll() {
  for (const s of [...started]) {
    started.delete(s);
    if (typeof s.close === 'function') await s.close().catch(() => undefined);
    else if (s.exitCode === null && s.signalCode === null) {
      s.kill('SIGKILL');
      await new Promise((r) => s.once('exit', r));
    }
  }
}

/** Synchronous last resort (process exit): SIGKILL whatever is still running. */
export function killAllNow() {
  for (const s of started) if (typeof s.kill === 'function' && s.exitCode === null) s.kill('SIGKILL');
}

function toObject(flat) {
  const o = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]] = flat[i + 1];
  return o;
}
