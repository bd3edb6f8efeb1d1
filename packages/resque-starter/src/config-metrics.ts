import { isIP } from 'node:net';
import { describe, type FieldReader } from './config-fields.js';

/**
 * The Prometheus endpoint of the master (`GET /metrics`): a TCP port (loopback by default) or a
 * unix socket. Off unless set. Under start-server the endpoint is handed from master to master
 * at each rolling restart (see the README, "Metrics").
 */
/** What `metrics` adds to either kind of endpoint. */
export interface MetricsDashboardConfig {
  /**
   * Serve the dashboard (`resque-starter web`'s pages) on the same endpoint, next to `/metrics`:
   * handed from master to master at each rolling restart as the endpoint is.
   * @default false
   */
  dashboard?: boolean;
  /**
   * The dashboard's token (as `resque-starter web --token`): required on every dashboard request
   * when set, and required to serve the dashboard on an address other than loopback. `/metrics`
   * itself needs none.
   */
  token?: string;
}

export type MetricsConfig = MetricsDashboardConfig &
  (
  | {
      /** TCP port, 1 to 65535. */
      port: number;
      /** Address to bind. @default '127.0.0.1' */
      host?: string;
      /**
       * The endpoint has no authentication and its labels name queues and job classes: an
       * address other than loopback (`0.0.0.0`, a LAN address) is refused unless this is true.
       * @default false
       */
      allowRemote?: boolean;
    }
  | {
      /** A unix socket path (relative to the config file's directory unless absolute). */
      path: string;
    }
  );

/** `metrics` as resolved: where to listen, how a log line names it, and the dashboard beside it. */
export type ResolvedMetrics = ({ port: number; host: string; path?: undefined } | { path: string; port?: undefined; host?: undefined }) & {
  dashboard?: boolean | undefined;
  token?: string | undefined;
};

/** Why: one clear error per mistake at the `metrics` line, as every other field; undefined when off. */
export function resolveMetrics(f: FieldReader): ResolvedMetrics | undefined {
  const raw = f.obj.metrics;
  if (raw === undefined) return undefined;
  return f.field(() => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      f.fail('metrics', `Expected \`metrics\` to be \`{ port, host }\` or \`{ path }\`, got ${describe(raw)}`);
    }
    const m = f.nested('metrics', raw as Record<string, unknown>);
    for (const key of Object.keys(m.obj)) {
      if (!METRICS_FIELDS.has(key)) m.report(key, `Unknown field \`metrics.${key}\`; known: ${[...METRICS_FIELDS].map((k) => `\`metrics.${k}\``).join(', ')}`);
    }
    const { port, host, path, allowRemote, dashboard, token } = m.obj;
    if (dashboard !== undefined && typeof dashboard !== 'boolean') m.fail('dashboard', `Expected \`metrics.dashboard\` to be true or false, got ${describe(dashboard)}`);
    if (token !== undefined && (typeof token !== 'string' || token.trim() === '')) m.fail('token', `Expected \`metrics.token\` to be a non-empty string, got ${describe(token)}`);
    const web = { ...(dashboard === true ? { dashboard: true } : {}), ...(typeof token === 'string' ? { token } : {}) };
    if (path !== undefined) {
      if (port !== undefined || host !== undefined) m.fail('path', 'Expected `metrics` to have either `path` (a unix socket) or `port` and `host`, not both');
      const p = m.optPath('path');
      if (p === undefined) return undefined;
      return { path: p, ...web };
    }
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      m.fail('port', `Expected \`metrics.port\` to be an integer from 1 to 65535, got ${describe(port)}`);
    }
    const h = host === undefined ? DEFAULT_METRICS_HOST : host;
    if (typeof h !== 'string' || h === '') return m.fail('host', `Expected \`metrics.host\` to be an address such as '127.0.0.1', got ${describe(host)}`);
    if (allowRemote !== undefined && typeof allowRemote !== 'boolean') m.fail('allowRemote', `Expected \`metrics.allowRemote\` to be true or false, got ${describe(allowRemote)}`);
    if (!isLoopback(h) && allowRemote !== true) {
      m.fail(
        'host',
        `\`metrics.host\` ${h} is not a loopback address: the endpoint has no authentication and its labels name your queues and job classes; ` +
          'set `metrics.allowRemote: true` to serve it there anyway (behind a firewall or an authenticating proxy)',
      );
    }
    if (dashboard === true && !isLoopback(h) && token === undefined) {
      m.fail('token', `\`metrics.dashboard\` on ${h} (not a loopback address) needs \`metrics.token\`: the dashboard shows every job and retries or removes failed ones`);
    }
    return { port: port as number, host: h, ...web };
  }, undefined);
}

/** `http://127.0.0.1:9394/metrics`, or `unix:/run/app/metrics.sock /metrics`: how lines and `check` name the endpoint. */
export function describeMetrics(m: ResolvedMetrics): string {
  if (m.path !== undefined) return `unix:${m.path} /metrics`;
  return `http://${m.host.includes(':') ? `[${m.host}]` : m.host}:${m.port}/metrics`;
}

/** `http://127.0.0.1:9394/`, or `unix:/run/app/metrics.sock /`: where `metrics.dashboard` serves the dashboard. */
export function describeDashboard(m: ResolvedMetrics): string {
  return describeMetrics(m).replace(/\/metrics$/, '/');
}

export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** 127.0.0.0/8, ::1, `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

// --- internal ---

const METRICS_FIELDS = new Set(['port', 'host', 'allowRemote', 'path', 'dashboard', 'token']);
