import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { BIN, ROOT, spawnNode } from './helpers/spawn.js';
import { freePort } from './helpers/ports.js';
import { slow } from './helpers/slowness.js';
import { pollUntil } from './helpers/wait.js';
import { useLogAudit } from './helpers/log-audit.js';
import { launchChromium, NO_BROWSER } from './helpers/browser.js';
import { doneIds, enqueueRecords, rsSuite, type RsEnv } from './fixtures/rs-harness.js';
import { FLAKY_JOB, seedFailures, startWeb } from './fixtures/web-harness.js';
import { Queue } from '@baton/resque';

// The dashboard in a real browser (Debian's Chromium through playwright-core, no browser
// download): a rolling restart watched live on the masters page, a failed job retried with a
// click, 10,000 failed jobs a page at a time. Screenshots go to tmp/screenshots, or to docs/
// with BATON_WEB_SCREENSHOTS=1 (`npm run screenshots`: the README's pictures).

if (NO_BROWSER) process.stderr.write(`resque-starter-web-browser: ${NO_BROWSER}\n`);

const SHOTS = process.env.BATON_WEB_SCREENSHOTS === '1' ? join(ROOT, 'docs') : join(ROOT, 'tmp', 'screenshots');
const suite = rsSuite();
const audit = useLogAudit();

async function withBrowser<T>(fn: (b: Browser) => Promise<T>): Promise<T> {
  const browser = await launchChromium();
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, name), fullPage });
}

function underStartServer(e: RsEnv) {
  const args = [`--pid-file=${join(e.dir, 'ss.pid')}`, `--status-file=${join(e.dir, 'ss.status')}`, '--signal-on-hup=CONT', '--interval=0.3', '--', process.execPath, BIN.resqueStarter, '-c', e.conf];
  return audit.current.watch(spawnNode(BIN.startServer, args, { label: 'start-server', env: e.env() }));
}

/** What the masters page shows now (read from its DOM, as the live refresh left it). */
interface Seen {
  alive: number;
  bound: number;
  rolling: boolean;
  gens: Array<{ generation: number; role: string; workers: number }>;
}

async function readMastersPage(page: Page): Promise<Seen | undefined> {
  // A string: the test's types have no DOM; this runs in the page.
  return (await page.evaluate(`(() => {
    const s = document.getElementById('masters-summary');
    if (!s) return undefined;
    const gens = [...document.querySelectorAll('section.gen')].map((g) => ({ generation: Number(g.dataset.generation), role: g.dataset.role, workers: Number(g.dataset.workers) }));
    return { alive: Number(s.dataset.alive), bound: Number(s.dataset.bound), rolling: s.dataset.rolling === '1', gens };
  })()`)) as Seen | undefined;
}

