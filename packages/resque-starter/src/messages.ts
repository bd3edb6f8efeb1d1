import { describeExit, logLine, type PreparedLine, type SignalName } from '@baton/process-kit';
import { DEFAULT_GROUP } from './config-groups.js';
import type { JobInfo } from './ipc.js';
import type { Predecessor, StopMode, StopReason } from './state/model.js';

// Every log line of the master, one function each: tests and operators grep for these.

/** A worker's name in log lines: its slot, or `group/slot` outside the default group (state/groups.ts `workerLabel`). */
type Slot = number | string;

/** A job line's fields (`jobLog`), in the order JSON lines carry them. */
export interface JobLineFields {
  class: string;
  queue: string;
  outcome: 'success' | 'failure' | 'retry' | 'requeued';
  /** The handler's run time (from its start to its end, before the acknowledgement), 3 decimals. */
  durationMs: number;
  attempt: number;
  /** sha1 of the payload's bytes (`InFlightJob.jobId`). */
  jobId: string;
  /** The Resque worker id of the slot that ran it. */
  worker: string;
}

const shortId = (id: string) => id.slice(0, 8);
/** A job line names the Resque id of the slot that ran it, not the worker's (they differ at `jobConcurrency` > 1). */
const JOB_LINE_OWN = ['worker'] as const;
const sec = (ms: number) => `${Math.round(ms) / 1000}s`;
const w = (slot: Slot, pid: number | undefined) => `worker[${slot}]${pid ? ` ${pid}` : ''}`;
const sig = (s: string) => s.replace(/^SIG/, '');
const REASONS: Record<StopReason, string> = {
  scale: 'scaled down',
  shutdown: 'shutdown',
  replaced: 'replaced by a new worker',
  recycle: 'recycled',
  memory: 'over maxMemory',
  'job-timeout': 'job timeout',
  'ready-timeout': 'not ready in time',
};

/** How a Redis condition reads when it starts (after the worker's name) and when it ends. */
const TROUBLE_STARTED: Record<string, string> = {
  connection: 'lost its connection to Redis',
  'write-refused': 'cannot write to Redis',
  busy: 'keeps finding jobs it does not know of (busy)',
  'redis-error': 'gets errors from Redis',
  replication: 'finds its writes short of replicas (durability)',
};
const TROUBLE_ENDED: Record<string, string> = {
  connection: 'the workers are connected to Redis again',
  'write-refused': 'the workers and the master can write to Redis again',
  busy: 'the workers reserve normally again',
  'redis-error': 'Redis commands succeed again',
  replication: 'the workers\' writes reach their replicas again',
};

/** The worker a master line is about, as its JSON line names it. */
export interface WorkerRef {
  group: string;
  slot: number;
  pid: number | undefined;
  /** Its Resque worker id, once it said hello. */
  id?: string | undefined;
}

/**
 * What a master line about a worker or a rolling-restart step is, for machines: `worker-started`,
 * `worker-ready`, `worker-exited`, `worker-died`, `worker-recycling`, … (README, "Logs").
 */
export type MasterEventName =
  | 'worker-started'
  | 'worker-start-failed'
  | 'worker-ready'
  | 'worker-fatal'
  | 'worker-exited'
  | 'worker-died'
  | 'worker-ready-timeout'
  | 'worker-stop-timeout'
  | 'worker-kill-timeout'
  | 'worker-recycling'
  | 'worker-over-memory'
  | 'job-timeout'
  | 'job-killed'
  | 'jobs-recovered'
  | 'jobs-recovery-failed'
  | 'job-failed-timeout'
  | 'crash-loop'
  | 'old-worker-retired'
  | 'rolling-restart-started'
  | 'rolling-restart-done'
  | 'rolling-restart-aborted'
  | 'rolling-restart-force-retire'
  | 'rolling-restart-old-master-gone'
  | 'rolling-restart-restore'
  | 'replaced-started'
  | 'replaced-done'
  | 'replaced-ended'
  | 'reload-replacing'
  | 'reload-done'
  | 'reload-aborted';

/**
 * Why: a JSON line of the master about one worker carries it as fields (`pid` of the line is
 * the master's own): its slot, its group (outside the default one, as text lines name it), its
 * pid and Resque id, and what happened (`event`, then the event's own fields).
 */
