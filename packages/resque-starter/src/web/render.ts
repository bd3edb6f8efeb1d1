import type { QueuesReport } from '../commands/queues.js';
import { formatAge } from '../commands/queues.js';
import { html, raw, type Html } from './html.js';
import type { MastersView, MasterView, WorkerStatus } from './masters.js';
import type { Facet, Facets, FailedFilter } from './failed-index.js';
import type { DelayedPage, FailedPage, Paging, QueuePage, Totals, WorkersPage } from './resque-views.js';
import { enqueuedAt } from '../commands/queues.js';
import type { Rate } from './sampler.js';

// Every page of the dashboard as a string (pure: the server reads, these render). Each page is a
// layout around a `<main id="live">` that the inline script replaces every `refreshMs` with the
// same page rendered again (`?partial=1`), so the live view needs no client-side rendering.

export type PageName = 'overview' | 'masters' | 'queues' | 'failed' | 'workers';

export interface LayoutOptions {
  page: PageName;
  title: string;
  /** The config file, shown in the header. */
  configPath: string;
  /** Failed list size, for the nav badge. */
  failedCount: number | undefined;
  /** Live refresh period; 0: the page does not poll (the failed page: its buttons must stay put). */
  refreshMs: number;
  /** The `?t=` tabs when the groups use several Redis servers or namespaces. */
  targets: TargetTabs | undefined;
  /** The Content-Security-Policy nonce of this response: only our inline script runs. */
  nonce: string;
}

export interface TargetTabs {
  /** `<redis>/<namespace>` of each target, with its groups. */
  names: Array<{ where: string; groups: string[] }>;
  current: number;
  /** The page's path, to which `?t=N` is added. */
  path: string;
}

/** Why: the whole document; `main` is the part the live refresh swaps. */
export function renderLayout(o: LayoutOptions, main: Html): string {
  const nav: Array<[PageName, string, string]> = [
    ['overview', '/', 'Overview'],
    ['masters', '/masters', 'Masters'],
    ['queues', '/queues', 'Queues'],
    ['failed', '/failed', 'Failed'],
    ['workers', '/workers', 'Workers'],
  ];
  return `<!doctype html>
${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · resque-starter</title>
<style>${raw(CSS)}</style></head>
<body data-page="${o.page}" data-refresh="${o.refreshMs}">
<header><a class="brand" href="/">resque-starter</a>
<nav>${nav.map(([name, href, label]) => html`<a href="${href}"${raw(name === o.page ? ' class="on" aria-current="page"' : '')}>${label}${name === 'failed' ? html` <span class="badge" id="failed-badge"${raw(o.failedCount ? '' : ' hidden')}>${o.failedCount ?? 0}</span>` : ''}</a>`)}</nav>
<span class="conf" title="config">${o.configPath}</span>
<button id="live-toggle" type="button" ${raw(o.refreshMs > 0 ? '' : 'hidden')}>Live: on</button></header>
${o.targets && o.targets.names.length > 1 ? renderTabs(o.targets) : ''}
<main id="live">${main}</main>
<footer>Resque's data as resque-web reads it; the masters from their status file and control sockets. <span id="updated">${new Date().toISOString()}</span></footer>
<script nonce="${o.nonce}">${raw(SCRIPT)}</script>
</body></html>`}
`;
}

/** The overview: totals, throughput and failures over the last minutes, masters in one line each. */
export function renderOverview(o: { totals: Totals; rates: Rate[]; everyMs: number; masters: MastersView }): Html {
  const t = o.totals;
  const last = o.rates.at(-1);
  const span = o.rates.length > 0 ? formatAge(o.rates.length * o.everyMs) : '-';
  return html`<h1>Overview</h1>