describe.skipIf(NO_BROWSER !== undefined)('resque-starter web in Chromium', { timeout: slow(90_000) }, () => {
  it('shows a rolling restart live: both generations during the hand-off, then only the new one; never more than C+1 workers', async () => {
    const C = 3;
    const e = suite.setup({ concurrency: C });
    const ss = underStartServer(e);
    await ss.waitForLine(/worker\[2\] \d+ ready/, { timeoutMs: slow(15_000) });
    const web = await startWeb(e);
    audit.current.watch(web.proc);
    const r = suite.redis.client();
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      const overview = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      let navigations = 0;
      page.on('framenavigated', (f) => {
        if (f === page.mainFrame()) navigations++;
      });
      await page.goto(`${web.base}/masters`);
      await overview.goto(`${web.base}/`);
      const first = await pollUntil(async () => {
        const s = await readMastersPage(page);
        return s && s.gens.length === 1 && s.gens[0]!.workers === C && !s.rolling ? s : undefined;
      }, { what: `the masters page to show one generation of ${C}`, timeoutMs: slow(10_000) });
      const oldGen = first.gens[0]!.generation;
      expect(first.bound).toBe(C + 1);

      // Jobs flowing (each takes 300 ms), so old workers drain a job before they go, and the
      // hand-off outlasts the page's 500 ms refresh (with 60 ms jobs a warm spare finished it
      // between two refreshes once in CI).
      const ids = await enqueueRecords(r, e.ns, 120, 300);
      await pollUntil(async () => (await doneIds(r, e.ns)).length >= 30, { what: 'jobs flowing' });
      const samples: Seen[] = [];
      let shotTaken = false;
      let midShot = false;
      // The picture for the README: mid hand-off (new workers ready, old ones still draining) when the page shows one.
      const maybeMidShot = async (s: Seen) => {
        const cur = s.gens.find((g) => g.role === 'current');
        const old = s.gens.find((g) => g.role === 'old');
        if (midShot || !cur || !old || cur.workers < 2 || old.workers < 1) return;
        midShot = true;
        await shot(page, 'dashboard-rolling-restart.png');
        await shot(overview, 'dashboard-overview.png');
      };
      process.kill(ss.pid, 'SIGHUP');
      // The hand-off as the page shows it (refreshed by its own script every 500 ms).
      const both = await pollUntil(async () => {
        const s = await readMastersPage(page);
        if (!s) return undefined;
        samples.push(s);
        await maybeMidShot(s);
        const live = s.gens.filter((g) => g.workers > 0);
        if (live.length === 2 && s.rolling && live.some((g) => g.generation === oldGen && g.role === 'old') && !shotTaken) {
          shotTaken = true;
          if (!midShot) {
            await shot(page, 'dashboard-rolling-restart.png');
            await shot(overview, 'dashboard-overview.png');
          }
          return s;
        }
        return undefined;
      }, { what: 'both generations with workers on the page', timeoutMs: slow(20_000), intervalMs: 50 });
      expect(both.gens.map((g) => g.role).sort()).toEqual(['current', 'old']);
      const done = await pollUntil(async () => {
        const s = await readMastersPage(page);
        if (!s) return undefined;
        samples.push(s);
        await maybeMidShot(s);
        return s.gens.length === 1 && s.gens[0]!.generation !== oldGen && s.gens[0]!.workers === C && !s.rolling ? s : undefined;
      }, { what: 'only the new generation, with its C workers', timeoutMs: slow(30_000), intervalMs: 50 });
      expect(done.gens[0]!.role).toBe('current');
      // Every view the page gave: the total is the generations' sum, never above C+1.
      for (const s of samples) {
        expect(s.alive).toBe(s.gens.reduce((n, g) => n + g.workers, 0));
        expect(s.alive).toBeLessThanOrEqual(C + 1);
      }
      expect(Math.max(...samples.map((s) => s.alive))).toBeGreaterThanOrEqual(C);
      // All of it through the live refresh: the page was loaded once.
      expect(navigations).toBe(1);
      expect(await page.locator('body').getAttribute('data-refreshed')).toMatch(/^\d+$/);
      await pollUntil(async () => (await doneIds(r, e.ns)).length >= ids.length, { what: 'all jobs done', timeoutMs: slow(30_000) });
      // The overview's sparkline drew the throughput.
      await overview.reload();
      expect(Number(await overview.getAttribute('svg.spark-ok', 'data-points'))).toBeGreaterThan(2);
      expect(Number(await overview.getAttribute('svg.spark-ok', 'data-max'))).toBeGreaterThan(0);
    });
  });

  it('the dashboard served by the master (metrics.dashboard): live across a rolling restart, and a page of the old master retries on the new one', async () => {
    const port = await freePort();
    const e = suite.setup({ concurrency: 2, jobs: FLAKY_JOB, extra: `metrics: { port: ${port}, dashboard: true },` });
    const ss = underStartServer(e);
    await ss.waitForLine(/worker\[1\] \d+ ready/, { timeoutMs: slow(15_000) });
    await ss.waitForLine(/and the dashboard at http:\/\/127\.0\.0\.1:\d+\//);
    const base = `http://127.0.0.1:${port}`;
    const q = new Queue({ redis: e.redis.url, namespace: e.ns });
    const r = suite.redis.client();
    try {
      await q.enqueue('rs', 'Flaky', 'master-page');
      await pollUntil(async () => (await q.failedCount()) === 1, { what: 'the failure', timeoutMs: slow(10_000) });
    } finally {
      await q.close();
    }
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      const failed = await browser.newPage({ viewport: { width: 1280, height: 600 } });
      let navigations = 0;
      page.on('framenavigated', (f) => {
        if (f === page.mainFrame()) navigations++;
      });
      await page.goto(`${base}/masters`);
      const first = await pollUntil(async () => {
        const s = await readMastersPage(page);
        return s && s.gens.length === 1 && s.gens[0]!.workers === 2 && !s.rolling ? s : undefined;
      }, { what: 'the masters page to show one generation of 2', timeoutMs: slow(10_000) });
      const oldGen = first.gens[0]!.generation;
      // The failed page as generation 1 serves it (its form's CSRF token made from the shared secret).
      await failed.goto(`${base}/failed`);
      await expect(failed.locator('tr.failed-row[data-class="Flaky"] summary').textContent()).resolves.toContain('flaky master-page fails the first time');
      process.kill(ss.pid, 'SIGHUP');
      await ss.waitForLine(/rolling restart done in [\d.]+s/, { timeoutMs: slow(20_000) });
      // The page, refreshed by its own script from whichever master holds the endpoint, ends on the new generation alone.
      const done = await pollUntil(async () => {
        const s = await readMastersPage(page);
        return s && s.gens.length === 1 && s.gens[0]!.generation !== oldGen && s.gens[0]!.workers === 2 && !s.rolling ? s : undefined;
      }, { what: 'only the new generation on the live page', timeoutMs: slow(30_000), intervalMs: 100 });
      expect(done.gens[0]!.role).toBe('current');
      expect(navigations).toBe(1);
      // Retry from the page generation 1 served: generation 2 accepts its form.
      await failed.locator('tr.failed-row[data-class="Flaky"] button.retry').click();
      await failed.waitForURL(/\/failed\?done=retried&index=0$/);
      await expect(failed.locator('.flash').textContent()).resolves.toContain('Failed job 0 enqueued again');
      await pollUntil(async () => (await doneIds(r, e.ns)).includes('flaky-master-page'), { what: 'the retried job done', timeoutMs: slow(10_000) });
    });
    ss.kill('SIGTERM');
    expect(await ss.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
  });

  it('a failed job is retried with a click, then done', async () => {
    const e = suite.setup({ concurrency: 1, jobs: FLAKY_JOB });
    const master = audit.current.watch(e.master());
    await master.waitForLine(/worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const web = await startWeb(e);
    audit.current.watch(web.proc);
    const q = new Queue({ redis: e.redis.url, namespace: e.ns });
    const r = suite.redis.client();
    try {
      await q.enqueue('rs', 'Flaky', 'click');
      await pollUntil(async () => (await q.failedCount()) === 1, { what: 'the failure', timeoutMs: slow(10_000) });
    } finally {
      await q.close();
    }
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 600 } });
      await page.goto(`${web.base}/failed`);
      const row = page.locator('tr.failed-row[data-class="Flaky"]');
      await expect(row.locator('summary').textContent()).resolves.toContain('flaky click fails the first time');
      await row.locator('summary').click();
      await expect(row.locator('dd code').first().textContent()).resolves.toBe('["click"]');
      await row.locator('button.retry').click();
      await page.waitForURL(/\/failed\?done=retried&index=0$/);
      await expect(page.locator('.flash').textContent()).resolves.toContain('Failed job 0 enqueued again');
      await pollUntil(async () => (await doneIds(r, e.ns)).includes('flaky-click'), { what: 'the retried job done', timeoutMs: slow(10_000) });
      await page.reload();
      await expect(page.locator('tr.failed-row[data-retried="1"] .retried').textContent()).resolves.toMatch(/^retried \d{4}\/\d\d\/\d\d/);
      // Clear all asks first (the page's own script, allowed by its CSP nonce); accepted, the list is empty.
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.accept();
      });
      await page.locator('#clear-all').click();
      await page.waitForURL(/\/failed\?done=cleared&n=1$/);
      expect(dialogs).toEqual(['Remove every failed job?']);
      expect(await r.llen(`${e.ns}:failed`)).toBe(0);
      await page.goto(`${web.base}/`);
      await expect(page.locator('#stat-processed').textContent()).resolves.toBe('2');
      await expect(page.locator('#stat-failed').textContent()).resolves.toBe('1');
      await expect(page.locator('#failed-badge').isHidden()).resolves.toBe(true);
      // Another failure: the live refresh updates the overview and the nav's badge (outside <main>).
      const q2 = new Queue({ redis: e.redis.url, namespace: e.ns });
      try {
        await q2.enqueue('rs', 'Flaky', 'badge');
      } finally {
        await q2.close();
      }
      await pollUntil(
        async () =>
          (await page.locator('#failed-badge').textContent()) === '1' && (await page.locator('#failed-badge').isVisible()) && (await page.locator('#stat-failed').textContent()) === '2',
        { what: 'the badge and the overview to show the new failure', timeoutMs: slow(10_000), intervalMs: 100 },
      );
    });
  });

  it('the failed page filtered by class and by error; the filtered set retried with one click, then done; the rest removed the same way', async () => {
    const BOOM = `
    async Boom(id: string) {
      throw new RangeError('boom ' + id);
    },`;
    const e = suite.setup({ concurrency: 1, jobs: FLAKY_JOB + BOOM });
    const master = audit.current.watch(e.master());
    await master.waitForLine(/worker\[0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const web = await startWeb(e);
    audit.current.watch(web.proc);
    const flaky = ['a', 'b', 'c', 'd'];
    const q = new Queue({ redis: e.redis.url, namespace: e.ns });
    const r = suite.redis.client();
    try {
      for (const id of flaky) await q.enqueue('rs', 'Flaky', id);
      for (const id of ['x', 'y', 'z']) await q.enqueue('rs', 'Boom', id);
      await pollUntil(async () => (await q.failedCount()) === 7, { what: 'the 7 failures', timeoutMs: slow(10_000) });
      // Delayed jobs an hour away (the scheduler leaves them be), for the queues page.
      for (let i = 0; i < 12; i++) await q.enqueueAt(Date.now() + 3_600_000 + i * 90_000, i % 3 ? 'rs' : 'mail', i % 2 ? 'Remind' : 'Report', `job-${i}`);
    } finally {
      await q.close();
    }
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.accept();
      });
      await page.goto(`${web.base}/failed`);
      await expect(page.locator('tr.failed-row').count()).resolves.toBe(7);
      // By error class: the RangeErrors only.
      await page.locator('#filter-exception').selectOption('RangeError');
      await page.locator('#filter-apply').click();
      await page.waitForURL(/\/failed\?exception=RangeError$/);
      await expect(page.locator('tr.failed-row').evaluateAll((rows) => rows.map((x) => x.getAttribute('data-class')))).resolves.toEqual(['Boom', 'Boom', 'Boom']);
      // By class: the Flaky ones; both buttons name how many they act on.
      await page.locator('#filter-exception').selectOption('');
      await page.locator('#filter-class').selectOption('Flaky');
      await page.locator('#filter-apply').click();
      await page.waitForURL(/\/failed\?class=Flaky$/);
      await expect(page.locator('#failed-total').textContent()).resolves.toBe('4 of 7 match');
      await expect(page.locator('tr.failed-row').evaluateAll((rows) => rows.map((x) => x.getAttribute('data-class')))).resolves.toEqual(['Flaky', 'Flaky', 'Flaky', 'Flaky']);
      await expect(page.locator('#retry-matching').textContent()).resolves.toBe('Retry 4 matching');
      await expect(page.locator('#retry-all').count()).resolves.toBe(0);
      await shot(page, 'dashboard-failed-filter.png', false);
      await page.locator('#retry-matching').click();
      await page.waitForURL(/\/failed\?class=Flaky&done=retried-matching&n=4$/);
      expect(dialogs).toEqual(['Enqueue the 4 failed job(s) of class Flaky not retried yet again?']);
      await expect(page.locator('.flash').textContent()).resolves.toContain('4 matching failed job(s) enqueued again');
      await pollUntil(async () => (await doneIds(r, e.ns)).filter((d) => d.startsWith('flaky-')).length === 4, { what: 'the 4 retried jobs done', timeoutMs: slow(10_000) });
      expect((await doneIds(r, e.ns)).filter((d) => d.startsWith('flaky-')).sort()).toEqual(flaky.map((id) => `flaky-${id}`));
      // Marked retried on the page (still filtered); the Boom entries were not touched.
      await page.reload();
      await expect(page.locator('tr.failed-row[data-retried="1"]').count()).resolves.toBe(4);
      const records = (await r.lrange(`${e.ns}:failed`, 0, -1)).map((x) => JSON.parse(x) as { payload: { class: string }; retried_at?: string });
      expect(records.filter((x) => x.payload.class === 'Boom').every((x) => x.retried_at === undefined)).toBe(true);
      // The rest removed through the same filter.
      await page.goto(`${web.base}/failed?class=Boom`);
      await page.locator('#remove-matching').click();
      await page.waitForURL(/\/failed\?class=Boom&done=removed-matching&n=3$/);
      expect(await r.llen(`${e.ns}:failed`)).toBe(4);
      await expect(page.locator('.empty').textContent()).resolves.toBe('No failed job matches class Boom.');
      // The queues page: delayed jobs per queue and the next ones due.
      await page.goto(`${web.base}/queues`);
      await expect(page.locator('table.queues tr[data-queue="mail"]').getAttribute('data-delayed')).resolves.toBe('4');
      await expect(page.locator('#delayed-next').getAttribute('data-total')).resolves.toBe('12');
      await expect(page.locator('tr.delayed-job').count()).resolves.toBe(10);
      await expect(page.locator('tr.delayed-job').first().locator('td').nth(1).textContent()).resolves.toMatch(/^in (59m \d+s|1h 0m) /);
      await shot(page, 'dashboard-queues.png', false);
    });
  });

  it('10,000 failed jobs: the page loads quickly with 50 rows, and pages on', async () => {
    const e = suite.setup({ concurrency: 1 });
    await seedFailures(suite.redis.client(), e.ns, 10_000);
    const web = await startWeb(e);
    audit.current.watch(web.proc);
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${web.base}/failed`); // warm
      const t0 = performance.now();
      await page.goto(`${web.base}/failed`, { waitUntil: 'load' });
      const ms = performance.now() - t0;
      expect(ms).toBeLessThan(slow(2000));
      await expect(page.locator('tr.failed-row').count()).resolves.toBe(50);
      await expect(page.locator('#failed-total').getAttribute('data-total')).resolves.toBe('10000');
      await expect(page.locator('tr.failed-row').first().getAttribute('data-index')).resolves.toBe('9999');
      await page.locator('tr.failed-row summary').first().click();
      await shot(page, 'dashboard-failed.png', false);
      await page.locator('.pager a', { hasText: 'older ›' }).first().click();
      await page.waitForURL(/page=2$/);
      await expect(page.locator('tr.failed-row').count()).resolves.toBe(50);
      await expect(page.locator('tr.failed-row').first().getAttribute('data-index')).resolves.toBe('9949');
      await expect(page.locator('.pager span').first().textContent()).resolves.toContain('page 2 of 200');
      process.stderr.write(`resque-starter-web-browser: /failed with 10,000 entries loaded in ${Math.round(ms)} ms\n`);
    });
  });
});
