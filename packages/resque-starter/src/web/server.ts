import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@baton/process-kit';
import type { ResolvedConfig } from '../config.js';
import { runFailed } from '../commands/failed.js';
import { messages } from '../messages.js';
import { checkAccess, checkPost, csrfToken, loginCookie } from './auth.js';
import { FailedIndex, isFiltered, readFilteredPage, type FailedFilter } from './failed-index.js';
import type { Html } from './html.js';
import { readMasters, type MastersSource } from './masters.js';
import { filterQuery, renderDelayed, renderFailed, renderLayout, renderMasters, renderMessagePage, renderOverview, renderQueuePage, renderQueues, renderWorkers, type PageName } from './render.js';
import { failedAt, PAGE_SIZE, readDelayedPage, type FailedPage, readFailedPage, readQueuePage, readQueuesReport, readTotals, readWorkersPage, type Totals, type WebTarget } from './resque-views.js';
import type { StatSampler } from './sampler.js';

// The dashboard's HTTP side: routing, access, the four failed-list actions. Pages are GETs that
// only read; every change is a POST from the dashboard's own form, answered with a redirect
// back to the page it came from (post/redirect/get).

export interface DashboardOptions {
  config: ResolvedConfig;
  targets: WebTarget[];
  masters: MastersSource;
  /** Required on every request when set (a non-loopback bind always has one). */
  token: string | undefined;
  sampler: StatSampler;
  /** The sampler's period (the sparkline's time axis). */
  sampleEveryMs: number;
  /** Live refresh period of the pages that poll. */
  refreshMs: number;
  /** A page gives up on Redis after this long (503 with the reason). */
  readTimeoutMs: number;
  logger: Logger;
  /**
   * The secret the forms' CSRF token is made from; default a new one per process (a restart
   * invalidates open pages). The master's dashboard passes one its successors read too.
   */
  secret?: string | undefined;
}

/** Answers one request of the dashboard. */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Why: the dashboard as a plain `http.Server` (the command listens and closes it; tests may embed it). */
export function createDashboard(o: DashboardOptions): Server {
  const server = createServer(createDashboardHandler(o));
  server.keepAliveTimeout = 5000;
  return server;
}

