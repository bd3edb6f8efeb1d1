import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@baton/process-kit';
import type { ResolvedConfig } from '../config.js';
import { ensureRuntimeDir, runtimeDir } from '../control.js';
import type { WebTarget } from './resque-views.js';
import type { StatSampler } from './sampler.js';
import type { DashboardHandler } from './server.js';

// The dashboard served by the master next to `/metrics` (`metrics.dashboard: true`): the same
// pages as `resque-starter web`, on the endpoint the masters hand over at each rolling restart.
// It opens its Redis connections and starts sampling at its first request, and its forms stay
// valid across the hand-over: their CSRF secret is a file in the runtime directory that every
// master of the same config and endpoint reads, removed when the last of them exits.

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
  // At once, not at the first request: a master exiting before this one serves a page must see it holds the secret.
  const secret = holdSharedSecret(o.env, `${o.config.path}\0${o.endpoint}`);
  const open = async () => {
    // The pages' code (and the Resque library it uses) loads at the first request, not on every master's start-up path.
    const { openAdminQueue, adminTargets, mastersSource, StatSampler, createDashboardHandler, sumTotals } = await import('../on-demand.js');
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
      secret: secret.value,
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
      try {
        secret.release();
      } catch {
        // The runtime directory is gone: nothing is left to remove.
      }
      const d = await opened?.catch(() => undefined);
      if (!d) return;
      await d.sampler.stop();
      await Promise.all(d.targets.map((t) => t.queue.close().catch(() => undefined)));
    },
  };
}

/** The dashboard's CSRF secret, held by this process until `release()`. */
export interface HeldSecret {
  value: string;
  /** Drops this process's hold; the last holder to go (no other live process holds it) removes the file. */
  release(): void;
}

/**
 * Why: a page loaded from the old master posts to the new one after a rolling restart: both make
 * its CSRF token from this secret, a file only this user can read (mode 0600, in the control
 * sockets' directory), created by the first master and read by the next ones. Each holder marks
 * its hold first (`dashboard-<hash>.<pid>.hold`), so the old master, exiting once the new one is
 * up, leaves the file to it; the last one to exit removes it (one killed -9 leaves a hold that
 * the next release clears, its pid being gone).
 */
export function holdSharedSecret(env: Readonly<Record<string, string | undefined>>, name: string, pid = process.pid): HeldSecret {
  const dir = ensureRuntimeDir(runtimeDir(env));
  const base = `dashboard-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
  const file = join(dir, `${base}.secret`);
  const hold = join(dir, `${base}.${pid}.hold`);
  writeFileSync(hold, '', { mode: 0o600 });
  try {
    writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const secret = readFileSync(file, 'utf8').trim();
  let released = false;
  return {
    // Written by another master an instant ago and not flushed yet: this process's own, this once.
    value: secret.length >= 32 ? secret : randomBytes(32).toString('hex'),
    release() {
      if (released) return;
      released = true;
      rmSync(hold, { force: true });
      const others = readdirSync(dir).filter((f) => {
        const m = /^(.+)\.(\d+)\.hold$/.exec(f);
        if (!m || m[1] !== base) return false;
        if (isAlive(Number(m[2]))) return true;
        rmSync(join(dir, f), { force: true });
        return false;
      });
      if (others.length === 0) rmSync(file, { force: true });
    },
  };
}

// --- internal ---

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function positive(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}
