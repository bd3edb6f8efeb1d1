// What only some runs need (issue 16): the commands other than `run`, and the dashboard's pages,
// loaded in one piece when they are used. A master (on a rolling restart's critical path) does not
// compile them, nor the Resque library the dashboard and the admin commands use, to start.
export { runCheck } from './check.js';
export { openAdminQueue } from './commands/admin-queue.js';
export { adminTargets } from './commands/admin-targets.js';
export { runFailed } from './commands/failed.js';
export { queuesJson, readQueues, renderQueues } from './commands/queues.js';
export { onlyGroup, renderStatusText } from './commands/status-text.js';
export { defaultStopTimeoutMs, killAfterMs, stopMaster } from './commands/stop.js';
export { runWeb } from './commands/web.js';
export { mastersSource } from './web/masters.js';
export { StatSampler } from './web/sampler.js';
export { createDashboardHandler, sumTotals } from './web/server.js';
