export {
  defineConfig,
  defaultAfterFork,
  resolveConfig,
  redactUrl,
  type ResqueStarterConfig,
  type ResolvedConfig,
  type MasterHandle,
  type WorkerHandle,
  type CrashLoopConfig,
  type JobHandler,
  type JobHandlers,
  type LogLevelName,
} from './config.js';
export { loadConfigFile } from './load-config.js';
export { ConfigError, StartupError, ControlError, UsageError, ExitCode, type ConfigIssue } from './errors.js';
export type { StatusSnapshot } from './status.js';
