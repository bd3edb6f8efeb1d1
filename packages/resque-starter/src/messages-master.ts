// Log lines of the master's wiring and of the worker process that are not in messages.ts yet,
// one function each (to be merged into messages.ts): tests and operators grep for these.

export const masterMessages = {
  // --- master ---
  workerError: (pid: number, error: string) => `worker ${pid}: ${error}`,
  statusFileFailed: (path: string, error: string) => `could not write statusFile ${path}: ${error}`,
  reloadKeepsFiles: () => 'pidFile, statusFile and logFile changes apply only to a new master (restart through start-server)',
  pidFileReclaimFailed: (path: string, error: string) => `could not take back pid file ${path}: ${error}`,
  holdingLeasesFailed: (error: string) => `holding worker leases: ${error}`,
  cleanupFailed: (error: string) => `cleanup: ${error}`,
  predecessorNotLinked: (pid: number) => `old master ${pid} is not linked; send it TTIN to give it workers back`,
  // --- worker process ---
  resqueWorkerError: (error: string) => `resque worker: ${error}`,
  workerCannotStart: (error: string) => `cannot start: ${error}`,
  workerStartTimings: (t: { sinceExec: number; cpu: number; imports: number; config: number; resque: number; start: number; afterFork: number }) =>
    `ready ${Math.round(t.sinceExec)} ms after exec, ${t.cpu} ms CPU (imports ${Math.round(t.imports)} ms, config ${Math.round(t.config)} ms, ` +
    `Resque module ${Math.round(t.resque)} ms more, Resque worker start ${Math.round(t.start)} ms, afterFork ${Math.round(t.afterFork)} ms)`,
  workerRecycling: (reason: string) => `recycling: ${reason}`,
  workerAborting: () => 'aborting the current jobs',
  workerStopFailed: (error: string) => `stopping: ${error}`,
  workerOrphaned: (masterPid: number, why: string) => `master ${masterPid} is gone (${why}): finishing the current job, then exiting`,
} as const;
