import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLogger, parseLogFormat, resolveLevel, type LogFormat, type Logger, type ProcessHost } from '@baton/process-kit';
import type { ResolvedConfig } from '../config.js';
import { configForGroup } from '../config-groups.js';
import { redisSecrets } from '../config-logs.js';
import { captureConsole } from '../worker-console.js';
import { StartupError } from '../errors.js';
import { findPredecessors, MASTER_TITLE } from '../handoff.js';
import { loadConfigFile } from '../load-config.js';
import { messages } from '../messages.js';
import type { RedisReport } from '../redis-check.js';
import { resolveIds } from '../users.js';
import { LogFile } from './log-file.js';
import { PidFile } from './pid-file.js';

export interface BootContext {
  env: NodeJS.ProcessEnv;
  /** Where log lines go when the config has no `logFile`. */
  stderr: NodeJS.WritableStream | undefined;
  /** `--log-format`: wins over the config's `logFormat`. */
  logFormat?: LogFormat | undefined;
  /** Route this process's `console.*` (the config's, beforeFork's) into the master's log stream (the CLI's master; not in unit tests). */
  captureConsole?: boolean | undefined;
  host: Pick<ProcessHost, 'pid' | 'ppid' | 'setTitle' | 'writeFile'>;
  checkRedis(config: ResolvedConfig): Promise<RedisReport | void>;
  /** True (and consumed) when a stop signal arrived while the config was loading. */
  stopRequested(): boolean;
}

/** What a master knows once it may start workers. */
export interface Booted {
  config: ResolvedConfig;
  logger: Logger;
  logOut: LogFile | undefined;
  /** The format of every line, the master's and its workers' (`--log-format`, else the config's). */
  logFormat: LogFormat;
  /** start-server's SERVER_STARTER_GENERATION, when under start-server. */
  generation: number | undefined;
  /** The workers' uid/gid (`user`/`group`). */
  ids: { uid?: number; gid?: number } | undefined;
  /** The older generations to take over from. */
  found: Array<{ pid: number; generation: number | undefined }>;
  /** start-server's pid, when under start-server (the supervisor watchdog watches it). */
  supervisorPid: number | undefined;
  pidFile: PidFile;
  /** What the start-up check found of Redis (undefined with a stub check). */
  redis: RedisReport | undefined;
  /** ms spent loading the config and checking Redis (the start-up timings line). */
  ms: { config: number; redis: number };
}

/**
 * Why: everything is checked before anything is touched, so an older generation keeps serving
 * when this one cannot: the config loads, its files can be opened, Redis answers; then the
 * predecessors are found and the pid file is claimed. Undefined when a stop signal came while
 * the config was loading (the master exits 0, having started nothing).
 */
export async function bootMaster(configPath: string, b: BootContext): Promise<Booted | undefined> {
  const generation = b.env.SERVER_STARTER_GENERATION ? Number(b.env.SERVER_STARTER_GENERATION) : undefined;
  const context = { role: 'master', generation };
  // The config's own console output (while it loads, in beforeFork) becomes master lines too.
  let consoleLogger = createLogger({ tag: 'resque-starter', level: resolveLevel(b.env.BATON_LOG_LEVEL), format: b.logFormat ?? parseLogFormat(b.env.BATON_LOG_FORMAT), context });
  if (b.captureConsole) captureConsole(console, () => consoleLogger, () => undefined);
  const { config, loadMs, notCompiled } = await loadConfigFile(configPath, b.env, { compile: true });
  const logFormat = b.logFormat ?? config.logFormat;
  // The dashboard's token (`metrics.token`) is never written either.
  const secrets = [...redisSecrets([config.redis, ...config.groups.map((g) => g.redis)]), ...(config.metrics?.token ? [config.metrics.token] : [])];
  // Until the log file is open (and at the config's level), stderr at BATON_LOG_LEVEL.
  const bootLogger = createLogger({ tag: 'resque-starter', level: resolveLevel(b.env.BATON_LOG_LEVEL), format: logFormat, context, secrets });
  consoleLogger = bootLogger;
  bootLogger.debug(messages.configLoaded(config.path, loadMs));
  bootLogger.debug(config.compiled ? messages.configCompiled(config.compiled) : messages.configNotCompiled(notCompiled ?? 'unknown'));
  if (b.stopRequested()) return undefined;
  b.host.setTitle(`${MASTER_TITLE} (starting)`);
  const logOut = prepareFiles(config);
  const logger = createLogger({
    tag: 'resque-starter',
    level: config.logLevel,
    format: logFormat,
    context,
    secrets,
    stream: (logOut as unknown as NodeJS.WritableStream | undefined) ?? b.stderr,
  });
  consoleLogger = logger;
  const ids = resolveIds(config.user, config.group, (m) => logger.warn(m));
  const tRedis = performance.now();
  const redis = (await b.checkRedis(config)) ?? undefined;
  // Every other Redis the worker groups use answers too, before anything is touched.
  const checked = new Set([JSON.stringify([config.redis, config.namespace])]);
  for (const g of config.groups) {
    const key = JSON.stringify([g.redis, g.namespace]);
    if (checked.has(key)) continue;
    checked.add(key);
    await b.checkRedis(configForGroup(config, g.name)!);
  }
  const redisMs = performance.now() - tRedis;
  const ppid = b.host.ppid();
  const found =
    generation !== undefined
      ? findPredecessors({ self: b.host.pid, ppid, generation, statusFile: b.env.SERVER_STARTER_STATUS_FILE || config.serverStarterStatusFile })
      : [];
  const pidFile = new PidFile(config.pidFile, b.host, logger);
  pidFile.claim(found);
  const supervisorPid = generation !== undefined && ppid > 1 ? ppid : undefined;
  return { config, logger, logOut, logFormat, generation, ids, found, supervisorPid, pidFile, redis, ms: { config: loadMs, redis: redisMs } };
}

// --- internal ---

/** The directories of the master's files exist, and its log file is open. */
function prepareFiles(config: ResolvedConfig): LogFile | undefined {
  try {
    for (const f of [config.pidFile, config.statusFile, config.logFile]) if (f) mkdirSync(dirname(f), { recursive: true });
    return config.logFile ? new LogFile(config.logFile, config.fileMode) : undefined;
  } catch (err) {
    throw new StartupError((err as Error).message, { cause: err });
  }
}
