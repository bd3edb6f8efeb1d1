// Ruby Resque's time formats, always in UTC (resque-protocol.md §1, §3).

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const ymd = (d: Date, sep: string) => `${d.getUTCFullYear()}${sep}${pad(d.getUTCMonth() + 1)}${sep}${pad(d.getUTCDate())}`;
const hms = (d: Date) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;

/** `worker:<id>` run_at: `Time.now.utc.iso8601` → `2026-11-22T09:27:49Z`. */
export function formatRunAt(d: Date): string {
  return `${ymd(d, '-')}T${hms(d)}Z`;
}

/** `worker:<id>:started`: `Time#to_s` → `2026-11-22 09:27:49 +0000`. */
export function formatStarted(d: Date): string {
  return `${ymd(d, '-')} ${hms(d)} +0000`;
}

/** `workers:heartbeat` value: `Time#iso8601` of Redis TIME → `2026-11-22T09:27:49+00:00`. */
export function formatHeartbeat(d: Date): string {
  return `${ymd(d, '-')}T${hms(d)}+00:00`;
}

/** Failure `failed_at`: `%Y/%m/%d %H:%M:%S %Z` → `2026/11/22 09:27:49 UTC`. */
export function formatFailedAt(d: Date): string {
  return `${ymd(d, '/')} ${hms(d)} UTC`;
}

/** Failure `retried_at` (Resque 3.0 format, which 2.x tools also parse). */
export function formatRetriedAt(d: Date): string {
  return formatFailedAt(d);
}

/** Redis `TIME` reply → Date. */
export function dateFromRedisTime([sec, usec]: [string, string]): Date {
  return new Date(Number(sec) * 1000 + Math.floor(Number(usec) / 1000));
}
