import { availableParallelism } from 'node:os';
import type { Logger } from '@baton/process-kit';
import type { ResolvedConfig } from '../config.js';
import { configForGroup } from '../config-groups.js';
import { ConfigError } from '../errors.js';
import { loadConfigFile } from '../load-config.js';
import type { MasterEvent, MasterSettings } from '../state/index.js';
import { groupSpecs } from './group-specs.js';
import { messages } from '../messages.js';

/** Why: the reducer decides with these parts of a resolved config. */
export function settingsOf(c: ResolvedConfig): MasterSettings {
  return {
    readyTimeoutMs: c.readyTimeoutMs,
    stopTimeoutMs: c.stopTimeoutMs,
    termTimeoutMs: c.termTimeoutMs,
    jobTimeoutMs: c.jobTimeoutMs,
    maxMemoryKb: c.maxMemoryKb,
    crashLoop: c.crashLoop,
    maxConcurrency: c.maxConcurrency,
    maxStarting: Math.max(4, 2 * availableParallelism()),
    reapJobProcesses: c.reapJobProcesses,
  };
}

/**
 * Why: the master runs with one config at a time. A reload (`reloadConfig` effect) loads the
 * file again and tells the reducer; the config the master uses is swapped only when the
 * reducer accepts it (`applyConfig`). pidFile, statusFile and logFile stay those of the first
 * config: they belong to this master's whole life.
 */
export class ConfigHolder {
  private loaded: { id: number; config: ResolvedConfig } | undefined;
  private nextId = 1;
  /** Every group ever configured, as last configured (the workers of a removed group still need their Redis). */
  private readonly groups = new Map<string, ResolvedConfig>();
  private readonly applied: Array<(config: ResolvedConfig) => void> = [];

  constructor(
    private current: ResolvedConfig,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: Logger,
    private readonly dispatch: (event: MasterEvent) => void,
  ) {
    this.remember(current);
  }

  get config(): ResolvedConfig {
    return this.current;
  }

  /** The config as the workers of `group` see it (its last configuration, for a group a reload removed). */
  forGroup(group: string): ResolvedConfig {
    return this.groups.get(group) ?? this.current;
  }

  /** The `reloadConfig` effect. */
  reload(): void {
    loadConfigFile(this.current.path, this.env, { compile: true }).then(
      ({ config }) => {
        const configId = this.nextId++;
        this.loaded = { id: configId, config };
        this.dispatch({ type: 'reloaded', settings: settingsOf(config), desired: config.concurrency, groups: groupSpecs(config), configId });
      },
      (err: unknown) => this.dispatch({ type: 'reloadFailed', error: err instanceof ConfigError ? err.shortMessage : String((err as Error)?.message ?? err) }),
    );
  }

  /** The `applyConfig` effect: the config loaded as `configId` is the one in use from now on. */
  apply(configId: number): void {
    const next = this.loaded?.id === configId ? this.loaded.config : undefined;
    if (!next) return;
    this.loaded = undefined;
    const cur = this.current;
    if (next.pidFile !== cur.pidFile || next.statusFile !== cur.statusFile || next.logFile !== cur.logFile) {
      this.logger.warn(messages.reloadKeepsFiles());
    }
    this.current = { ...next, pidFile: cur.pidFile, statusFile: cur.statusFile, logFile: cur.logFile };
    this.remember(this.current);
    for (const listener of this.applied) listener(this.current);
  }

  /** Calls `listener` with each config put in use by a reload. */
  onApply(listener: (config: ResolvedConfig) => void): void {
    this.applied.push(listener);
  }

  private remember(config: ResolvedConfig): void {
    for (const g of config.groups) this.groups.set(g.name, configForGroup(config, g.name)!);
  }
}
