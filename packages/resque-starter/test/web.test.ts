import { describe, expect, it } from 'vitest';
import { checkAccess, checkPost, COOKIE_NAME, csrfToken, isLoopback, parseCookies, resolveAccess } from '../src/web/auth.js';
import { escapeHtml, html, raw } from '../src/web/html.js';
import { renderFailed, renderMasters, renderSparkline } from '../src/web/render.js';
import { paging } from '../src/web/resque-views.js';
import { rates, StatSampler } from '../src/web/sampler.js';
import type { MastersView } from '../src/web/masters.js';

const facts = (o: Partial<Parameters<typeof checkAccess>[0]> = {}) => ({
  method: 'GET',
  host: '127.0.0.1:5678',
  cookie: undefined,
  authorization: undefined,
  queryToken: null,
  ...o,
});

describe('web access', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.2', false],
    ['example.com', false],
  ])('isLoopback(%s) → %s', (host, loop) => {
    expect(isLoopback(host)).toBe(loop);
  });

  it('a non-loopback bind needs a token; an empty token is refused', () => {
    expect(() => resolveAccess('0.0.0.0', undefined)).toThrow(/Binding the dashboard to `0.0.0.0` \(not a loopback address\) needs a token: pass `--token T` or set RESQUE_STARTER_WEB_TOKEN/);
    expect(() => resolveAccess('127.0.0.1', ' ')).toThrow(/non-empty/);
    expect(resolveAccess('0.0.0.0', 't')).toEqual({ host: '0.0.0.0', token: 't' });
    expect(resolveAccess('127.0.0.1', undefined)).toEqual({ host: '127.0.0.1', token: undefined });
  });

  it('without a token: only loopback Host headers (no DNS rebinding)', () => {
    expect(checkAccess(facts(), undefined)).toEqual({ ok: true });
    expect(checkAccess(facts({ host: 'localhost:5678' }), undefined)).toEqual({ ok: true });
    expect(checkAccess(facts({ host: '[::1]:5678' }), undefined)).toEqual({ ok: true });
    expect(checkAccess(facts({ host: 'evil.example:5678' }), undefined)).toMatchObject({ ok: false, status: 403 });
    expect(checkAccess(facts({ host: undefined }), undefined)).toMatchObject({ ok: false, status: 403 });
  });

  it('with a token: bearer header, the login cookie, or ?token= (which logs in)', () => {
    const t = 's3cret-token';
    expect(checkAccess(facts({ host: 'box:5678' }), t)).toMatchObject({ ok: false, status: 401 });
    expect(checkAccess(facts({ authorization: `Bearer ${t}` }), t)).toEqual({ ok: true });
    expect(checkAccess(facts({ authorization: 'Bearer nope' }), t)).toMatchObject({ ok: false, status: 401 });
    expect(checkAccess(facts({ queryToken: 'nope' }), t)).toMatchObject({ ok: false, status: 401, reason: 'wrong token' });
    const login = checkAccess(facts({ queryToken: t }), t);
    expect(login).toMatchObject({ ok: 'login' });
    const cookie = (login as { cookie: string }).cookie;
    expect(cookie).not.toContain(t);
    expect(checkAccess(facts({ cookie: `a=b; ${COOKIE_NAME}=${cookie}` }), t)).toEqual({ ok: true });
    expect(checkAccess(facts({ cookie: `${COOKIE_NAME}=${cookie}x` }), t)).toMatchObject({ ok: false });
    // Another token's cookie is not this one's.
    expect(checkAccess(facts({ cookie: `${COOKIE_NAME}=${cookie}` }), 'other')).toMatchObject({ ok: false });
  });

  it('a POST needs the same origin and the CSRF token of this process', () => {
    const secret = 'abc';
    const csrf = csrfToken(secret);
    const ok = { host: '127.0.0.1:5678', origin: 'http://127.0.0.1:5678', referer: undefined };
    expect(checkPost(ok, csrf, secret)).toBeUndefined();
    expect(checkPost({ ...ok, origin: undefined, referer: 'http://127.0.0.1:5678/failed?page=2' }, csrf, secret)).toBeUndefined();
    expect(checkPost({ ...ok, origin: 'http://evil.example' }, csrf, secret)).toMatch(/comes from `http:\/\/evil.example`/);
    expect(checkPost({ ...ok, origin: undefined }, csrf, secret)).toMatch(/no Origin or Referer/);
    expect(checkPost(ok, undefined, secret)).toMatch(/CSRF/);
    expect(checkPost(ok, csrfToken('another process'), secret)).toMatch(/CSRF/);
  });

  it('parseCookies', () => {
    expect(parseCookies('a=1; b = 2;c=x=y')).toEqual({ a: '1', b: '2', c: 'x=y' });
    expect(parseCookies(undefined)).toEqual({});
  });
});