<section class="cards">
${card('Processed', t.processed.toLocaleString('en-US'), 'processed')}
${card('Failed', t.failed.toLocaleString('en-US'), 'failed')}
${card('Waiting', t.pending.toLocaleString('en-US'), 'pending', '/queues')}
${card('Failed list', t.failedList.toLocaleString('en-US'), 'failed-list', '/failed')}
${card('Workers', String(t.workers), 'workers', '/workers')}
${card('Queues', String(t.queues), 'queues', '/queues')}
</section>
<section class="charts">
<figure><figcaption>Processed/s <b id="rate-processed">${last ? rate(last.processed) : '-'}</b> <small>last ${span}</small></figcaption>${renderSparkline(o.rates.map((r) => r.processed), { label: 'processed per second', cls: 'spark-ok' })}</figure>
<figure><figcaption>Failed/s <b id="rate-failed">${last ? rate(last.failed) : '-'}</b> <small>last ${span}</small></figcaption>${renderSparkline(o.rates.map((r) => r.failed), { label: 'failed per second', cls: 'spark-bad' })}</figure>
</section>
<h2><a href="/masters">Masters</a></h2>
${renderMastersSummary(o.masters)}`;
}

/** The masters page: one section per master (generation), its workers, the hand-off in progress and the C+1 bound. */
export function renderMasters(v: MastersView): Html {
  return html`<h1>Masters and generations</h1>
${renderMastersSummary(v)}
${v.masters.map((m) => renderMaster(m))}
${v.startServer ? html`<p class="note">start-server generations: ${v.startServer.map((l) => html`<code>${l.generation}:${l.pid}</code> `)}</p>` : ''}
${v.scheduler ? html`<p class="note">Scheduler: ${!v.scheduler.enabled ? 'off' : v.scheduler.leader ? 'this master leads it' : 'another master leads it'}${v.scheduler.schedule.length ? `; recurring: ${v.scheduler.schedule.join(', ')}` : ''}</p>` : ''}
<p class="note">From the ${v.source || 'config'}.</p>`;
}

/** The queues page: depth, how long the oldest job has waited, delayed jobs, and the next delayed ones due. */
export function renderQueues(reports: Array<{ where: string; groups: string[]; report: QueuesReport; t: number | undefined; next?: DelayedPage | undefined }>, now: Date): Html {
  return html`<h1>Queues</h1>
${reports.map(
  (r) => html`${reports.length > 1 ? html`<h2>${r.where} <small>groups ${r.groups.join(', ')}</small></h2>` : ''}
${r.report.queues.length === 0 ? html`<p class="empty">No queues yet.</p>` : html`<table class="queues"><thead><tr><th>Queue</th><th class="n">Waiting</th><th class="n">Oldest</th><th class="n">Delayed</th></tr></thead><tbody>
${r.report.queues.map(
  (q) => html`<tr data-queue="${q.name}" data-depth="${q.depth}" data-delayed="${q.delayed}"><td><a href="/queues/${encodeURIComponent(q.name)}${r.t !== undefined ? `?t=${r.t}` : ''}">${q.name}</a></td><td class="n">${q.depth.toLocaleString('en-US')}</td><td class="n">${q.oldestEnqueuedAt ? formatAge(now.getTime() - q.oldestEnqueuedAt.getTime()) : '-'}</td><td class="n">${q.delayed > 0 ? html`<a href="/delayed${r.t !== undefined ? `?t=${r.t}` : ''}">${q.delayed.toLocaleString('en-US')}</a>` : '0'}</td></tr>`,
)}</tbody></table>`}
<p>Failed: <a href="/failed">${r.report.failed.toLocaleString('en-US')}</a></p>
${r.next && r.next.paging.total > 0 ? html`<h2 id="delayed-next" data-total="${r.next.paging.total}">Delayed: the next due <small>of ${r.next.paging.total.toLocaleString('en-US')} · <a href="/delayed${r.t !== undefined ? `?t=${r.t}` : ''}">all</a></small></h2>
${renderDelayedTable(r.next, now)}` : ''}`,
)}
<p class="note">Oldest: how long the job at the head has waited, when its payload carries <code>enqueued_at</code>. Delayed: scheduled jobs and retries waiting for their time.</p>`;
}

/** The delayed jobs (scheduled ones, retries waiting), the soonest due first, a page at a time. */
export function renderDelayed(p: DelayedPage, o: { t: number | undefined; now: Date }): Html {
  return html`<h1><a href="/queues">Queues</a> › delayed <small id="delayed-total" data-total="${p.paging.total}">${p.paging.total.toLocaleString('en-US')} waiting for their time</small></h1>
${p.paging.total === 0 ? html`<p class="empty">No delayed jobs.</p>` : html`${renderPager(p.paging, '/delayed', o.t, ['‹ sooner', 'later ›'])}
${renderDelayedTable(p, o.now)}
${renderPager(p.paging, '/delayed', o.t, ['‹ sooner', 'later ›'])}`}
<p class="note">resque-scheduler's delayed queue (<code>delayed_queue_schedule</code>): jobs enqueued with <code>enqueueAt</code>/<code>enqueueIn</code> and retries waiting for their backoff; the scheduler of one master moves each to its queue when it is due.</p>`;
}

