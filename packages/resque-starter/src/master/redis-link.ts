import { messages } from '../messages.js';
import type { LineLogger } from './redis-health.js';

/** The slice of an ioredis client (Redis or Cluster) the link watches. */
export interface WatchedClient {
  on(event: 'ready' | 'close' | 'error', listener: (err?: Error) => void): unknown;
  disconnect(): void;
  /** A Redis connection's socket (a Cluster has none). */
  readonly stream?: { remoteAddress?: string | undefined; remotePort?: number | undefined } | undefined;
}

export interface RedisLinkOptions {
  /** The master's own connection, made with `@baton/resque`'s createRedis (it reconnects, and on READONLY). */
  client: WatchedClient;
  /** The endpoint as configured (describeRedis), for the lines. */
  where: string;
  logger: LineLogger;
  now(): number;
  /** Told when the connection goes down (with why) and when it is back (undefined): the status file shows it. */
  changed?(down: { message: string } | undefined): void;
}

/**
 * Why: the master says, once each, when Redis goes away and when it is back, with how long it
 * was gone, and when it came back on another node (a Sentinel failover: the primary moved).
 * Its own connection rather than the workers' reports: it is there with 0 workers, and one
 * line stands for the whole host. Returns stop (closes the connection, logs nothing more).
 */
export function watchRedisLink(o: RedisLinkOptions): () => void {
  let stopped = false;
  let ready = false;
  let downSince: number | undefined;
  let lastError: string | undefined;
  let address: string | undefined;
  const addressOf = () => (o.client.stream?.remoteAddress ? `${o.client.stream.remoteAddress}:${o.client.stream.remotePort}` : undefined);
  o.client.on('error', (err) => {
    lastError = err?.message ?? String(err);
  });
  o.client.on('close', () => {
    if (stopped || !ready) return;
    ready = false;
    downSince = o.now();
    o.logger.warn(messages.redisLost(o.where, lastError ?? 'connection closed'));
    o.changed?.({ message: lastError ?? 'connection closed' });
  });
  o.client.on('ready', () => {
    if (stopped) return;
    const now = addressOf();
    if (downSince !== undefined) {
      o.logger.info(messages.redisBack(o.now() - downSince, now, address));
      o.changed?.(undefined);
    }
    ready = true;
    downSince = undefined;
    lastError = undefined;
    address = now ?? address;
  });
  return () => {
    stopped = true;
    o.client.disconnect();
  };
}