/** Why: the same dashboard inside another server (the master's metrics endpoint serves it next to `/metrics`). */
export function createDashboardHandler(o: DashboardOptions): DashboardHandler {
  const secret = o.secret ?? randomBytes(32).toString('hex');
  const csrf = csrfToken(secret);
  // The failed filter's index of each target's list, made at its first filtered (or failed) page.
  const indexes = new Map<number, FailedIndex>();
  const indexOf = (t: number): FailedIndex => {
    let i = indexes.get(t);
    if (!i) indexes.set(t, (i = new FailedIndex((o.targets[t] ?? o.targets[0]!).queue)));
    return i;
  };
  const handler: DashboardHandler = (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const message = (err as Error).message ?? String(err);
      o.logger.warn(messages.webRequestFailed(req.method ?? '?', (req.url ?? '?').replace(/([?&]token=)[^&]*/, '$1…'), message));
      if (!res.headersSent) send(res, 503, renderMessagePage('Not available', message), 'text/html');
      else res.end();
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const access = checkAccess(
      { method: req.method ?? 'GET', host: req.headers.host, cookie: req.headers.cookie, authorization: req.headers.authorization, queryToken: url.searchParams.get('token') },
      o.token,
    );
    if (access.ok === false) {
      const headers: Record<string, string> = access.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="resque-starter"' } : {};
      return send(res, access.status, renderMessagePage(access.status === 401 ? 'Token required' : 'Forbidden', access.reason), 'text/html', headers);
    }
    if (access.ok === 'login') {
      // The token leaves the address bar (and the history) at once.
      url.searchParams.delete('token');
      return redirect(res, `${url.pathname}${url.search}`, { 'Set-Cookie': loginCookie(access.cookie) });
    }
    if (req.method === 'POST') return await post(req, res, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, renderMessagePage('Method not allowed', `${req.method} is not allowed here`), 'text/html', { Allow: 'GET, HEAD, POST' });
    const partial = url.searchParams.get('partial') === '1';
    const t = targetIndex(url);
    const target = o.targets[t] ?? o.targets[0]!;
    const pageNo = Number(url.searchParams.get('page') ?? 1);
    const per = Number(url.searchParams.get('per') ?? PAGE_SIZE);
    switch (url.pathname) {
      case '/': {
        const [totals, masters] = await timed(Promise.all([sumTotals(o.targets), readMasters(o.masters)]));
        return page(res, 'overview', 'Overview', renderOverview({ totals, rates: o.sampler.rates(), everyMs: o.sampleEveryMs, masters }), partial, totals.failedList);
      }
      case '/masters':
        return page(res, 'masters', 'Masters', renderMasters(await readMasters(o.masters)), partial);
      case '/queues': {
        const reports = await timed(
          Promise.all(
            o.targets.map(async (x, i) => {
              const report = await readQueuesReport(x.queue);
              const next = await readDelayedPage(x.queue, 1, NEXT_DELAYED, report.queues.reduce((n, q) => n + q.delayed, 0));
              return { where: x.where, groups: x.groups, report, next, t: o.targets.length > 1 ? i : undefined };
            }),
          ),
        );
        return page(res, 'queues', 'Queues', renderQueues(reports, new Date()), partial, reports.reduce((n, r) => n + r.report.failed, 0));
      }
      case '/failed': {
        const filter = filterOf(url.searchParams);
        // The filter form sends its empty fields too: the address bar gets the short form.
        if (['class', 'queue', 'exception'].some((k) => url.searchParams.get(k)?.trim() === '')) {
          const q = new URLSearchParams(filterQuery(filter));
          for (const k of ['t', 'per']) if (url.searchParams.get(k)) q.set(k, url.searchParams.get(k)!);
          return redirect(res, `/failed${q.size > 0 ? `?${q}` : ''}`);
        }
        const index = indexOf(t);
        const read: Promise<FailedPage & { listTotal?: number }> = isFiltered(filter) ? readFilteredPage(index, target.queue, filter, pageNo, per) : readFailedPage(target.queue, pageNo, per);
        const [p, facets] = await timed(Promise.all([read, index.facets()]));
        const listTotal = p.listTotal ?? p.paging.total;
        const main = renderFailed(p, { csrf, t: tParam(url), flash: flashOf(url), error: errorOf(url), filter, facets, listTotal });
        return page(res, 'failed', 'Failed', main, partial, listTotal, t);
      }
      case '/delayed': {
        const p = await timed(readDelayedPage(target.queue, pageNo, per));
        return page(res, 'queues', 'Delayed', renderDelayed(p, { t: tParam(url), now: new Date() }), partial, undefined, t);
      }
      case '/workers': {
        const p = await timed(readWorkersPage(target.queue, o.config, pageNo, per));
        return page(res, 'workers', 'Workers', renderWorkers(p, { t: tParam(url), now: new Date() }), partial, undefined, t);
      }
      case '/api/stats': {
        const [totals, masters] = await timed(Promise.all([sumTotals(o.targets), readMasters(o.masters)]));
        return send(res, 200, JSON.stringify({ totals, rates: o.sampler.rates(), sampleEveryMs: o.sampleEveryMs, masters }), 'application/json');
      }
      case '/api/masters':
        return send(res, 200, JSON.stringify(await readMasters(o.masters)), 'application/json');
      case '/favicon.ico':
        res.writeHead(204).end();
        return;
      default: {
        const queue = /^\/queues\/([^/]+)$/.exec(url.pathname)?.[1];
        if (queue !== undefined) {
          let name: string;
          try {
            name = decodeURIComponent(queue);
          } catch {
            return send(res, 404, renderMessagePage('Not found', 'not a queue name'), 'text/html');
          }
          const p = await timed(readQueuePage(target.queue, name, pageNo, per));
          return page(res, 'queues', p.name, renderQueuePage(p, { t: tParam(url), now: new Date() }), partial);
        }
        return send(res, 404, renderMessagePage('Not found', `${url.pathname}: no such page`), 'text/html');
      }
    }
  }

  async function post(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const form = new URLSearchParams(await readBody(req, 16 * 1024));
    const refused = checkPost({ host: req.headers.host, origin: req.headers.origin, referer: req.headers.referer }, form.get('csrf') ?? undefined, secret);
    if (refused) {
      o.logger.warn(messages.webPostRefused(url.pathname, refused));
      return send(res, 403, renderMessagePage('Forbidden', refused), 'text/html');
    }
    const t = Number(form.get('t') ?? 0);
    const target = o.targets[Number.isInteger(t) ? t : 0] ?? o.targets[0]!;
    const filter = filterOf(form);
    // Whatever the action does, the filter's index reads the list again at the next page.
    indexOf(o.targets[t] ? t : 0).invalidate();
    const back = (q: Record<string, string | number>) => {
      const p = new URLSearchParams(filterQuery(filter));
      if (form.get('t') !== null) p.set('t', String(t));
      if (form.get('page') && form.get('page') !== '1') p.set('page', form.get('page')!);
      for (const [k, v] of Object.entries(q)) p.set(k, String(v));
      return redirect(res, `/failed?${p}`);
    };
    const index = Number(form.get('index'));
    switch (url.pathname) {
      case '/failed/retry':
      case '/failed/remove': {
        const retry = url.pathname === '/failed/retry';
        if (!Number.isInteger(index) || index < 0) return back({ err: 'index' });
        const entry = await timed(failedAt(target.queue, index));
        if (!entry) return back({ err: 'gone', index });
        if (entry.fingerprint !== form.get('fp')) return back({ err: 'stale', index });
        const cls = (entry.record?.payload as { class?: unknown } | undefined)?.class;
        if (retry) {
          if (typeof cls !== 'string') return back({ err: 'not-job', index });
          await timed(target.queue.requeueFailed(index));
        } else {
          await timed(target.queue.removeFailed(index));
        }
        o.logger.info(messages.webFailedAction(retry ? 'retried' : 'removed', `failed job ${index} (${typeof cls === 'string' ? cls : 'no class'}${entry.record?.queue ? ` from ${entry.record.queue}` : ''})`));
        return back({ done: retry ? 'retried' : 'removed', index });
      }
      case '/failed/retry-all':
      case '/failed/clear': {
        const all = url.pathname === '/failed/retry-all';
        let out = '';
        await runFailed({ action: all ? 'retry' : 'clear', index: all ? 'all' : undefined, limit: undefined, json: true }, target.queue, (s) => (out += s));
        const r = JSON.parse(out) as { retried?: number[]; removed?: number };
        const n = all ? (r.retried?.length ?? 0) : (r.removed ?? 0);
        o.logger.info(messages.webFailedAction(all ? 'retried' : 'removed', `${n} failed job(s) (${all ? 'retry all' : 'clear'})`));
        // Page 1: the list changed under every other page.
        return redirect(res, `/failed?${new URLSearchParams({ ...(form.get('t') !== null ? { t: String(t) } : {}), done: all ? 'retried-all' : 'cleared', n: String(n) })}`);
      }
      case '/failed/retry-matching':
      case '/failed/remove-matching': {
        // The filter is read again now: what matches at this moment is retried or removed (as `failed retry all --class C` does).
        if (!isFiltered(filter)) return back({ err: 'no-filter' });
        const retry = url.pathname === '/failed/retry-matching';
        let out = '';
        const f = { className: filter.className, queue: filter.queue, exception: filter.exception };
        await runFailed({ action: retry ? 'retry' : 'clear', index: retry ? 'all' : undefined, limit: undefined, json: true, ...f }, target.queue, (x) => (out += x));
        const r = JSON.parse(out) as { retried?: number[]; removed?: number; alreadyRetried?: number };
        const n = retry ? (r.retried?.length ?? 0) : (r.removed ?? 0);
        const what = filterQuery(filter).replace(/&/g, ', ');
        o.logger.info(messages.webFailedAction(retry ? 'retried' : 'removed', `${n} failed job(s) matching ${what}${retry && r.alreadyRetried ? ` (${r.alreadyRetried} already retried)` : ''}`));
        const p = new URLSearchParams(filterQuery(filter));
        if (form.get('t') !== null) p.set('t', String(t));
        p.set('done', retry ? 'retried-matching' : 'removed-matching');
        p.set('n', String(n));
        if (retry && r.alreadyRetried) p.set('skipped', String(r.alreadyRetried));
        return redirect(res, `/failed?${p}`);
      }
      default:
        return send(res, 404, renderMessagePage('Not found', `POST ${url.pathname}: no such action`), 'text/html');
    }
  }

  function page(res: ServerResponse, name: PageName, title: string, main: Html, partial: boolean, failedCount?: number, t?: number): void {
    // The nav's failed badge sits outside <main>: the live refresh updates it from this header.
    if (partial) return send(res, 200, main.value, 'text/html', failedCount !== undefined ? { 'X-Failed-Count': String(failedCount) } : {});
    const targets = o.targets.length > 1 ? { names: o.targets.map((x) => ({ where: x.where, groups: x.groups })), current: t ?? 0, path: name === 'overview' ? '/' : `/${name}` } : undefined;
    const nonce = randomBytes(16).toString('base64');
    const body = renderLayout(
      { page: name, title, configPath: o.config.path, failedCount, refreshMs: name === 'failed' ? 0 : o.refreshMs, targets: name === 'failed' || name === 'workers' ? targets : undefined, nonce },
      main,
    );
    send(res, 200, body, 'text/html', { 'Content-Security-Policy': csp(nonce) });
  }

  function timed<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${o.readTimeoutMs / 1000} s`)), o.readTimeoutMs);
    });
    return Promise.race([p, limit]).finally(() => clearTimeout(timer));
  }

  function targetIndex(url: URL): number {
    const t = Number(url.searchParams.get('t') ?? 0);
    return Number.isInteger(t) && t >= 0 && t < o.targets.length ? t : 0;
  }

  function tParam(url: URL): number | undefined {
    return url.searchParams.get('t') !== null ? targetIndex(url) : undefined;
  }

  return handler;
}

/** The overview's totals over every Redis target. */
export async function sumTotals(targets: readonly WebTarget[]): Promise<Totals> {
  const all = await Promise.all(targets.map((t) => readTotals(t.queue)));
  const sum: Totals = { processed: 0, failed: 0, workers: 0, queues: 0, pending: 0, failedList: 0 };
  for (const x of all) for (const k of Object.keys(sum) as Array<keyof Totals>) sum[k] += x[k];
  return sum;
}

// --- internal ---

/** The queues page lists this many of the next delayed jobs due. */
const NEXT_DELAYED = 10;

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Content-Security-Policy': csp(undefined),
};

/** No script but the page's own (by its nonce), no framing, forms and fetches to this origin only. */
function csp(nonce: string | undefined): string {
  return `default-src 'none'; style-src 'unsafe-inline'; script-src ${nonce ? `'nonce-${nonce}'` : "'none'"}; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
}

