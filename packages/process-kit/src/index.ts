export { parseSignal, resolveSignal, describeSignal, describeExit, signalNumber, type SignalName } from './signals.js';
export { createLogger, resolveLevel, parseLogFormat, logLine, ATOMIC_WRITE, type Logger, type LoggerOptions, type LogLine, type PreparedLine } from './logger.js';
export { formatLine, formatJsonLine, formatTextLine, jsonMember, redactText, redactValue, LOG_FORMATS, type LogFormat, type LogContext, type LogRecord } from './log-format.js';
export { sendSignal, isAlive } from './kill.js';
export {
  writeFileAtomic,
  acquirePidFile,
  releasePidFile,
  readPidFile,
  PidFileError,
  openLogFile,
  LogFileError,
  resolveFileMode,
  checkFileMode,
  FILE_MODES,
  type PidFileOptions,
  type FileModeOptions,
} from './files.js';
export {
  readCmdline,
  ownCpuMs,
  readRssAnonKb,
  readStat,
  readEnvVar,
  isLiveProcess,
  listProcesses,
  groupMembers,
  stillRunning,
  type ProcStat,
  type ProcessRef,
} from './proc.js';
export { ignoreOutputErrors, writeQuietly, type OutputStream } from './output.js';
export { UsageError, ControlError } from './errors.js';
export { createTimerTable, type TimerTable } from './timers.js';
export { createEventLoop, type EventLoop, type EventLoopOptions } from './event-loop.js';
export { adoptChild, createNodeHost, signalAndWake, type ProcessHost, type ChildSpec, type ChildEvents, type Child } from './host.js';
export { createFakeHost, type FakeHost, type FakeSpawn, type FakeChild, type SentSignal } from './fake-host.js';
export { formatStatusFile, parseStatusFile, type StatusLine } from './server-starter-status.js';
export { createSdNotify, watchdogUsec, monotonicUsec, formatNotify, parseNotify, withoutSystemdEnv, SYSTEMD_ENV, type SdNotify, type SdNotifyOptions, type NotifyFields } from './sd-notify.js';
export { closest, editDistance } from './suggest.js';