/** One queue's waiting jobs, a page at a time, the next to run first (resque-web's queue view). */
export function renderQueuePage(p: QueuePage, o: { t: number | undefined; now: Date }): Html {
  const path = `/queues/${encodeURIComponent(p.name)}`;
  return html`<h1><a href="/queues">Queues</a> › ${p.name} <small id="queue-total" data-total="${p.paging.total}">${p.paging.total.toLocaleString('en-US')} waiting</small></h1>
${p.paging.total === 0 ? html`<p class="empty">No jobs waiting.</p>` : html`${renderPager(p.paging, path, o.t, ['‹ earlier', 'later ›'])}
<table class="queue-jobs"><thead><tr><th class="n">#</th><th>Class</th><th>Args</th><th>Waiting</th></tr></thead><tbody>
${p.rows.map((r) => {
  const job = r.payload as { class?: unknown; args?: unknown } | null;
  const at = enqueuedAt(r.payload);
  return html`<tr class="queue-job" data-position="${r.position}"><td class="n">${r.position}</td><td>${typeof job?.class === 'string' ? job.class : '?'}</td><td><code>${oneLine(JSON.stringify(job?.args ?? r.payload) ?? '', 200)}</code></td><td>${at ? formatAge(o.now.getTime() - at.getTime()) : '-'}</td></tr>`;
})}</tbody></table>
${renderPager(p.paging, path, o.t, ['‹ earlier', 'later ›'])}`}`;
}

/** What the failed page shows besides its rows: the filter, its choices, the list's size. */
export interface FailedView {
  csrf: string;
  t: number | undefined;
  flash: string | undefined;
  error: string | undefined;
  filter: FailedFilter;
  /** The filter's choices (every value in the list, with its count). */
  facets: Facets;
  /** Entries in the whole list (the page's `paging.total` counts the matching ones when filtered). */
  listTotal: number;
}

/** The filter as query parameters (`class`, `queue`, `exception`), in this order, empty ones left out. */
export function filterQuery(f: FailedFilter): string {
  const q = new URLSearchParams();
  if (f.className) q.set('class', f.className);
  if (f.queue) q.set('queue', f.queue);
  if (f.exception) q.set('exception', f.exception);
  return q.toString();
}

