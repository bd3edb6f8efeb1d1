export { parseSignal, resolveSignal, describeSignal, describeExit, signalNumber, type SignalName } from './signals.js';
export { createLogger, resolveLevel, type Logger, type LoggerOptions } from './logger.js';
export {
  terminate,
  waitForChildExit,
  sendSignal,
  isAlive,
  type TerminateOptions,
  type TerminateResult,
} from './terminate.js';
export {
  writeFileAtomic,
  acquirePidFile,
  releasePidFile,
  readPidFile,
  readCmdline,
  PidFileError,
  openLogFile,
  LogFileError,
  resolveFileMode,
  checkFileMode,
  FILE_MODES,
  type PidFileOptions,
  type FileModeOptions,
} from './files.js';
export { ignoreOutputErrors, writeQuietly, type OutputStream } from './output.js';
export { UsageError } from './errors.js';
export { createTimerTable, type TimerTable } from './timers.js';
