export { Queue, type QueueOptions, type FailureRecord, type WorkerDetail } from './queue.js';
export {
  Worker,
  currentJob,
  AbortJobError,
  type WorkerOptions,
  type WorkerHooks,
  type WorkerEvents,
  type WorkerState,
  type WorkerLogger,
  type JobContext,
  type JobHandler,
  type InFlightJob,
  type JobFailure,
} from './worker.js';
export { createKeys, type Keys } from './keys.js';
export { encodeJob, decodeJob, encodeFailure, jobIdOf, encodeWorkingOn, describeThrown, type JobPayload } from './payload.js';
export { formatWorkerId, parseWorkerId, type WorkerId } from './worker-id.js';
export { resolveQueues, isDynamic, fnmatch } from './queues.js';
export { formatRunAt, formatStarted, formatHeartbeat, formatFailedAt } from './time.js';
export {
  createRedis,
  closeRedis,
  describeRedis,
  redactRedis,
  redactUrl,
  validateRedisInput,
  isClusterInput,
  assertClusterNamespace,
  hashTagOf,
  defaultReconnectOnError,
  WRONG_NODE,
  RedisInputError,
  type RedisInput,
  type RedisClient,
  type ClusterSpec,
  type ClusterNodeInput,
} from './connect-options.js';
export { DataStore } from './data-store.js';
export { DurabilityError, type DurabilityOptions } from './durability.js';
export { type RedisTrouble, type RedisCondition } from './trouble.js';
export { Scheduler, type SchedulerOptions, type SchedulerEvents } from './scheduler.js';
export { resolveSchedule, parsePeriod, nextTicks, ScheduleError, type ScheduleIssue, type ScheduleEntry, type ScheduleInput, type ResolvedEntry } from './schedule.js';
export { encodeDelayed, decodeDelayed, type DelayedJob } from './delayed.js';
export { DelayedStore, type Moved } from './delayed-store.js';
export { backoffMs, retryDelayMs, shouldRetry, retryStateOf, type RetryOptions, type JobDefinition, type RetryState } from './retry.js';