function send(res: ServerResponse, status: number, body: string, type: 'text/html' | 'application/json', extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': `${type}; charset=utf-8`, 'Content-Length': Buffer.byteLength(body), ...SECURITY_HEADERS, ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function redirect(res: ServerResponse, location: string, extra: Record<string, string> = {}): void {
  res.writeHead(303, { Location: location, 'Content-Length': 0, ...SECURITY_HEADERS, ...extra });
  res.end();
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error(`request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The failed page's filter from its query (or a form's fields): `class`, `queue`, `exception`; empty ones are no filter. */
function filterOf(p: URLSearchParams): FailedFilter {
  const v = (k: string) => p.get(k)?.trim() || undefined;
  return { className: v('class'), queue: v('queue'), exception: v('exception') };
}

const FLASH: Record<string, (n: string | null, index: string | null) => string> = {
  retried: (_, i) => `Failed job ${i} enqueued again; the entry stays, marked retried.`,
  removed: (_, i) => `Failed job ${i} removed.`,
  'retried-all': (n) => `${n} failed job(s) enqueued again (entries already retried were skipped).`,
  cleared: (n) => `${n} failed job(s) removed.`,
  'retried-matching': (n) => `${n} matching failed job(s) enqueued again (entries already retried were skipped).`,
  'removed-matching': (n) => `${n} matching failed job(s) removed.`,
};

const ERRORS: Record<string, (index: string | null) => string> = {
  index: () => 'No such entry.',
  gone: (i) => `Failed job ${i} is not there any more (the list is shorter now): nothing was done.`,
  stale: (i) => `The failed list changed: entry ${i} is another job now. Nothing was done; the page shows the list as it is.`,
  'not-job': (i) => `Entry ${i} is not a Resque job that can be enqueued again; Remove removes it.`,
  'no-filter': () => 'No filter was given: nothing was done (Retry all and Clear all act on every entry).',
};

function flashOf(url: URL): string | undefined {
  const f = FLASH[url.searchParams.get('done') ?? ''];
  return f?.(url.searchParams.get('n'), url.searchParams.get('index'));
}

function errorOf(url: URL): string | undefined {
  return ERRORS[url.searchParams.get('err') ?? '']?.(url.searchParams.get('index'));
}
