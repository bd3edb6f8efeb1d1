import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createLogger, resolveLevel } from '@baton/process-kit';
import { redisSecrets } from '../config-logs.js';
import { loadConfigFile } from '../load-config.js';
import { messages } from '../messages.js';
import { StartupError } from '../errors.js';
import { resolveAccess, TOKEN_ENV } from '../web/auth.js';
import { mastersSource } from '../web/masters.js';
import type { WebTarget } from '../web/resque-views.js';
import { StatSampler } from '../web/sampler.js';
import { createDashboard, sumTotals } from '../web/server.js';
import { adminTargets } from './admin-targets.js';
import { openAdminQueue } from './admin-queue.js';

/** resque-web's port. */
export const DEFAULT_WEB_PORT = 5678;
export const DEFAULT_WEB_HOST = '127.0.0.1';

export interface WebOptions {
  configPath: string;
  host: string | undefined;
  port: number | undefined;
  /** `--token`; else the env's RESQUE_STARTER_WEB_TOKEN. */
  token: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  stderr: NodeJS.WritableStream;
  /** Resolves when the dashboard should close (the CLI passes SIGTERM/SIGINT). */
  stopped: Promise<string>;
}

/**
 * Why: `resque-starter web`: the dashboard for the config's Redis and masters, in its own
 * process (it needs no master, and may run on another host than the workers). Returns the exit
 * code once `stopped` resolves.
 */
export async function runWeb(o: WebOptions): Promise<number> {
  const { host, token } = resolveAccess(o.host ?? DEFAULT_WEB_HOST, o.token ?? nonEmpty(o.env[TOKEN_ENV]));
  const { config } = await loadConfigFile(o.configPath, o.env);
  // The config's log format (JSON lines with role `web`), the Redis passwords never written.
  const logger = createLogger({
    tag: 'resque-starter web',
    level: resolveLevel(o.env.BATON_LOG_LEVEL ?? String(config.logLevel)),
    format: config.logFormat,
    context: { role: 'web' },
    secrets: redisSecrets([config.redis, ...config.groups.map((g) => g.redis)]),
    stream: o.stderr,
  });
  const targets: WebTarget[] = [];
  try {
    for (const t of adminTargets(config, undefined)) targets.push({ ...t, queue: await openAdminQueue(t.config) });
    const sampleEveryMs = positive(o.env.RESQUE_STARTER_WEB_SAMPLE_MS) ?? 1000;
    const sampler = new StatSampler({ read: () => sumTotals(targets), everyMs: sampleEveryMs, keep: 300 });
    const server = createDashboard({
      config,
      targets,
      masters: mastersSource(config, o.env),
      token,
      sampler,
      sampleEveryMs,
      refreshMs: positive(o.env.RESQUE_STARTER_WEB_REFRESH_MS) ?? 2000,
      readTimeoutMs: config.redisTimeoutMs,
      logger,
    });
    server.listen(o.port ?? DEFAULT_WEB_PORT, host);
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new StartupError(`cannot listen on ${host}:${o.port ?? DEFAULT_WEB_PORT}: ${e.code === 'EADDRINUSE' ? 'address in use' : e.message}${e.code ? ` (${e.code})` : ''}`, { cause: err });
    }
    sampler.start();
    const a = server.address() as AddressInfo;
    const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    logger.info(messages.webListening(`http://${shown}:${a.port}/`, token !== undefined));
    const signal = await o.stopped;
    logger.info(messages.webStopping(signal));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await sampler.stop();
    return 0;
  } finally {
    await Promise.all(targets.map((t) => t.queue.close().catch(() => undefined)));
  }
}

// --- internal ---

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function positive(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}
