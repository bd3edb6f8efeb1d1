import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { Queue } from '@baton/resque';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, spawnNode } from './helpers/spawn.js';
import { freePort } from './helpers/ports.js';
import { slow } from './helpers/slowness.js';
import { pollUntil } from './helpers/wait.js';
import { useLogAudit } from './helpers/log-audit.js';
import { doneIds, RS_BIN, rsSuite } from './fixtures/rs-harness.js';
import { holdSharedSecret } from '../packages/resque-starter/src/web/embedded.js';
import { failedForms, FLAKY_JOB, get, postForm, seedFailures, seedWorkers, startWeb } from './fixtures/web-harness.js';

// `resque-starter web` over plain HTTP: every page against a running master and a private
// redis-server, the failed list's Retry/Remove as the page's forms post them (CSRF and origin
// checked), the token, and pages that stay small and fast with 10,000 failed jobs and 100 workers.

const suite = rsSuite();
const audit = useLogAudit();
let second: TestRedis | undefined;
beforeAll(async () => {
  second = await startRedis();
});
afterAll(async () => {
  await second?.close();
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('resque-starter web (HTTP)', { timeout: slow(60_000) }, () => {
  it('shows the master, its workers, the queues and the workers; a failed job is retried through the form and runs', async () => {
    const e = suite.setup({ concurrency: 2, jobs: FLAKY_JOB });
    const master = audit.current.watch(e.master());
    await master.waitForLine(/worker\[1\] \d+ ready/, { timeoutMs: slow(15_000) });
    const web = await startWeb(e);
    audit.current.watch(web.proc);

    // Overview and masters: the master with its two workers, the bound C+1 = 3.
    const masters = await pollUntil(
      async () => {
        const r = await get(`${web.base}/masters`);
        return r.status === 200 && /data-role="current" data-workers="2" data-ready="2"/.test(r.body) ? r.body : undefined;
      },
      { what: 'the masters page to show 2 ready workers', timeoutMs: slow(10_000) },
    );
    expect(masters).toContain('data-alive="2" data-bound="3"');
    expect(masters).toContain(`data-master="${master.pid}"`);
    const overview = await get(`${web.base}/`);
    expect(overview.status).toBe(200);
    expect(overview.body).toContain('id="stat-workers">2<');
    expect(overview.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    // Only the page's own script runs: its nonce is in the policy, and no inline handler exists.
    const nonce = /script-src 'nonce-([^']+)'/.exec(overview.headers.get('content-security-policy') ?? '')?.[1];
    expect(overview.body).toContain(`<script nonce="${nonce}">`);
    expect(overview.body).not.toMatch(/ on[a-z]+="/);
    // A partial (what the live refresh fetches) is the <main> only.
    const partial = await get(`${web.base}/masters?partial=1`);
    expect(partial.body).not.toContain('<html');
    expect(partial.body).toContain('id="masters-summary"');

    // A job that fails once: in the failed list; Retry (the form) enqueues it again; it runs.
    const q = new Queue({ redis: e.redis.url, namespace: e.ns });
    try {
      await q.enqueue('rs', 'Flaky', 'f1');
      await pollUntil(async () => (await q.failedCount()) === 1, { what: 'the failure', timeoutMs: slow(10_000) });
    } finally {
      await q.close();
    }
    const failed = await get(`${web.base}/failed`);
    expect(failed.body).toContain('flaky f1 fails the first time');
    const { csrf, rows } = failedForms(failed.body);
    expect(csrf).toBeDefined();
    expect(rows).toEqual([{ index: '0', fp: expect.stringMatching(/^[0-9a-f]{16}$/) }]);
    const fields = { csrf: csrf!, index: '0', fp: rows[0]!.fp, page: '1' };
    // Refused: no CSRF token, another origin, a stale fingerprint.
    expect((await postForm(web.base, '/failed/retry', { ...fields, csrf: 'x' })).status).toBe(403);
    expect((await postForm(web.base, '/failed/retry', fields, 'http://evil.example')).status).toBe(403);
    expect((await postForm(web.base, '/failed/retry', fields, null)).status).toBe(403);
    const stale = await postForm(web.base, '/failed/retry', { ...fields, fp: '0000000000000000' });
    expect(stale).toMatchObject({ status: 303, location: '/failed?err=stale&index=0' });
    expect((await get(`${web.base}${stale.location}`)).body).toContain('The failed list changed');
    const r = suite.redis.client();
    expect(await doneIds(r, e.ns)).toEqual([]);
    const ok = await postForm(web.base, '/failed/retry', fields);
    expect(ok).toMatchObject({ status: 303, location: '/failed?done=retried&index=0' });
    await pollUntil(async () => (await doneIds(r, e.ns)).includes('flaky-f1'), { what: 'the retried job done', timeoutMs: slow(10_000) });
    const after = await get(`${web.base}/failed?done=retried&index=0`);
    expect(after.body).toContain('Failed job 0 enqueued again');
    expect(after.body).toMatch(/data-index="0" data-class="Flaky" data-queue="rs" data-exception="Error" data-retried="1"/);
    await web.proc.waitForLine(/dashboard: retried failed job 0 \(Flaky from rs\)/);
    // Remove takes it off the list.
    const again = failedForms(after.body);
    expect(await postForm(web.base, '/failed/remove', { csrf: again.csrf!, index: '0', fp: again.rows[0]!.fp })).toMatchObject({ status: 303, location: '/failed?done=removed&index=0' });
    expect(await r.llen(`${e.ns}:failed`)).toBe(0);

    // Queues and workers.
    const queues = await get(`${web.base}/queues`);
    expect(queues.body).toMatch(/data-queue="rs" data-depth="0"/);
    const workers = await get(`${web.base}/workers`);
    expect(workers.body.match(/class="worker-row"/g)).toHaveLength(2);
  });

  it('worker groups appear as labels: per group on the masters page, on each worker', async () => {
    const e = suite.setup({
      extra: `groups: {
    critical: { queues: ['critical'], concurrency: 2 },
    mail: { queues: ['mail'], concurrency: 1 },
  },`,
    });
    const master = audit.current.watch(e.master());
    await master.waitForLine(/worker\[mail\/0\] \d+ ready/, { timeoutMs: slow(15_000) });
    const web = await startWeb(e);
    audit.current.watch(web.proc);
    const masters = await pollUntil(
      async () => {
        const r = await get(`${web.base}/masters`);
        return /data-group="critical">critical 2\/2</.test(r.body) && /data-group="mail">mail 1\/1</.test(r.body) ? r.body : undefined;
      },
      { what: 'both groups ready on the masters page', timeoutMs: slow(15_000) },
    );
    expect(masters).toContain('data-alive="3" data-bound="4"');
    expect(masters.match(/<td><span class="label">critical<\/span><\/td>/g)).toHaveLength(2);
    expect(masters.match(/<td><span class="label">mail<\/span><\/td>/g)).toHaveLength(1);
    const workers = await pollUntil(
      async () => {
        const r = await get(`${web.base}/workers`);
        return (r.body.match(/class="worker-row"/g) ?? []).length === 3 ? r.body : undefined;
      },
      { what: 'three registered workers' },
    );
    expect(workers.match(/<span class="label">critical<\/span>/g)).toHaveLength(2);
    expect(workers.match(/<span class="label">mail<\/span>/g)).toHaveLength(1);
  });

  it('groups on two Redis servers: the overview sums both, queues lists each, failed and workers have a tab per Redis', async () => {
    const e = suite.setup({
      concurrency: 1,
      extra: `groups: {
    main: { queues: ['rs'] },
    reports: { queues: ['reports'], redis: ${JSON.stringify(second!.url)} },
  },`,
    });
    const r1 = suite.redis.client();
    const r2 = second!.client();
    await seedFailures(r1, e.ns, 3, 'OnFirst');
    await seedFailures(r2, e.ns, 2, 'OnSecond');
    await r2.sadd(`${e.ns}:queues`, 'reports');
    await r2.rpush(`${e.ns}:queue:reports`, JSON.stringify({ class: 'Report', args: [] }));
    const web = await startWeb(e);
    audit.current.watch(web.proc);
    const overview = await get(`${web.base}/`);
    expect(overview.body).toContain('id="stat-failed-list">5<');
    const queues = await get(`${web.base}/queues`);
    expect(queues.body).toMatch(new RegExp(`<h2>redis://127\\.0\\.0\\.1:${second!.port}/${e.ns} <small>groups reports</small></h2>`));
    expect(queues.body).toMatch(/data-queue="reports" data-depth="1" data-delayed="0"><td><a href="\/queues\/reports\?t=1">/);
    const first = await get(`${web.base}/failed`);
    expect(first.body).toContain('<nav class="tabs">');
    expect(first.body.match(/data-class="OnFirst"/g)).toHaveLength(3);
    const other = await get(`${web.base}/failed?t=1`);
    expect(other.body.match(/data-class="OnSecond"/g)).toHaveLength(2);
    expect(other.body).toContain('name="t" value="1"');
    // A form of the second tab acts on the second Redis.
    const { csrf, rows } = failedForms(other.body);
    expect(await postForm(web.base, '/failed/remove', { csrf: csrf!, t: '1', index: rows[0]!.index, fp: rows[0]!.fp })).toMatchObject({ status: 303, location: `/failed?t=1&done=removed&index=${rows[0]!.index}` });
    expect([await r1.llen(`${e.ns}:failed`), await r2.llen(`${e.ns}:failed`)]).toEqual([3, 1]);
    expect((await get(`${web.base}/queues/reports?t=1`)).body.match(/class="queue-job"/g)).toHaveLength(1);
  });

  it('10,000 failed jobs and 100 workers: a page at a time, fast', async () => {
    const e = suite.setup({ concurrency: 1 });
    const r = suite.redis.client();
    await seedFailures(r, e.ns, 10_000);
    await seedWorkers(r, e.ns, 100);
    const web = await startWeb(e);
    audit.current.watch(web.proc);
    await get(`${web.base}/failed`); // warm (first connection, first read)
    const t0 = performance.now();
    const first = await get(`${web.base}/failed`);
    const ms = performance.now() - t0;
    expect(first.status).toBe(200);
    expect(first.body.match(/class="failed-row"/g)).toHaveLength(50);
    expect(first.body).toContain('data-page="1" data-pages="200"');
    // Newest first: page 1 starts at the last index.
    expect(first.body).toMatch(/class="failed-row" data-index="9999"/);
    expect(first.body.length).toBeLessThan(200_000);
    expect(ms).toBeLessThan(slow(1000));
    const last = await get(`${web.base}/failed?page=200`);
    expect(last.body.match(/class="failed-row"/g)).toHaveLength(50);
    expect(last.body).toMatch(/class="failed-row" data-index="49"/);
    expect(last.body).toMatch(/class="failed-row" data-index="0"/);
    const per = await get(`${web.base}/failed?page=2&per=100000`);
    expect(per.body.match(/class="failed-row"/g)).toHaveLength(200);

    // A queue of 120 jobs: its page lists 50, from the head.
    await r.sadd(`${e.ns}:queues`, 'backlog');
    await r.rpush(`${e.ns}:queue:backlog`, ...Array.from({ length: 120 }, (_, i) => JSON.stringify({ class: 'Later', args: [i], enqueued_at: Date.now() / 1000 - 90 })));
    const queues = await get(`${web.base}/queues`);
    expect(queues.body).toMatch(/data-queue="backlog" data-depth="120" data-delayed="0"><td><a href="\/queues\/backlog">backlog<\/a>/);
    const q1 = await get(`${web.base}/queues/backlog`);
    expect(q1.body.match(/class="queue-job"/g)).toHaveLength(50);
    expect(q1.body).toMatch(/class="queue-job" data-position="0"><td class="n">0<\/td><td>Later<\/td><td><code>\[0\]<\/code><\/td><td>1m 3\ds<\/td>/);
    const q3 = await get(`${web.base}/queues/backlog?page=3`);
    expect(q3.body.match(/class="queue-job"/g)).toHaveLength(20);
    expect(q3.body).toContain('page 3 of 3 (101–120 of 120)');
    expect((await get(`${web.base}/queues/%E0`)).status).toBe(404);

    // Delayed jobs (no master here: no scheduler moves them): counted per queue, the next due listed, all of them a page at a time.
    const q = new Queue({ redis: e.redis.url, namespace: e.ns });
    const base = Date.now() + 3_600_000;
    try {
      for (let i = 0; i < 60; i++) await q.enqueueAt(base + i * 1000, 'mail', 'Remind', i);
      for (let i = 0; i < 5; i++) await q.enqueueAt(base - 60_000 + i, 'backlog', 'Later', `soon${i}`);
    } finally {
      await q.close();
    }
    const withDelayed = await get(`${web.base}/queues`);
    expect(withDelayed.body).toMatch(/data-queue="backlog" data-depth="120" data-delayed="5">/);
    expect(withDelayed.body).toMatch(/data-queue="mail" data-depth="0" data-delayed="60">.*<a href="\/delayed">60<\/a>/);
    expect(withDelayed.body).toContain('<h2 id="delayed-next" data-total="65">');
    expect(withDelayed.body.match(/class="delayed-job"/g)).toHaveLength(10);
    // The soonest first: the five of backlog (due a minute earlier), then mail's in order.
    expect(withDelayed.body).toMatch(/class="delayed-job" data-position="0" data-queue="backlog" data-class="Later"><td class="n">0<\/td><td>in 5\dm \d+s <small>/);
    expect(withDelayed.body).toMatch(/class="delayed-job" data-position="5" data-queue="mail" data-class="Remind">.*<code>\[0\]<\/code>/);
    const d2 = await get(`${web.base}/delayed?page=2`);
    expect(d2.body).toContain('data-total="65"');
    expect(d2.body.match(/class="delayed-job"/g)).toHaveLength(15);
    expect(d2.body).toContain('page 2 of 2 (51–65 of 65)');
    expect(d2.body).toMatch(/class="delayed-job" data-position="64" data-queue="mail" data-class="Remind">.*<code>\[59\]<\/code>/);

    const w1 = await get(`${web.base}/workers`);
    expect(w1.body.match(/class="worker-row"/g)).toHaveLength(50);
    expect(w1.body).toContain('data-page="1" data-pages="2"');
    expect(w1.body).toContain('<b>host0.example</b> 25');
    const w2 = await get(`${web.base}/workers?page=2`);
    expect(w2.body.match(/class="worker-row"/g)).toHaveLength(50);
    expect(w2.body.match(/data-busy="1"/g)).toHaveLength(25);
  });

  it('10,000 failed jobs: filtered by class, queue and error a page at a time; the matching ones removed with one form (CSRF checked); page times', async () => {
    const e = suite.setup({ concurrency: 1 });
    const r = suite.redis.client();
    await seedFailures(r, e.ns, 9_000);
    await seedFailures(r, e.ns, 1_000, 'Other', { exception: 'TypeError', queue: 'mail' });
    await seedWorkers(r, e.ns, 100);
    const web = await startWeb(e);
    audit.current.watch(web.proc);
    await get(`${web.base}/workers`); // first connection
    const c0 = performance.now();
    const cold = await get(`${web.base}/failed?class=Other`);
    const coldMs = performance.now() - c0;
    expect(cold.body.match(/class="failed-row"/g)).toHaveLength(50);
    expect(cold.body).toContain('data-total="10000" data-matching="1000"');
    expect(cold.body).toContain('1,000 of 10,000 match');
    // Newest first among the matching; the pager keeps the filter.
    expect(cold.body).toMatch(/class="failed-row" data-index="9999" data-class="Other" data-queue="mail" data-exception="TypeError"/);
    expect(cold.body).toContain('href="/failed?class=Other&amp;page=2"');
    // The choices, with their counts.
    expect(cold.body).toContain('<option value="Seeded">Seeded (9,000)</option><option value="Other" selected>Other (1,000)</option>');
    expect(cold.body).toContain('<option value="mail">mail (1,000)</option>');
    const p20 = await get(`${web.base}/failed?class=Other&page=20`);
    expect(p20.body.match(/class="failed-row" data-index="(\d+)"/g)?.at(-1)).toBe('class="failed-row" data-index="9000"');
    expect((await get(`${web.base}/failed?queue=rs&exception=TypeError`)).body).toContain('No failed job matches queue rs, error TypeError.');
    expect((await get(`${web.base}/failed?exception=TypeError&queue=mail`)).body).toContain('data-matching="1000"');

    // Page times, warm (median of 7 each): the numbers the README quotes.
    const median = async (path: string) => {
      const ms: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        expect((await get(`${web.base}${path}`)).status).toBe(200);
        ms.push(performance.now() - t0);
      }
      return ms.sort((a, b) => a - b)[3]!;
    };
    const times = { failed: await median('/failed'), filtered: await median('/failed?class=Other&page=7'), workers: await median('/workers'), overview: await median('/') };
    process.stderr.write(`resque-starter-web: 10,000 failed, 100 workers: first filtered page ${Math.round(coldMs)} ms (the index read); median ms ${JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Math.round(v)])))}\n`);
    for (const v of Object.values(times)) expect(v).toBeLessThan(slow(1000));

    // Remove the matching ones: the form's CSRF token and origin are checked as for every action.
    const { csrf } = failedForms(cold.body);
    expect((await postForm(web.base, '/failed/remove-matching', { csrf: 'x', class: 'Other' })).status).toBe(403);
    expect((await postForm(web.base, '/failed/remove-matching', { csrf: csrf!, class: 'Other' }, 'http://evil.example')).status).toBe(403);
    expect(await postForm(web.base, '/failed/remove-matching', { csrf: csrf! })).toMatchObject({ status: 303, location: '/failed?err=no-filter' });
    expect(await r.llen(`${e.ns}:failed`)).toBe(10_000);
    expect(await postForm(web.base, '/failed/remove-matching', { csrf: csrf!, class: 'Other' })).toMatchObject({ status: 303, location: '/failed?class=Other&done=removed-matching&n=1000' });
    expect(await r.llen(`${e.ns}:failed`)).toBe(9_000);
    const after = await get(`${web.base}/failed?class=Other&done=removed-matching&n=1000`);
    expect(after.body).toContain('1000 matching failed job(s) removed.');
    expect(after.body).toContain('data-total="9000" data-matching="0"');
    await web.proc.waitForLine(/dashboard: removed 1000 failed job\(s\) matching class=Other/);
  });

  it('metrics.dashboard: the master serves the dashboard next to /metrics; it moves with the endpoint at a rolling restart, and a form of the old master\'s page works on the new one', async () => {
    const port = await freePort();
    const e = suite.setup({ concurrency: 2, jobs: FLAKY_JOB, extra: `metrics: { port: ${port}, dashboard: true },` });
    const args = [`--pid-file=${join(e.dir, 'ss.pid')}`, `--status-file=${join(e.dir, 'ss.status')}`, '--signal-on-hup=CONT', '--interval=0.3', '--'];
    const ss = audit.current.watch(spawnNode(BIN.startServer, [...args, process.execPath, BIN.resqueStarter, '-c', e.conf], { label: 'start-server', env: e.env() }));
    await ss.waitForLine(/worker\[1\] \d+ ready/, { timeoutMs: slow(15_000) });
    const base = `http://127.0.0.1:${port}`;
    const listening = await ss.waitForLine(/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics \(and the dashboard at http:\/\/127\.0\.0\.1:\d+\/\)/);
    expect(listening[0]).toContain(`:${port}/`);
    const gen1 = e.status()!.master.pid;
    const masters = await get(`${base}/masters`);
    expect(masters.status).toBe(200);
    expect(masters.body).toMatch(new RegExp(`data-master="${gen1}" data-role="current" data-workers="2"`));
    expect((await get(`${base}/metrics`)).body).toMatch(new RegExp(`resque_starter_master_info\\{pid="${gen1}",generation="1"\\} 1`));
    // Same access rules as \`resque-starter web\`: a POST from elsewhere is refused.
    const q = new Queue({ redis: e.redis.url, namespace: e.ns });
    try {
      await q.enqueue('rs', 'Flaky', 'handover');
      await pollUntil(async () => (await q.failedCount()) === 1, { what: 'the failure', timeoutMs: slow(10_000) });
    } finally {
      await q.close();
    }
    const page = await get(`${base}/failed`);
    const { csrf, rows } = failedForms(page.body);
    const fields = { csrf: csrf!, index: rows[0]!.index, fp: rows[0]!.fp };
    expect((await postForm(base, '/failed/retry', fields, 'http://evil.example')).status).toBe(403);

    // A rolling restart: the endpoint (and the dashboard) goes to generation 2; generation 1 exits.
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(/rolling restart done in [\d.]+s/, { timeoutMs: slow(20_000) });
    await pollUntil(() => e.status()?.master.pid !== gen1 && !isAlive(gen1), { what: 'generation 1 gone', timeoutMs: slow(15_000) });
    const gen2 = e.status()!.master.pid;
    const after = await pollUntil(async () => {
      const r = await get(`${base}/masters`).catch(() => undefined);
      return r?.status === 200 && new RegExp(`data-master="${gen2}" data-role="current" data-workers="2"`).test(r.body) && !r.body.includes(`data-master="${gen1}"`) ? r : undefined;
    }, { what: 'the dashboard from generation 2, generation 1 no longer listed', timeoutMs: slow(10_000) });
    expect(after.body).toContain('data-generations="1"');
    expect((await get(`${base}/metrics`)).body).toMatch(new RegExp(`resque_starter_master_info\\{pid="${gen2}",generation="2"\\} 1`));
    // The form of the page generation 1 served: its CSRF token is valid on generation 2.
    expect(await postForm(base, '/failed/retry', fields)).toMatchObject({ status: 303, location: '/failed?done=retried&index=0' });
    const r = suite.redis.client();
    await pollUntil(async () => (await doneIds(r, e.ns)).includes('flaky-handover'), { what: 'the retried job done', timeoutMs: slow(10_000) });
    // The secret file outlived generation 1 (generation 2 holds it); the last master to exit removes it.
    const dashboardFiles = () => readdirSync(e.runtimeDir).filter((f) => f.startsWith('dashboard-')).sort();
    expect(dashboardFiles()).toEqual([expect.stringMatching(/^dashboard-[0-9a-f]{16}\.\d+\.hold$/), expect.stringMatching(/^dashboard-[0-9a-f]{16}\.secret$/)]);
    expect(dashboardFiles()[0]).toContain(`.${gen2}.hold`);
    ss.kill('SIGTERM');
    expect(await ss.waitForExit({ timeoutMs: slow(15_000) })).toEqual({ code: 0, signal: null });
    expect(dashboardFiles()).toEqual([]);
  });

  it('the dashboard secret: kept while another live process holds it, removed by the last holder, a dead holder\'s mark cleared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-secret-'));
    try {
      const env = { RESQUE_STARTER_RUNTIME_DIR: dir };
      const files = () => readdirSync(dir).filter((f) => f.startsWith('dashboard-')).sort();
      const a = holdSharedSecret(env, 'conf\0endpoint');
      const b = holdSharedSecret(env, 'conf\0endpoint', process.ppid);
      expect(b.value).toBe(a.value);
      expect(a.value).toMatch(/^[0-9a-f]{64}$/);
      expect(readFileSync(join(dir, files().find((f) => f.endsWith('.secret'))!), 'utf8')).toBe(a.value);
      expect(statSync(join(dir, files().find((f) => f.endsWith('.secret'))!)).mode & 0o777).toBe(0o600);
      // Another config or endpoint: its own secret.
      const other = holdSharedSecret(env, 'conf\0elsewhere');
      expect(other.value).not.toBe(a.value);
      other.release();
      expect(files()).toHaveLength(3);
      a.release();
      expect(files()).toEqual([expect.stringMatching(new RegExp(`\\.${process.ppid}\\.hold$`)), expect.stringMatching(/\.secret$/)]);
      // A holder that died without releasing (kill -9): its mark does not keep the file.
      const dead = spawnSync(process.execPath, ['-e', '0']).pid;
      const c = holdSharedSecret(env, 'conf\0endpoint', dead);
      expect(c.value).toBe(b.value);
      b.release();
      expect(files()).toEqual([]);
      // The next holder makes a new one.
      const d = holdSharedSecret(env, 'conf\0endpoint');
      expect(d.value).not.toBe(a.value);
      d.release();
      expect(files()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a token: refused without it, ?token= logs in with a cookie, a bearer header works; a public bind needs one', async () => {
    const e = suite.setup({ concurrency: 1 });
    const token = 'test-token-0123456789';
    const web = await startWeb(e, [], { env: { RESQUE_STARTER_WEB_TOKEN: token } });
    audit.current.watch(web.proc);
    expect(web.proc.output).toMatch(/dashboard on http:\/\/127\.0\.0\.1:\d+\/ \(token required/);
    expect(web.proc.output).not.toContain(token);
    const no = await get(`${web.base}/`);
    expect(no.status).toBe(401);
    expect(no.body).toContain('a token is needed');
    expect((await get(`${web.base}/failed?token=wrong`)).status).toBe(401);
    const login = await get(`${web.base}/failed?page=1&token=${token}`);
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/failed?page=1');
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
    expect(cookie).not.toContain(token);
    expect((await get(`${web.base}/failed`, { Cookie: cookie.split(';')[0]! })).status).toBe(200);
    expect((await get(`${web.base}/api/stats`, { Authorization: `Bearer ${token}` })).status).toBe(200);

    // With the config's logFormat json (BATON_LOG_FORMAT here): JSON lines, role web.
    const json = await startWeb(e, [], { env: { BATON_LOG_FORMAT: 'json' } });
    audit.current.watch(json.proc);
    const line = JSON.parse(json.proc.output.split('\n').find((l) => l.includes('dashboard on'))!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', role: 'web', pid: json.proc.pid });
    expect(line.msg).toMatch(/^dashboard on http:\/\/127\.0\.0\.1:\d+\/$/);

    const refused = spawnNode(RS_BIN, ['web', '-c', e.conf, '--host', '0.0.0.0', '--port', '0'], { label: 'web 0.0.0.0', env: e.env() });
    const exit = await refused.waitForExit({ timeoutMs: slow(10_000) });
    expect(exit.code).toBe(2);
    expect(refused.output).toContain('resque-starter: Binding the dashboard to `0.0.0.0` (not a loopback address) needs a token: pass `--token T` or set RESQUE_STARTER_WEB_TOKEN');
  });
});
