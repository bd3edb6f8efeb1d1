export { startServer, isStartServer, type StartServerHost } from './supervisor.js';
export { resolveOptions, type StartServerOptions, type LogTarget } from './options.js';
export { parseArgv } from './argv.js';
export {
  parsePortSpec,
  parsePathSpec,
  formatServerStarterPort,
  parseServerStarterPort,
  formatStatusFile,
  parseStatusFile,
  type ListenSpec,
  type PortEntry,
  type StatusLine,
} from './protocol.js';
export { reduce, initialState, statusLines, retryDelayMs, type SupervisorState, type SupervisorEvent, type Effect } from './state.js';
export { inheritedSockets, isSupervised, listen, gracefulClose, closeOnSignal, notifyReady, type InheritedSocket, type ListenOptions } from './listen.js';
export { restartServer, stopServer } from './control.js';
export { UsageError, ListenError, ControlError } from './errors.js';