/** The failed page: the filter, one page of (matching) entries, newest first, each with Retry and Remove; Retry/Remove every matching one. */
export function renderFailed(p: FailedPage, o: FailedView): Html {
  const f = o.filter;
  const filtered = Boolean(f.className || f.queue || f.exception);
  const keep = html`${f.className ? html`<input type="hidden" name="class" value="${f.className}">` : ''}${f.queue ? html`<input type="hidden" name="queue" value="${f.queue}">` : ''}${f.exception ? html`<input type="hidden" name="exception" value="${f.exception}">` : ''}`;
  const hidden = html`<input type="hidden" name="csrf" value="${o.csrf}">${o.t !== undefined ? html`<input type="hidden" name="t" value="${o.t}">` : ''}<input type="hidden" name="page" value="${p.paging.page}">${keep}`;
  const n = p.paging.total.toLocaleString('en-US');
  const what = [f.className && `class ${f.className}`, f.queue && `queue ${f.queue}`, f.exception && `error ${f.exception}`].filter(Boolean).join(', ');
  return html`<h1>Failed jobs <small id="failed-total" data-total="${o.listTotal}" data-matching="${p.paging.total}">${filtered ? `${n} of ${o.listTotal.toLocaleString('en-US')} match` : n}</small></h1>
${o.flash ? html`<p class="flash" role="status">${o.flash}</p>` : ''}${o.error ? html`<p class="flash bad" role="alert">${o.error}</p>` : ''}
${o.listTotal === 0 ? html`<p class="empty">No failed jobs.</p>` : html`<form class="filter" id="failed-filter" method="get" action="/failed">${o.t !== undefined ? html`<input type="hidden" name="t" value="${o.t}">` : ''}
${renderFacet('class', 'Class', o.facets.className, f.className)}${renderFacet('queue', 'Queue', o.facets.queue, f.queue)}${renderFacet('exception', 'Error', o.facets.exception, f.exception)}
<button type="submit" id="filter-apply">Filter</button>${filtered ? html` <a href="/failed${o.t !== undefined ? `?t=${o.t}` : ''}" id="filter-clear">show all</a>` : ''}</form>
${p.paging.total === 0 ? html`<p class="empty">No failed job matches ${what}.</p>` : html`<div class="actions">${filtered ? html`
<form method="post" action="/failed/retry-matching" data-confirm="${`Enqueue the ${n} failed job(s) of ${what} not retried yet again?`}">${hidden}<button type="submit" id="retry-matching">Retry ${n} matching</button></form>
<form method="post" action="/failed/remove-matching" data-confirm="${`Remove the ${n} failed job(s) of ${what}?`}">${hidden}<button type="submit" class="danger" id="remove-matching">Remove ${n} matching</button></form>` : html`
<form method="post" action="/failed/retry-all" data-confirm="Enqueue every failed job not retried yet again?">${hidden}<button type="submit" id="retry-all">Retry all</button></form>
<form method="post" action="/failed/clear" data-confirm="Remove every failed job?">${hidden}<button type="submit" class="danger" id="clear-all">Clear all</button></form>`}
</div>
${renderPager(p.paging, '/failed', o.t, undefined, filterQuery(f))}
<table class="failed"><thead><tr><th class="n">#</th><th>Failed at</th><th>Queue</th><th>Class</th><th>Error</th><th></th></tr></thead><tbody>
${p.rows.map((r) => {
  const rec = r.record;
  const cls = (rec?.payload as { class?: unknown } | undefined)?.class;
  const args = (rec?.payload as { args?: unknown } | undefined)?.args;
  return html`<tr class="failed-row" data-index="${r.index}" data-class="${typeof cls === 'string' ? cls : ''}" data-queue="${rec?.queue ?? ''}" data-exception="${rec?.exception ?? ''}"${raw(rec?.retried_at ? ' data-retried="1"' : '')}>
<td class="n">${r.index}</td><td>${rec?.failed_at ?? '-'}</td><td>${rec?.queue ?? '-'}</td><td>${typeof cls === 'string' ? cls : '-'}</td>
<td><details><summary>${rec ? oneLine(`${rec.exception}: ${rec.error}`, 120) : 'not a Resque failure record'}</summary>
<dl><dt>args</dt><dd><code>${JSON.stringify(args ?? rec?.payload ?? null)}</code></dd><dt>worker</dt><dd>${rec?.worker ?? '-'}</dd>
${rec?.backtrace?.length ? html`<dt>backtrace</dt><dd><pre>${rec.backtrace.slice(0, 30).join('\n')}</pre></dd>` : ''}</dl></details>
${rec?.retried_at ? html`<span class="retried">retried ${rec.retried_at}</span>` : ''}</td>
<td class="buttons"><form method="post" action="/failed/retry">${hidden}<input type="hidden" name="index" value="${r.index}"><input type="hidden" name="fp" value="${r.fingerprint}"><button type="submit" class="retry"${raw(typeof cls === 'string' ? '' : ' disabled')}>Retry</button></form>
<form method="post" action="/failed/remove">${hidden}<input type="hidden" name="index" value="${r.index}"><input type="hidden" name="fp" value="${r.fingerprint}"><button type="submit" class="remove danger">Remove</button></form></td></tr>`;
})}</tbody></table>
${renderPager(p.paging, '/failed', o.t, undefined, filterQuery(f))}`}`}`;
}

