import { DURATION_RANGES, fieldIndex, locate, type DurationField, type ResolveContext } from './config-fields.js';

/** Something valid but probably not meant, shown by `check` (exit 0). */
export interface ConfigWarning {
  /** `file:line:col` of the field, else the file. */
  location: string;
  message: string;
  /** The field it is about (`jobTimeout`, `crashLoop.delay`). */
  field: string;
}

/** What the warnings compare against: the host `check` runs on. */
export interface HostFacts {
  cpus: number;
  totalMemoryMb: number;
}

/** Workers per CPU core above which `concurrency` is probably a mistake. */
export const WORKERS_PER_CPU = 4;

/** Below this many MB, `maxMemory` recycles a worker after every job (a Node worker at rest uses ~40 MB). */
export const MIN_SENSIBLE_MAX_MEMORY_MB = 32;

/**
 * Why: the values a habit from elsewhere gets wrong are in range, so validation passes them:
 * milliseconds where seconds are meant (`jobTimeout: 30_000` is 8.3 hours), a worker count
 * meant for jobs in one process, memory in bytes or GB where MB are meant. `check` names each
 * with the line, the value as it reads, and what was probably meant. Pure, and reads the
 * config file's default export as written, so the warnings come with the errors of a config
 * that does not validate (a value of the wrong type is the error's business, not a warning's).
 */
export function configWarnings(raw: Readonly<Record<string, unknown>>, ctx: ResolveContext, host: HostFacts): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const warn = (field: string, message: string, location = locate(ctx, field)) => warnings.push({ location, message, field });

  const crashLoop = (isObject(raw.crashLoop) ? raw.crashLoop : {}) as Readonly<Record<string, unknown>>;
  for (const label of Object.keys(DURATION_RANGES) as DurationField[]) {
    const [outer, inner] = label.split('.') as [string, string | undefined];
    const value = inner === undefined ? raw[outer] : crashLoop[inner];
    if (typeof value !== 'number' || !looksLikeMilliseconds(value)) continue;
    warn(
      label,
      `\`${label}: ${value}\` is ${describeSeconds(value)}: durations are in seconds, not milliseconds; did you mean \`${label}: ${value / 1000}\`?`,
      locate(ctx, inner ?? outer, inner === undefined ? 0 : (fieldIndex(ctx, outer, 0) ?? 0)),
    );
  }

  const limit = WORKERS_PER_CPU * host.cpus;
  if (typeof raw.concurrency === 'number' && raw.concurrency > limit) {
    warn(
      'concurrency',
      `\`concurrency: ${raw.concurrency}\` is more than ${WORKERS_PER_CPU} worker processes per CPU core (this host has ${host.cpus}): ` +
        'each worker is a process of its own; for many jobs at once in one process, set `jobConcurrency`',
    );
  }

  const mb = raw.maxMemory;
  if (typeof mb === 'number' && mb > 0) {
    if (mb > host.totalMemoryMb) {
      warn('maxMemory', `\`maxMemory: ${mb}\` is more than this host's memory (${host.totalMemoryMb} MB): \`maxMemory\` is in MB`);
    } else if (mb < MIN_SENSIBLE_MAX_MEMORY_MB) {
      warn(
        'maxMemory',
        `\`maxMemory: ${mb}\` MB is less than a Node worker uses at rest (~40 MB), so every worker is recycled after each job: \`maxMemory\` is in MB`,
      );
    }
  }

  if (isObject(raw.jobs) && Object.keys(raw.jobs).length === 0) {
    warn('jobs', '`jobs` names no job class: every job the workers take fails as an unknown class');
  }
  return warnings;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A whole number of thousands (not of hours): `30000`, `5000`, not `3600` or `7200`. */
function looksLikeMilliseconds(seconds: number): boolean {
  return Number.isFinite(seconds) && seconds >= 1000 && seconds % 1000 === 0 && seconds % 3600 !== 0;
}

/** `8.3 hours`, `17 minutes`, `1.2 days`. */
export function describeSeconds(seconds: number): string {
  const round = (n: number) => (n >= 10 ? String(Math.round(n)) : String(Math.round(n * 10) / 10));
  if (seconds >= 86_400) return `${round(seconds / 86_400)} days`;
  if (seconds >= 3600) return `${round(seconds / 3600)} hours`;
  if (seconds >= 60) return `${round(seconds / 60)} minutes`;
  return `${round(seconds)} seconds`;
}
