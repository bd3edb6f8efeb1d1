import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@baton/process-kit';
import { openAdminQueue } from '../commands/admin-queue.js';
import { adminTargets } from '../commands/admin-targets.js';
import type { ResolvedConfig } from '../config.js';
import { ensureRuntimeDir, runtimeDir } from '../control.js';
import { mastersSource } from './masters.js';
import type { WebTarget } from './resque-views.js';
import { StatSampler } from './sampler.js';
import { createDashboardHandler, sumTotals, type DashboardHandler } from './server.js';

// The dashboard served by the master next to `/metrics` (`metrics.dashboard: true`): the same
// pages as `resque-starter web`, on the endpoint the masters hand over at each rolling restart.
// It opens its Redis connections and starts sampling at its first request, and its forms stay
// valid across the hand-over: their CSRF secret is a file in the runtime directory that every
// master of the same config and endpoint reads.

export interface EmbeddedDashboard {
  handle: DashboardHandler;
  /** Stops sampling and closes its Redis connections (the master's exit). */
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  config: ResolvedConfig;
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /** Required on every request when set (a non-loopback endpoint always has one). */
  token: string | undefined;
  /** Names the secret's file: masters of one endpoint share it. */
  endpoint: string;
}

/** Why: a master with the dashboard on pays for it (connections, a sample a second) only once someone opens it. */
export function createEmbeddedDashboard(o: EmbeddedOptions): EmbeddedDashboard {
  let opened: Promise<{ handle: DashboardHandler; sampler: StatSampler; targets: WebTarget[] }> | undefined;
  let closed = false;
  const open = async () => {
    const targets: WebTarget[] = [];
    for (const t of adminTargets(o.config, undefined)) targets.push({ ...t, queue: await openAdminQueue(t.config) });
    const sampleEveryMs = positive(o.env.RESQUE_STARTER_WEB_SAMPLE_MS) ?? 1000;
    const sampler = new StatSampler({ read: () => sumTotals(targets), everyMs: sampleEveryMs, keep: 300 });
    sampler.start();
    const handle = createDashboardHandler({
      config: o.config,
      targets,
      masters: mastersSource(o.config, o.env),
      token: o.token,
      sampler,
      sampleEveryMs,
      refreshMs: positive(o.env.RESQUE_STARTER_WEB_REFRESH_MS) ?? 2000,
      readTimeoutMs: o.config.redisTimeoutMs,
      logger: o.logger,
      secret: sharedSecret(o.env, `${o.config.path}\0${o.endpoint}`),
    });
    return { handle, sampler, targets };
  };
  return {
    handle(req, res) {
      if (closed) {
        res.writeHead(503, { connection: 'close', 'content-type': 'text/plain' }).end('resque-starter: this master is exiting\n');
        return;
      }
      opened ??= open();
      opened.then(
        (d) => d.handle(req, res),
        (err: unknown) => {
          opened = undefined;
          res.writeHead(503, { 'content-type': 'text/plain' }).end(`resque-starter: the dashboard cannot reach Redis: ${(err as Error).message}\n`);
        },
      );
    },
    async close() {
      closed = true;
      const d = await opened?.catch(() => undefined);
      if (!d) return;
      await d.sampler.stop();
      await Promise.all(d.targets.map((t) => t.queue.close().catch(() => undefined)));
    },
  };
}

/**
 * Why: a page loaded from the old master posts to the new one after a rolling restart: both make
 * its CSRF token from this secret, a file only this user can read (mode 0600, in the control
 * sockets' directory), created by the first master and read by the next ones.
 */
export function sharedSecret(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const dir = ensureRuntimeDir(runtimeDir(env));
  const file = join(dir, `dashboard-${createHash('sha256').update(name).digest('hex').slice(0, 16)}.secret`);
  try {
    writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const secret = readFileSync(file, 'utf8').trim();
  // Written by another master an instant ago and not flushed yet: this process's own, this once.
  return secret.length >= 32 ? secret : randomBytes(32).toString('hex');
}

// --- internal ---

function positive(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}