/** The workers page: every registered worker of every host (a page of them), what each runs. */
export function renderWorkers(p: WorkersPage, o: { t: number | undefined; now: Date }): Html {
  return html`<h1>Workers <small id="workers-total" data-total="${p.paging.total}">${p.paging.total}</small></h1>
<p class="hosts">${p.hosts.map((h) => html`<span class="host"><b>${h.host}</b> ${h.workers}</span> `)}</p>
${p.paging.total === 0 ? html`<p class="empty">No workers registered.</p>` : html`${renderPager(p.paging, '/workers', o.t)}
<table class="workers"><thead><tr><th>Host</th><th>Pid</th><th>Group</th><th>Queues</th><th>Job</th><th class="n">Processed</th><th class="n">Failed</th><th>Heartbeat</th><th>Started</th></tr></thead><tbody>
${p.rows.map((w) => {
  const job = w.workingOn as { queue?: string; run_at?: string; payload?: { class?: string } } | null;
  const beat = w.heartbeat ? Date.parse(w.heartbeat) : NaN;
  return html`<tr class="worker-row" data-id="${w.id}"${raw(job ? ' data-busy="1"' : '')}><td>${w.host}</td><td>${w.pid}</td><td>${w.group ? html`<span class="label">${w.group}</span>` : ''}</td><td>${w.queues.join(', ')}</td>
<td>${job ? html`<b>${job.payload?.class ?? '?'}</b> on ${job.queue ?? '?'}${job.run_at ? html` <small>since ${job.run_at}</small>` : ''}` : html`<span class="idle">idle</span>`}</td>
<td class="n">${w.processed.toLocaleString('en-US')}</td><td class="n">${w.failed.toLocaleString('en-US')}</td><td>${Number.isFinite(beat) ? `${formatAge(o.now.getTime() - beat)} ago` : '-'}</td><td><small>${w.started ?? '-'}</small></td></tr>`;
})}</tbody></table>
${renderPager(p.paging, '/workers', o.t)}`}`;
}

/** A message page (401, 403, 404, an error reading Redis). */
export function renderMessagePage(title: string, message: string): string {
  return `<!doctype html>\n${html`<html lang="en"><head><meta charset="utf-8"><title>${title} · resque-starter</title><style>${raw(CSS)}</style></head><body><main><h1>${title}</h1><p>${message}</p></main></body></html>`}\n`;
}