export function workerFields(event: MasterEventName, w: WorkerRef, more: Record<string, unknown> = {}): Record<string, unknown> {
  return { event, slot: w.slot, group: groupField(w.group), workerPid: w.pid, worker: w.id, ...more };
}

/** A group as JSON lines name it: only where groups exist (the default group of a config without `groups` is left out). */
export function groupField(group: string | undefined): string | undefined {
  return group === DEFAULT_GROUP ? undefined : group;
}

/** The fields of a master line that is a step of a rolling restart (or any master event not about one worker). */
export function eventFields(event: MasterEventName, more: Record<string, unknown> = {}): Record<string, unknown> {
  return { event, ...more };
}

export const messages = {
  schedulerStarted: (where: string, lockTtlMs: number, entries: number) =>
    `scheduler on ${where}: delayed jobs, retries${entries ? ` and ${entries} recurring job(s)` : ''}; one master on this Redis leads (lock ${sec(lockTtlMs)})`,
  scheduleTick: (name: string, tickMs: number, queue: string) => `scheduler: enqueued ${name} (run of ${new Date(tickMs).toISOString()}, tick ${tickMs}) on ${queue}`,
  // Job lines (`jobLog`, worker-job-log.ts): their fields go with them in JSON lines.
  /** A success in the text format (which prints no fields): the message says it all. */
  jobDone: (j: Omit<JobLineFields, 'outcome' | 'worker'>): PreparedLine => ({
    message: `job ${j.class} on ${j.queue} done in ${j.durationMs} ms (attempt ${j.attempt}, id ${shortId(j.jobId)})`,
    members: '',
    own: JOB_LINE_OWN,
  }),
  /** A success's message in JSON lines: the same for every job of a class on a queue; duration, attempt and id are fields. */
  jobDoneJsonMessage: (cls: string, queue: string) => `job ${cls} on ${queue} done`,
  /** A JSON success line: its message as a JSON string (`logger.jsonText`) and its fields as members (`logger.member`). */
  jobDoneJson: (messageJson: string, members: string): PreparedLine => ({ message: '', messageJson, members, own: JOB_LINE_OWN }),
  jobFailed: (j: JobLineFields, exception: string, error: string) =>
    logLine(`job ${j.class} on ${j.queue} failed in ${j.durationMs} ms (attempt ${j.attempt}, id ${shortId(j.jobId)}): ${exception}: ${error}`, { ...j, exception, error }),
  jobRetry: (j: JobLineFields, exception: string, error: string, at: Date) =>
    logLine(`job ${j.class} on ${j.queue} failed (attempt ${j.attempt}): ${error}; retry ${j.attempt} at ${at.toISOString()}`, { ...j, exception, error, retryAt: at.toISOString() }),
  jobRequeued: (j: JobLineFields) =>
    logLine(`job ${j.class} on ${j.queue} went back to the head of its queue after ${j.durationMs} ms (the worker was stopped; attempt ${j.attempt}, id ${shortId(j.jobId)})`, { ...j }),
  schedulerOff: () => 'scheduler off (`scheduler.enabled: false`): this master moves no delayed jobs and enqueues no recurring ones',
  schedulerStartFailed: (where: string, error: string) => `scheduler on ${where} could not start: ${error}; delayed jobs and retries wait for another master`,
  schedulerReloadKeeps: () => 'reload: `scheduler` (enabled, lockTtl) and the Redis it uses take effect at the next restart; the new `schedule` is in use',
  scheduleRefused: (error: string) => `reload: the new schedule was refused (${error}); the old one stays`,
  starting: (pid: number, concurrency: number, queues: readonly string[], redis: string, generation: number | undefined) =>
    `master ${pid} starting ${concurrency} worker(s) on queues ${queues.join(',')} (redis ${redis})` +
    (generation !== undefined ? `, start-server generation ${generation}` : ''),
  backlogReason: (depth: number, perWorker: number) => `${depth} job(s) waiting, ${perWorker} per worker`,
  waitReason: (ms: number, maxMs: number) => `the oldest job has waited ${sec(ms)} > maxWait ${sec(maxMs)}`,
  autoscaleHeld: (group: string, from: number, to: number, why: string) =>
    `autoscale of group ${group} held at ${from} during a rolling restart (it would go to ${to}: ${why})`,
  backlogFailed: (group: string, error: string) => `autoscale of group ${group}: cannot read its queues (${error}); next sample later`,
  groupPaused: (group: string, paused: boolean, n: number) =>
    `${paused ? 'pause' : 'resume'} group ${group}: ${paused ? 'its workers finish their jobs and take no new one' : 'its workers take jobs again'} (${n} worker(s))`,
  askedToRetire: (pid: number, group: string | undefined) => `asked old master ${pid} to retire one worker${group ? ` of group ${group}` : ''}`,
  startingGroups: (pid: number, groups: readonly string[], generation: number | undefined) =>
    `master ${pid} starting ${groups.length} worker groups: ${groups.join('; ')}` + (generation !== undefined ? `, start-server generation ${generation}` : ''),
  supervisorGone: (was: number, now: number) =>
    `start-server ${was} is gone (our parent is now ${now}): graceful shutdown, the jobs in flight finish first`,
  configCompiled: (entry: string) => `config compiled for the workers: ${entry} (they import it natively)`,
  configNotCompiled: (why: string) => `config not compiled (workers load it with jiti): ${why}`,
  configLoaded: (path: string, ms: number) => `config ${path} loaded in ${Math.round(ms)} ms (types are not checked here: \`resque-starter check --types\` does)`,
  spawnedWorker: (slot: Slot, pid: number, retire: number | undefined) =>
    `starting ${w(slot, pid)}${retire ? ` (will retire one worker of old master ${retire})` : ''}`,
  spawnFailed: (slot: Slot, error: string) => `could not start worker[${slot}]: ${error}`,
  /** `group`: the worker's group when not the default one. */
  workerReady: (slot: Slot, pid: number, ms: number, retire: number | undefined, group?: string) =>
    `${w(slot, pid)} ready in ${Math.round(ms)} ms${!retire ? '' : `; asked old master ${retire} to retire one worker${group ? ` of group ${group}` : ''}`}`,
  workerExited: (slot: Slot, pid: number, reason: StopReason, code: number | null, signal: string | null, mode: StopMode) =>
    `${w(slot, pid)} exited (${REASONS[reason]}${mode !== 'graceful' ? `, ${mode} stop` : ''}): ${describeExit(code, signal)}`,
  workerDied: (slot: Slot, pid: number, code: number | null, signal: string | null, wasReady: boolean) =>
    `${w(slot, pid)} died ${wasReady ? '' : 'before it was ready '}(${describeExit(code, signal)}); its jobs go back to their queues`,
  exitPhrase: (code: number | null, signal: string | null) => `it exited before it was ready (${describeExit(code, signal)})`,
  notReadyIn: (ms: number) => `it was not ready within readyTimeout (${sec(ms)})`,
  workerFatal: (slot: Slot, pid: number, message: string) => `${w(slot, pid)} cannot start: ${message}`,
  crashLoop: (deaths: number, windowMs: number, delayMs: number) =>
    `${deaths} workers died within ${sec(windowMs)}: waiting ${sec(delayMs)} before starting another (crash loop)`,
  readyTimeout: (slot: Slot, pid: number | undefined, ms: number) => `${w(slot, pid)} not ready after ${sec(ms)}: killing it`,
  stopTimeout: (slot: Slot, pid: number | undefined, ms: number) =>
    `${w(slot, pid)} still busy ${sec(ms)} after it was asked to finish (stopTimeout): stopping it now, its jobs go back to their queues`,
  killTimeout: (slot: Slot, pid: number | undefined, ms: number) => `${w(slot, pid)} still alive ${sec(ms)} after TERM: sending SIGKILL`,
  jobTimeout: (slot: Slot, pid: number, job: JobInfo, ms: number) =>
    `${w(slot, pid)}: job ${job.class} on ${job.queue} has run longer than jobTimeout (${sec(ms)}): aborting it`,
  jobKilled: (slot: Slot, pid: number | undefined, job: JobInfo, ms: number) =>
    `${w(slot, pid)}: job ${job.class} ignored its abort for ${sec(ms)}: killing the worker (SIGKILL)`,
  jobTimeoutFailure: (ms: number) => `the job ran longer than jobTimeout (${sec(ms)}) and did not stop when aborted; its worker was killed`,
  jobFailedTimeout: (pid: number, job: JobInfo) => `job ${job.class} on ${job.queue} of killed worker ${pid} recorded as failed (jobTimeout); it is not run again`,
  retiredForWorker: (slot: Slot, old: number) =>
    `worker[${slot}]'s afterFork did not call retireOldWorker(): the master asked old master ${old} itself to retire one worker`,
  reapingGroup: (pid: number, left: readonly number[]) =>
    `worker ${pid}'s jobs left ${left.length} process(es) in its group (${left.join(',')}): TERM, then KILL after termTimeout (reapJobProcesses)`,
  effectFailed: (what: string, error: string) => `${what} failed: ${error}`,
  atCeiling: (by: string, max: number) => `${by} ignored: already at maxConcurrency (${max} workers)`,
  recoveringBeforeExit: (n: number) => `waiting for the jobs of ${n} dead worker(s) to go back to their queues before exiting`,
  recoverTimedOut: (ms: number) => `gave up waiting for job recovery after ${sec(ms)} (Redis unreachable?); another worker's janitor will put the jobs back once their locks lapse`,
  overMemory: (slot: Slot, pid: number | undefined, kb: number, maxKb: number) =>
    `${w(slot, pid)} uses ${Math.round(kb / 1024)} MB (RssAnon) > maxMemory ${Math.round(maxKb / 1024)} MB: recycling it after its current job`,
  recycling: (slot: Slot, pid: number, reason: string) => `${w(slot, pid)} is recycling (${reason}); a new worker takes its slot`,
  recovered: (pid: number, count: number) => `put ${count} in-flight job(s) of dead worker ${pid} back at the head of their queues`,
  recoverFailed: (pid: number, error: string) => `could not recover the jobs of worker ${pid}: ${error}`,
  received: (signal: SignalName, action: string, workers: number) => `received ${sig(signal)}: ${action} (${workers} worker(s))`,
  stopAgain: (signal: SignalName, workers: number) => `received ${sig(signal)} again while stopping; waiting for ${workers} worker(s)`,
  scaled: (by: string, from: number, to: number) => `${by}: ${from} → ${to} worker(s)`,
  reloading: (source: string) => `${source}: reloading the config`,
  reloadQueued: (source: string) => `${source}: a reload is already under way; another one follows it`,
  reloadFailed: (error: string) => `config reload failed, keeping the running config and workers: ${error}`,
  replacingWorkers: (n: number, desired: number) => `config reloaded: replacing ${n} worker(s) one by one (at most ${desired + 1} alive)`,
  reloadGroups: (plan: { replaced: string[]; added: string[]; removed: string[]; kept: string[] }, why: string) =>
    `config reloaded (${why}): ${[
      plan.replaced.length ? `group(s) ${plan.replaced.join(', ')} replaced worker by worker` : '',
      plan.added.length ? `group(s) ${plan.added.join(', ')} added` : '',
      plan.removed.length ? `group(s) ${plan.removed.join(', ')} removed (their workers finish their jobs)` : '',
      plan.kept.length ? `group(s) ${plan.kept.join(', ')} unchanged (workers kept)` : '',
    ]
      .filter(Boolean)
      .join('; ')}`,
  reloadDone: (ms: number, n: number) => `rolling replacement done in ${sec(ms)}: ${n} worker(s) on the new config`,
  reloadAborted: (slot: Slot, why: string, kept: number) =>
    `rolling replacement stopped: the new worker[${slot}] failed (${why}); ${kept} worker(s) keep running the previous code`,
  ignoredWhileReplaced: (what: string) => `${what} ignored: a newer master is taking over from this one`,
  takeoverStarted: (predecessors: readonly Predecessor[], desired: number) =>
    `rolling restart: taking over from old master(s) ${predecessors.map((p) => `${p.pid}${p.generation !== undefined ? ` (generation ${p.generation})` : ''} with ${p.live} worker(s)`).join(', ')}; ` +
    `one worker at a time, at most ${desired + 1} alive`,
  oldMaster: (pid: number, generation: number | undefined) => `old master ${pid}${generation !== undefined ? ` (generation ${generation})` : ''}`,
  thisMaster: 'this master',
  countKept: (n: number, configured: number, who: string) =>
    `concurrency ${n}: the runtime count of ${who} (set by scale, TTIN or TTOU) is kept, as the config's concurrency (${configured}) has not changed since ${who} loaded it`,
  countFromConfig: (n: number, was: number, runtime: number, who: string) =>
    `concurrency ${n} from the config: it changed from ${was} since ${who} loaded it, so the count ${who} ran (${runtime}) is not kept`,
  countUnchanged: (n: number, who: string) => `concurrency ${n} from the config, as ${who} ran it`,
  takeoverDone: (ms: number, ready: number, predecessors: readonly number[]) =>
    `rolling restart done in ${sec(ms)}: ${ready} new worker(s) ready; old master(s) ${predecessors.join(',') || 'none'} have no workers left`,
  takeoverAborted: (slot: Slot, why: string, predecessors: readonly number[]) =>
    `rolling restart aborted: new worker[${slot}] failed (${why}); old master(s) ${predecessors.join(',')} keep serving and get their workers back; this master exits`,
  forcingRetire: (pid: number, live: number, desired: number) =>
    `old master ${pid} has ${live} worker(s), more than fit beside a new one (concurrency ${desired}): sending it TTOU`,
  restoringPredecessors: (pids: readonly number[]) => `giving old master(s) ${pids.join(',')} their workers back`,
  beingReplaced: (by: number, generation: number | undefined, n: number) =>
    `master ${by}${generation !== undefined ? ` (generation ${generation})` : ''} is taking over: marking ${n} worker(s) OLD; each TTOU retires one, then this master exits`,
  replacementEnded: (by: number, reason: 'restore' | 'lost', desired: number) =>
    `new master ${by} ${reason === 'restore' ? 'gave up its rolling restart' : 'went away during the rolling restart'}: back to ${desired} worker(s)`,
  replacedDone: (by: number) => `last worker gone; master ${by} has taken over: exiting`,
  predecessorGone: (pid: number) => `old master ${pid} is gone`,
  oldMasterUnlinked: (pid: number, error: string) => `old master ${pid} does not answer on its control socket (${error}); counting its workers through /proc`,
  masterExiting: (code: number) => `master exiting${code ? ` with code ${code}` : ''}`,
  pidFileTaken: (path: string, old: number) => `took over pid file ${path} from old master ${old}`,
  reopenedLogs: (path: string) => `reopened log file ${path}`,
  restartFile: (path: string) => `restart file ${path} touched`,
  privilegesIgnored: () => '`user`/`group` ignored: the master is not running as root',

  // --- Redis trouble, once per condition (master/redis-health.ts) ---
  redisTroubleStarted: (from: { slot: number; pid: number } | 'master', condition: string, message: string, where = '') =>
    `${from === 'master' ? 'the master' : w(from.slot, from.pid)} ${TROUBLE_STARTED[condition] ?? `reports Redis trouble (${condition})`}${where ? ` (${where})` : ''}: ${message}; ` +
    'logged once until it clears',
  redisTroubleEnded: (condition: string, ms: number, where = '') =>
    `${TROUBLE_ENDED[condition] ?? `Redis trouble (${condition}) cleared`}${where ? ` (${where})` : ''} after ${sec(ms)}`,
  redisTroubleLeft: (condition: string, ms: number) => `Redis trouble (${condition}): the workers that reported it are gone (${sec(ms)})`,
  redisLost: (where: string, error: string) => `lost the connection to Redis (${where}): ${error}; reconnecting, logged once until it is back`,
  redisBack: (ms: number, now: string | undefined, was: string | undefined) =>
    now && was && now !== was
      ? `Redis failover: the primary is now ${now} (was ${was}); the master was without Redis for ${sec(ms)}`
      : `reconnected to Redis${now ? ` (${now})` : ''} after ${sec(ms)}`,

  // --- the master's wiring ---
  workerError: (pid: number, error: string) => `worker ${pid}: ${error}`,
  earlySpareStopped: (pid: number) => `spare ${pid} started before the config was loaded, stopped: the config's logFile, user or group is not what it was started with`,
  spareStarted: (pid: number, early: boolean) =>
    early ? `spare ${pid} started before the config was loaded, kept (loads our code ahead of the first slot; no app code until it has one)` : `spare ${pid} started (loads our code ahead of the next slot; no app code until it has one)`,
  spareTaken: (pid: number) => `spare ${pid} handed the slot`,
  spareExited: (pid: number, code: number | null, signal: string | null) => `spare ${pid} exited (${signal ? `signal ${signal}` : `code ${code}`})`,
  spareFailed: (error: string) => `a spare could not be started: ${error}`,
  statusFileFailed: (path: string, error: string) => `could not write statusFile ${path}: ${error}`,
  reloadKeepsFiles: () => 'pidFile, statusFile and logFile changes apply only to a new master (restart through start-server)',
  pidFileReclaimFailed: (path: string, error: string) => `could not take back pid file ${path}: ${error}`,
  holdingLeasesFailed: (error: string) => `holding worker leases: ${error}`,
  redisWatchFailed: (error: string) => `not watching the Redis connection: ${error}`,
  cleanupFailed: (error: string) => `cleanup: ${error}`,
  predecessorNotLinked: (pid: number) => `old master ${pid} is not linked; send it TTIN to give it workers back`,
  // --- metrics (master/metrics.ts) ---
  metricsListening: (where: string) => `metrics on ${where}`,
  metricsReleased: (where: string) => `metrics: gave ${where} up (a new master serves it)`,
  metricsCannotListen: (where: string, error: string) => `metrics: cannot listen on ${where} (${error}); trying again every second`,
  metricsSeedTimeout: (pids: readonly number[], ms: number) =>
    `metrics: old master(s) ${pids.join(', ')} sent no counters within ${sec(ms)}; serving without them`,
  metricsSampleFailed: (group: string, error: string) => `metrics: sampling the queues of group ${group}: ${error}`,
  // --- the worker process ---
  resqueWorkerError: (error: string) => `resque worker: ${error}`,
  workerCannotStart: (error: string) => `cannot start: ${error}`,
  workerStartTimings: (t: {
    sinceExec: number;
    cpu: number;
    imports: number;
    config: number;
    resque: number;
    start: number;
    afterFork: number;
    /** A spare: ms from being handed its slot. */
    sinceSlot?: number | undefined;
  }) =>
    `ready ${Math.round(t.sinceExec)} ms after exec, ${t.cpu} ms CPU (imports ${Math.round(t.imports)} ms, config ${Math.round(t.config)} ms, ` +
    `Resque module ${Math.round(t.resque)} ms more, Resque worker start ${Math.round(t.start)} ms, afterFork ${Math.round(t.afterFork)} ms` +
    `${t.sinceSlot === undefined ? '' : `; a spare, ready ${Math.round(t.sinceSlot)} ms after it was handed its slot`})`,
  /** The master's counterpart of workerStartTimings: from exec to its loop open (its first worker starts then). */
  masterStartTimings: (t: { sinceExec: number; cpu: number; imports: number; config: number; redis: number; takeover?: number | undefined }) =>
    `ready to start workers ${Math.round(t.sinceExec)} ms after exec, ${t.cpu} ms CPU (imports ${Math.round(t.imports)} ms, config ${Math.round(t.config)} ms, ` +
    `Redis check ${Math.round(t.redis)} ms${t.takeover === undefined ? '' : `, linking to the old master(s) ${Math.round(t.takeover)} ms`})`,
  workerRecycling: (reason: string) => `recycling: ${reason}`,
  workerAborting: () => 'aborting the current jobs',
  workerStopFailed: (error: string) => `stopping: ${error}`,
  workerOrphaned: (masterPid: number, why: string) => `master ${masterPid} is gone (${why}): finishing the current job, then exiting`,
  groupWithoutUser: (group: string | number) =>
    `\`group\` without \`user\`: the workers run as group \`${group}\` but still as root (uid 0); set \`user\` to drop root`,

  // systemd / start-server --ready-notify
  sdNotifyFailed: (why: string) => `sd_notify: ${why}`,
  reportedReady: (fd: number) => `ready: told start-server READY=1 (SERVER_STARTER_NOTIFY_FD ${fd})`,

  // `resque-starter web` (the dashboard)
  webListening: (url: string, token: boolean) => `dashboard on ${url}${token ? ' (token required: open it once with ?token=…, or send Authorization: Bearer …)' : ''}`,
  webStopping: (signal: string) => `dashboard: ${signal}: closing`,
  webRequestFailed: (method: string, url: string, error: string) => `dashboard: ${method} ${url}: ${error}`,
  webPostRefused: (path: string, why: string) => `dashboard: POST ${path} refused: ${why}`,
  webFailedAction: (done: 'retried' | 'removed', what: string) => `dashboard: ${done} ${what}`,
} as const;