describe('web rendering', () => {
  it('escapes every interpolated value; Html passes as is', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(html`<b>${'<i>'}</b>${raw('<br>')}${['<', html`<u>`]}${undefined}${false}${0}`.value).toBe('<b>&lt;i&gt;</b><br>&lt;<u>0');
  });

  it('a failed job whose args and error hold markup shows them as text', () => {
    const page = renderFailed(
      {
        paging: paging(1, 1, 50),
        rows: [
          {
            index: 0,
            fingerprint: 'f',
            record: { failed_at: 'now', payload: { class: 'X<script>', args: ['</code><script>alert(1)</script>'] }, exception: 'Error', error: '<img src=x onerror=alert(1)>', backtrace: [], worker: 'w', queue: 'q' },
          },
        ],
      },
      {
        csrf: 'c',
        t: undefined,
        flash: undefined,
        error: undefined,
        filter: { className: 'X<script>' },
        facets: { className: [{ value: 'X<script>', count: 1 }], queue: [{ value: '"><script>', count: 1 }], exception: [] },
        listTotal: 1,
      },
    ).value;
    expect(page).not.toMatch(/<script>|<img/);
    expect(page).toContain('<option value="&quot;&gt;&lt;script&gt;">&quot;&gt;&lt;script&gt; (1)</option>');
    expect(page).toContain('<input type="hidden" name="class" value="X&lt;script&gt;">');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('paging clamps the page and the page size', () => {
    expect(paging(10_000, 1, 50)).toEqual({ page: 1, pages: 200, per: 50, total: 10_000 });
    expect(paging(10_000, 999, 50)).toMatchObject({ page: 200 });
    expect(paging(10_000, 2, 100_000)).toMatchObject({ per: 200, pages: 50 });
    expect(paging(0, 3, 50)).toEqual({ page: 1, pages: 1, per: 50, total: 0 });
    expect(paging(5, Number.NaN, Number.NaN)).toMatchObject({ page: 1, per: 50 });
  });

  it('the sparkline: a point per value, scaled to the max; none without two values', () => {
    const svg = renderSparkline([0, 5, 10], { width: 100, height: 20, label: 'x', cls: 'c' }).value;
    expect(svg).toContain('points="0.0,18.0 50.0,16.0 100.0,14.0"');
    expect(svg).toContain('data-max="10"');
    expect(renderSparkline([3], { label: 'x', cls: 'c' }).value).not.toContain('polyline');
  });

  it('the masters page: each generation with its count, the bound, the hand-off', () => {
    const v: MastersView = {
      source: 'status file s.json',
      problem: undefined,
      alive: 4,
      bound: 4,
      startServer: [
        { generation: 1, pid: 10 },
        { generation: 2, pid: 20 },
      ],
      scheduler: null,
      masters: [
        { pid: 20, generation: 2, role: 'current', state: 'running', concurrency: 3, workerCount: 2, workers: [], groups: [], paused: false, rollingRestart: { kind: 'handoff', startedAt: 't' }, updatedAt: 'u', redis: undefined },
        { pid: 10, generation: 1, role: 'old', state: 'old', concurrency: undefined, workerCount: 2, workers: undefined, groups: [], paused: false, rollingRestart: null, updatedAt: undefined, redis: undefined },
      ],
    };
    const page = renderMasters(v).value;
    expect(page).toContain('data-alive="4" data-bound="4" data-generations="2" data-rolling="1"');
    expect(page).toMatch(/data-generation="2" data-master="20" data-role="current" data-workers="2"/);
    expect(page).toMatch(/data-generation="1" data-master="10" data-role="old" data-workers="2"/);
    expect(page).toContain('rolling restart (handoff)');
  });

  it('the masters page: a Redis condition of the master and of a worker is shown (escaped)', () => {
    const down = { state: 'down' as const, since: 't0', conditions: [{ condition: 'write-refused', message: "READONLY You can't write against a <replica>", since: 't0', workers: 1 }] };
    const v: MastersView = {
      source: 's',
      problem: undefined,
      alive: 1,
      bound: 2,
      startServer: undefined,
      scheduler: null,
      masters: [
        {
          pid: 20,
          generation: null,
          role: 'current',
          state: 'running',
          concurrency: 1,
          workerCount: 1,
          workers: [{ group: 'default', slot: 0, pid: 21, state: 'busy', id: 'h:21:q', job: null, processed: 0, memoryKb: null, startedAt: 's', configVersion: 1, redis: down }],
          groups: [],
          paused: false,
          rollingRestart: null,
          updatedAt: 'u',
          redis: down,
        },
      ],
    };
    const page = renderMasters(v).value;
    expect(page).toContain('<b>write-refused</b> since t0: READONLY You can&#39;t write against a &lt;replica&gt; (1 worker(s))');
    expect(page).toContain('<span class="pill bad" title="write-refused: READONLY You can&#39;t write against a &lt;replica&gt;">redis write-refused</span>');
  });
});

describe('throughput sampling', () => {
  it('rates between readings, per second', () => {
    expect(
      rates([
        { at: 0, processed: 0, failed: 0 },
        { at: 1000, processed: 10, failed: 1 },
        { at: 3000, processed: 30, failed: 1 },
      ]),
    ).toEqual([
      { at: 1000, processed: 10, failed: 1 },
      { at: 3000, processed: 10, failed: 0 },
    ]);
  });

  it('keeps the last readings; a reset (totals going down) restarts the series', () => {
    const s = new StatSampler({ read: async () => ({ processed: 0, failed: 0 }), everyMs: 1000, keep: 2 });
    for (let i = 0; i < 5; i++) s.add({ at: i * 1000, processed: i * 10, failed: 0 });
    expect(s.rates()).toHaveLength(2);
    s.add({ at: 6000, processed: 1, failed: 0 });
    expect(s.rates()).toEqual([]);
    expect(s.latest()).toMatchObject({ processed: 1 });
  });
});