/** Why: a dependency-free trend line: an inline SVG polyline scaled to the series' max (0 to max). */
export function renderSparkline(values: readonly number[], o: { width?: number; height?: number; label: string; cls: string }): Html {
  const w = o.width ?? 320;
  const h = o.height ?? 48;
  const max = Math.max(0, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  // The top 14 px keep the `max` label clear of the line.
  const y = (v: number) => (max > 0 ? h - 2 - (v / max) * (h - 16) : h - 2);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  return html`<svg class="spark ${o.cls}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${o.label}" data-points="${values.length}" data-max="${max}">
<line x1="0" y1="${h - 1}" x2="${w}" y2="${h - 1}" class="axis"/>${values.length > 1 ? html`<polyline points="${points}"/>` : ''}<text x="${w - 2}" y="10" text-anchor="end">max ${rate(max)}</text></svg>`;
}

// --- internal ---

/** One filter field: a select of the list's values with their counts; the chosen one stays chosen even when none is left. */
function renderFacet(name: string, label: string, facets: readonly Facet[], chosen: string | undefined): Html {
  const values = chosen && !facets.some((x) => x.value === chosen) ? [{ value: chosen, count: 0 }, ...facets] : facets;
  return html`<label>${label} <select name="${name}" id="filter-${name}"><option value="">any</option>${values.map(
    (x) => html`<option value="${x.value}"${raw(x.value === chosen ? ' selected' : '')}${raw(x.value === '' ? ' disabled' : '')}>${x.value || '(none)'} (${x.count.toLocaleString('en-US')})</option>`,
  )}</select></label> `;
}

function renderDelayedTable(p: DelayedPage, now: Date): Html {
  return html`<table class="delayed"><thead><tr><th class="n">#</th><th>Due</th><th>Queue</th><th>Class</th><th>Args</th></tr></thead><tbody>
${p.rows.map((r) => {
  const ms = r.job.at.getTime() - now.getTime();
  return html`<tr class="delayed-job" data-position="${r.position}" data-queue="${r.job.queue ?? ''}" data-class="${r.job.class}"><td class="n">${r.position}</td><td>${ms >= 0 ? `in ${formatAge(ms)}` : `${formatAge(-ms)} overdue`} <small>${r.job.at.toISOString()}</small></td><td>${r.job.queue ?? '-'}</td><td>${r.job.class || '?'}</td><td><code>${oneLine(JSON.stringify(r.job.class ? r.job.args : r.job.raw) ?? '', 200)}</code></td></tr>`;
})}</tbody></table>`;
}

function renderTabs(t: TargetTabs): Html {
  return html`<nav class="tabs">${t.names.map((n, i) => html`<a href="${t.path}?t=${i}"${raw(i === t.current ? ' class="on"' : '')}>${n.where} <small>${n.groups.join(', ')}</small></a>`)}</nav>`;
}

function card(label: string, value: string, id: string, href?: string): Html {
  const inner = html`<span class="k">${label}</span><span class="value" id="stat-${id}">${value}</span>`;
  return href ? html`<a class="card" href="${href}">${inner}</a>` : html`<div class="card">${inner}</div>`;
}

function rate(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** The hand-off line: alive over the bound, and one line per master. */
function renderMastersSummary(v: MastersView): Html {
  if (v.problem) return html`<p class="flash bad" id="masters-problem">${v.problem}</p>`;
  const rolling = v.masters.find((m) => m.role === 'current')?.rollingRestart ?? null;
  const handoff = v.masters.some((m) => m.role === 'old' && m.state !== 'gone');
  const over = v.bound !== undefined && v.alive > v.bound;
  return html`<p class="summary${over ? ' bad' : ''}" id="masters-summary" data-alive="${v.alive}" data-bound="${v.bound ?? ''}" data-generations="${v.masters.filter((m) => m.workerCount > 0).length}" data-rolling="${rolling || handoff ? '1' : '0'}">
${rolling || handoff ? html`<span class="pill warn">rolling restart${rolling ? html` (${rolling.kind}) since ${rolling.startedAt}` : ''}</span> ` : html`<span class="pill ok">steady</span> `}
<b>${v.alive}</b> worker process(es) alive${v.bound !== undefined ? html` · bound during a rolling restart: concurrency + 1 = <b>${v.bound}</b>` : ''}
${v.bound !== undefined ? html`<meter min="0" max="${v.bound}" value="${Math.min(v.alive, v.bound)}" high="${v.bound}" optimum="0"></meter>` : ''}</p>
<ul class="gens">${v.masters.map(
    (m) => html`<li class="gen-line" data-generation="${m.generation ?? ''}" data-workers="${m.workerCount}">${genName(m)}: <b>${m.workerCount}</b> worker(s) · ${m.role === 'old' ? 'old, draining' : m.state}</li>`,
  )}</ul>`;
}

function genName(m: MasterView): string {
  return `${m.generation !== null ? `generation ${m.generation}` : 'master'} (pid ${m.pid})`;
}

function renderMaster(m: MasterView): Html {
  const ready = m.workers?.filter((w) => w.state === 'idle' || w.state === 'busy' || w.state === 'paused').length;
  const grouped = m.groups.length > 1 || (m.groups.length === 1 && m.groups[0]!.name !== 'default');
  return html`<section class="gen ${m.role}" data-generation="${m.generation ?? ''}" data-master="${m.pid}" data-role="${m.role}" data-workers="${m.workerCount}" data-ready="${ready ?? ''}">
<h2>${genName(m)} <span class="pill ${m.role === 'old' ? 'warn' : m.state === 'running' ? 'ok' : 'warn'}">${m.role === 'old' ? 'old · draining' : m.state}</span>${m.paused ? html` <span class="pill warn">paused</span>` : ''}</h2>
<p>${m.workerCount} worker process(es)${m.concurrency !== undefined ? html` of ${m.concurrency} wanted` : ''}${ready !== undefined ? html` · ${ready} ready` : ''}${m.updatedAt ? html` · updated ${m.updatedAt}` : ''}</p>
${m.redis?.state === 'down' ? html`<ul class="flash bad redis-down">${m.redis.conditions.map(
    (c) => html`<li>Redis${c.redis ? html` ${c.redis}` : ''}: <b>${c.condition}</b> since ${c.since}: ${c.message}${c.workers ? ` (${c.workers} worker(s))` : ''}${c.master ? ' (the master too)' : ''}</li>`,
  )}</ul>` : ''}
${grouped ? html`<p class="groups">${m.groups.map((g) => html`<span class="label" data-group="${g.name}">${g.name} ${g.ready}/${g.concurrency}${g.paused ? ' paused' : ''}</span> `)}</p>` : ''}
${m.workers === undefined ? html`<p class="note">Its workers' details are not available (its control socket did not answer).</p>` : m.workers.length === 0 ? '' : html`<table class="gen-workers"><thead><tr>${grouped ? html`<th>Group</th>` : ''}<th>Slot</th><th>Pid</th><th>State</th><th>Job</th><th class="n">Processed</th><th class="n">RSS</th><th>Config</th><th>Started</th></tr></thead><tbody>
${m.workers.map((w) => renderGenWorker(w, grouped))}</tbody></table>`}
</section>`;
}

function renderGenWorker(w: WorkerStatus, grouped: boolean): Html {
  return html`<tr class="gen-worker" data-state="${w.state}" data-pid="${w.pid ?? ''}">${grouped ? html`<td><span class="label">${w.group}</span></td>` : ''}<td>${w.slot}</td><td>${w.pid ?? '-'}</td><td><span class="st st-${w.state}">${w.state}</span>${w.redis?.state === 'down' ? html` <span class="pill bad" title="${w.redis.conditions.map((c) => `${c.condition}: ${c.message}`).join('; ')}">redis ${w.redis.conditions[0]?.condition ?? 'down'}</span>` : ''}</td>
<td>${w.job ? html`<b>${w.job.class}</b> on ${w.job.queue} <small>since ${w.job.startedAt}</small>` : ''}</td><td class="n">${w.processed}</td><td class="n">${w.memoryKb !== null ? `${Math.round(w.memoryKb / 1024)} MB` : '-'}</td><td>v${w.configVersion}</td><td><small>${w.startedAt}</small></td></tr>`;
}

function renderPager(p: Paging, path: string, t: number | undefined, words: [string, string] = ['‹ newer', 'older ›'], extra = ''): Html {
  if (p.pages <= 1) return html`<p class="pager" data-page="1" data-pages="1">${p.total.toLocaleString('en-US')} row(s)</p>`;
  const link = (n: number, label: string) => html`<a href="${path}?${t !== undefined ? `t=${t}&` : ''}${extra ? `${extra}&` : ''}page=${n}${p.per !== 50 ? `&per=${p.per}` : ''}">${label}</a>`;
  const from = (p.page - 1) * p.per + 1;
  const to = Math.min(p.total, p.page * p.per);
  return html`<p class="pager" data-page="${p.page}" data-pages="${p.pages}">${p.page > 1 ? html`${link(1, '« first')} ${link(p.page - 1, words[0])}` : ''}
<span>page ${p.page} of ${p.pages.toLocaleString('en-US')} (${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')} of ${p.total.toLocaleString('en-US')})</span>
${p.page < p.pages ? html`${link(p.page + 1, words[1])} ${link(p.pages, 'last »')}` : ''}</p>`;
}

function oneLine(s: string, max: number): string {
  const line = s.replace(/\s*\n\s*/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

const CSS = `
:root{--bg:#f7f7f5;--fg:#1d1d1f;--mut:#6b6b70;--line:#dcdcd8;--ok:#1f8a4c;--bad:#c0392b;--warn:#b7791f;--acc:#2c5aa0}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;gap:1.2em;align-items:center;padding:.6em 1.2em;background:#22252b;color:#eee}
header a{color:#cfd6e4;text-decoration:none}header a.on{color:#fff;font-weight:600;border-bottom:2px solid #7fb0ff}
.brand{font-weight:700;color:#fff!important}nav{display:flex;gap:1em}.conf{margin-left:auto;color:#9aa;font-size:12px}
header button{background:#39404c;color:#dde;border:1px solid #555;border-radius:4px;padding:2px 8px;cursor:pointer}
main{padding:1em 1.4em;max-width:1400px}h1{font-size:20px;margin:.2em 0 .6em}h2{font-size:16px;margin:1.2em 0 .4em}h1 small,h2 small{color:var(--mut);font-weight:400}
.tabs{padding:.4em 1.2em;background:#e9e9e4}.tabs a{margin-right:1em}.tabs a.on{font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{display:flex;flex-direction:column;min-width:130px;padding:.6em .9em;background:#fff;border:1px solid var(--line);border-radius:6px;color:inherit;text-decoration:none}
.card .k{color:var(--mut);font-size:12px}.card .value{font-size:22px;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:1.2em;margin-top:1em}figure{margin:0;padding:.6em .8em;background:#fff;border:1px solid var(--line);border-radius:6px}
figcaption{margin-bottom:.3em}figcaption small{color:var(--mut)}
.spark polyline{fill:none;stroke-width:1.6}.spark-ok polyline{stroke:var(--ok)}.spark-bad polyline{stroke:var(--bad)}.spark .axis{stroke:var(--line)}.spark text{font-size:10px;fill:var(--mut)}
table{border-collapse:collapse;background:#fff;border:1px solid var(--line);width:100%;margin:.4em 0}th,td{padding:.35em .6em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f0f0ec;font-weight:600;font-size:12px;color:#444}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:0 .5em;border-radius:9px;font-size:12px;font-weight:600;color:#fff;background:var(--mut)}.pill.ok{background:var(--ok)}.pill.warn{background:var(--warn)}.pill.bad{background:var(--bad)}.redis-down{margin:.4em 0;padding-left:1.6em}
.label{display:inline-block;padding:0 .4em;border-radius:3px;background:#e3ecfa;color:#234;font-size:12px}
.badge{background:var(--bad);color:#fff;border-radius:8px;padding:0 .4em;font-size:11px}
.summary{padding:.5em .8em;background:#fff;border:1px solid var(--line);border-radius:6px}.summary.bad{border-color:var(--bad)}
.gens{margin:.4em 0;padding-left:1.2em}.gen{margin:1em 0;padding:.2em 1em .6em;background:#fff;border:1px solid var(--line);border-left:4px solid var(--ok);border-radius:6px}
.gen.old{border-left-color:var(--warn);opacity:.92}.gen table{border:0}
.st{font-weight:600}.st-busy{color:var(--acc)}.st-idle{color:var(--ok)}.st-starting{color:var(--warn)}.st-stopping{color:var(--bad)}.st-paused{color:var(--mut)}
.flash{padding:.5em .8em;background:#e8f5ec;border:1px solid #b6dfc3;border-radius:6px}.flash.bad{background:#fbecea;border-color:#efb8b1}
.actions{display:flex;gap:.6em;margin:.4em 0}.filter{display:flex;flex-wrap:wrap;gap:.8em;align-items:center;margin:.4em 0 .8em;padding:.5em .8em;background:#fff;border:1px solid var(--line);border-radius:6px}.filter select{font:inherit;max-width:22em}.buttons{white-space:nowrap}.buttons form{display:inline}
button{font:inherit;padding:2px 10px;border:1px solid #aab;border-radius:4px;background:#fff;cursor:pointer}button.danger{color:var(--bad);border-color:#e0b4ae}button:disabled{opacity:.5}
details summary{cursor:pointer}details dl{margin:.3em 0 0}dt{color:var(--mut);font-size:12px}dd{margin:0 0 .3em}pre{margin:0;font-size:12px;white-space:pre-wrap}
.retried{color:var(--ok);font-size:12px}.idle{color:var(--mut)}.pager{color:var(--mut)}.pager a{margin:0 .3em}.note,.empty{color:var(--mut)}
.hosts .host{margin-right:1em}footer{padding:.6em 1.4em;color:var(--mut);font-size:12px}meter{width:160px;vertical-align:middle}
`;

// Replaces <main> with the same page rendered again every data-refresh ms (not while the tab is
// hidden, a <details> is open or the pointer is on a button); the toggle is kept per browser.
// Forms with data-confirm ask first (no inline handlers: the CSP allows only this script).
const SCRIPT = `(function(){
var ms=+document.body.dataset.refresh||0,btn=document.getElementById('live-toggle'),key='resque-starter-live';
var on=ms>0&&localStorage.getItem(key)!=='off',busy=false;
function show(){if(btn)btn.textContent='Live: '+(on?'on':'off');}
if(btn)btn.onclick=function(){on=!on;localStorage.setItem(key,on?'on':'off');show();};show();
function tick(){
if(!on||busy||document.hidden)return;var main=document.getElementById('live');
if(main.querySelector('details[open]')||main.querySelector('button:hover,a:hover'))return;
busy=true;var u=new URL(location.href);u.searchParams.set('partial','1');
fetch(u,{credentials:'same-origin'}).then(function(r){if(!r.ok)throw new Error(r.status);
var n=r.headers.get('X-Failed-Count'),b=document.getElementById('failed-badge');if(n!==null&&b){b.textContent=n;b.hidden=n==='0';}return r.text();}).then(function(t){
main.innerHTML=t;var s=document.getElementById('updated');if(s)s.textContent=new Date().toISOString();document.body.dataset.refreshed=String(Date.now());
}).catch(function(){}).then(function(){busy=false;});}
if(ms>0)setInterval(tick,ms);
document.addEventListener('submit',function(e){var c=e.target.getAttribute('data-confirm');if(c&&!confirm(c))e.preventDefault();});})();`;
