import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, spawnNode, type Spawned } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pollUntil, waitForPidExit } from './helpers/wait.js';
import { freePort } from './helpers/ports.js';
import { useLogAudit } from './helpers/log-audit.js';
import { doneIds, enqueueRecords, RsEnv, rsSuite, hangSecondWorker } from './fixtures/rs-harness.js';

// The master's Prometheus endpoint over real HTTP, fed by real workers and a real redis-server:
// counters equal the jobs done, survive a worker's death, and never go backwards across a
// rolling restart under start-server (the old master hands the endpoint and its counts over).

const suite = rsSuite();
const audit = useLogAudit();

/** Connections kept alive between scrapes, as Prometheus keeps them: the endpoint's hand-over must not leave them on the old master. */
const agent = new Agent({ keepAlive: true });
afterAll(() => agent.destroy());

/** GET /metrics over TCP (`port`) or a unix socket (`socketPath`); undefined when nobody answers. */
function scrape(target: { port: number } | { socketPath: string }, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ ...('port' in target ? { host: '127.0.0.1', port: target.port } : { socketPath: target.socketPath }), path: '/metrics', timeout: timeoutMs, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The value of every series of `name` whose labels include `match` (`{}`: all), summed. */
function sum(body: string, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const line of body.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) total += Number(m[3]);
  }
  return total;
}

/** Scrapes every `everyMs` until stopped; keeps what each answered scrape showed. */
function scraper(target: { port: number } | { socketPath: string }, everyMs = 40) {
  const seen: Array<{ processed: number; generations: string[]; master: string }> = [];
  let failed = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const body = await scrape(target, 1000);
      if (body === undefined) failed++;
      else {
        const generations = [...body.matchAll(/^resque_starter_workers\{[^}]*generation="(\w+)"\} ([1-9]\d*)$/gm)].map((x) => x[1]!);
        seen.push({ processed: sum(body, 'resque_starter_jobs_processed_total'), generations: [...new Set(generations)].sort(), master: /master_info\{pid="(\d+)"/.exec(body)?.[1] ?? '' });
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      await loop;
      return { seen, failed };
    },
  };
}

function chain(e: RsEnv): Spawned {
  const args = [`--pid-file=${join(e.dir, 'ss.pid')}`, `--status-file=${join(e.dir, 'ss.status')}`, '--signal-on-hup=CONT', '--interval=0.3', '--'];
  return audit.current.watch(spawnNode(BIN.startServer, [...args, process.execPath, BIN.resqueStarter, '-c', e.conf], { label: 'start-server', env: e.env() }));
}

describe('resque-starter metrics', { timeout: slow(60_000) }, () => {
  it('under start-server: counters equal the jobs done and never go back across a rolling restart; both generations show during it', async () => {
    const C = 3;
    const port = await freePort();
    const e = suite.setup({ concurrency: C, extra: `metrics: { port: ${port} },` });
    const ss = chain(e);
    await ss.waitForLine(/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/, { timeoutMs: slow(10_000) });
    await ss.waitForLine(/worker\[2\] \d+ ready/, { timeoutMs: slow(10_000) });
    const oldMaster = Number(readFileSync(e.pidFile, 'utf8').trim());
    const r = suite.redis.client();
    const ids = await enqueueRecords(r, e.ns, 240, 25);
    await pollUntil(async () => (await doneIds(r, e.ns)).length >= 20, { what: 'jobs flowing' });
    const s = scraper({ port });
    await pollUntil(() => s.seen.length >= 3, { what: 'first scrapes' });
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(/rolling restart done in [\d.]+s: 3 new worker\(s\) ready/, { timeoutMs: slow(20_000) });
    await waitForPidExit(oldMaster, { timeoutMs: slow(10_000) });
    await pollUntil(async () => (await doneIds(r, e.ns)).length >= ids.length, { what: 'all jobs done', timeoutMs: slow(30_000) });
    // The last batches reach the master within 100 ms of the last job.
    await pollUntil(() => (s.seen.at(-1)?.processed === ids.length ? true : undefined), { what: `processed = ${ids.length} on the endpoint`, timeoutMs: slow(5000) });
    const { seen, failed } = await s.stop();

    expect(new Set(await doneIds(r, e.ns)).size).toBe(ids.length);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.processed, `scrape ${i} after ${seen[i - 1]!.processed}`).toBeGreaterThanOrEqual(seen[i - 1]!.processed);
    const masters = [...new Set(seen.map((x) => x.master))];
    expect(masters).toEqual([String(oldMaster), expect.stringMatching(/^\d+$/)]); // the endpoint moved once
    const timeline = seen.map((x) => `${x.master}:${x.generations.join('+')}:${x.processed}`).join(' ');
    // Both generations while it ran (a scraper's kept-alive connection to the old master is closed when it gives the endpoint up).
    expect(seen.some((x) => x.generations.join() === '1,2'), `scrapes (master:generations:processed), ${failed} failed: ${timeline}`).toBe(true);
    // Once the old master is gone, only the new generation's workers.
    await pollUntil(async () => {
      const body = await scrape({ port });
      return body && sum(body, 'resque_starter_workers', { generation: '1' }) === 0 && sum(body, 'resque_starter_workers', { generation: '2' }) === C ? true : undefined;
    }, { what: 'only generation 2 on the endpoint' });
    // A scrape may fail while the endpoint moves (the old master gave it up, the new one binds it).
    expect(failed).toBeLessThanOrEqual(3);
    const body = (await scrape({ port }))!;
    expect(sum(body, 'resque_starter_rolling_restarts_total', { kind: 'takeover', outcome: 'done' })).toBe(1);
    expect(sum(body, 'resque_starter_worker_starts_total')).toBe(2 * C);
    expect(sum(body, 'resque_starter_job_duration_seconds_count')).toBe(ids.length);
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
  });

  it('a rolling restart that gives up: the old master takes the endpoint back with the new workers\' counts; nothing goes backwards', async () => {
    const C = 3;
    const port = await freePort();
    const e = suite.setup({ concurrency: C, extra: `metrics: { port: ${port} },` });
    const ss = chain(e);
    await ss.waitForLine(/worker\[2\] \d+ ready/, { timeoutMs: slow(10_000) });
    const oldMaster = Number(readFileSync(e.pidFile, 'utf8').trim());
    // The new code hangs in its second worker's afterFork.
    const { readyS, good } = hangSecondWorker(e.conf, audit.current);
    const r = suite.redis.client();
    // Enough jobs to outlast the attempt: jobs are done before, during and after it.
    const ids = await enqueueRecords(r, e.ns, 240 * readyS + 300, 25);
    const s = scraper({ port });
    await pollUntil(() => s.seen.length >= 3, { what: 'first scrapes' });
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(/gave up its rolling restart: back to 3 worker\(s\)/, { timeoutMs: slow(30_000) });
    expect((await doneIds(r, e.ns)).length).toBeLessThan(ids.length - 50);
    writeFileSync(e.conf, good); // so start-server's retry does not hang again
    await pollUntil(async () => (await doneIds(r, e.ns)).length >= ids.length, { what: 'all jobs done', timeoutMs: slow(30_000) });
    // The hung worker took jobs while its afterFork hung (its Resque worker runs from before
    // afterFork) and was killed with SIGKILL: what it finished in its last 100 ms was never
    // reported (README: a worker killed with SIGKILL loses at most its last batch).
    const killed = Number(/worker\[1\] (\d+) not ready after/.exec(ss.output)?.[1]);
    const byKilled = (await r.lrange(`${e.ns}:rs:done`, 0, -1)).filter((x) => x.endsWith(`:${killed}`)).length;
    const atLeast = ids.length - byKilled;
    await pollUntil(() => ((s.seen.at(-1)?.processed ?? 0) >= atLeast ? true : undefined), { what: `processed ≥ ${atLeast} on the endpoint`, timeoutMs: slow(10_000) }).catch((err) => {
      const order = s.seen.map((x) => `${x.master}:${x.processed}`).filter((m, i, all) => i === 0 || all[i - 1]!.split(':')[0] !== m.split(':')[0] || i === all.length - 1);
      throw new Error(`${(err as Error).message}; the endpoint (master:processed where it changed hands): ${order.join(' ')}`);
    });
    const { seen } = await s.stop();
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.processed, `scrape ${i} after ${seen[i - 1]!.processed}`).toBeGreaterThanOrEqual(seen[i - 1]!.processed);
    expect(seen.at(-1)!.processed).toBeLessThanOrEqual(ids.length);
    // The endpoint went old → the new master that gave up → the old one again (→ start-server's next try, which may already have taken over).
    const order = seen.map((x) => x.master).filter((m, i, all) => i === 0 || all[i - 1] !== m);
    expect(order[0]).toBe(String(oldMaster));
    expect(order.length, order.join(' → ')).toBeGreaterThanOrEqual(2);
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
  });

  it('on a unix socket: failures, a worker killed mid-job (death, recovery) and the counts it had survive', async () => {
    const e = suite.setup({ concurrency: 2, extra: "metrics: { path: 'metrics.sock' },", jobs: "Boom() { throw new Error('boom'); }," });
    const socketPath = join(e.dir, 'metrics.sock');
    const m = audit.current.watch(e.master());
    await m.waitForLine(/metrics on unix:.*metrics\.sock \/metrics/, { timeoutMs: slow(10_000) });
    await m.waitForLine(/worker\[1\] \d+ ready/, { timeoutMs: slow(10_000) });
    const r = suite.redis.client();
    await r.rpush(`${e.ns}:queue:rs`, ...Array.from({ length: 5 }, () => JSON.stringify({ class: 'Boom', args: [] })));
    const ids = await enqueueRecords(r, e.ns, 30, 0);
    await pollUntil(async () => (await doneIds(r, e.ns)).length >= ids.length, { what: 'jobs done' });
    const counted = await pollUntil(
      async () => {
        const body = await scrape({ socketPath });
        return body && sum(body, 'resque_starter_jobs_processed_total') === 35 ? body : undefined;
      },
      { what: '35 processed on the endpoint' },
    );
    expect(sum(counted, 'resque_starter_jobs_failed_total', { class: 'Boom' })).toBe(5);
    expect(sum(counted, 'resque_starter_jobs_processed_total', { class: 'Record', queue: 'rs' })).toBe(30);
    expect(sum(counted, 'resque_starter_queue_depth', { queue: 'rs' })).toBe(0);
    expect(sum(counted, 'resque_starter_redis_up')).toBe(1);

    // A long job; its worker is killed under it: a death, and the job recovered by the master.
    await enqueueRecords(r, e.ns, 1, 60_000, 'long');
    const victim = await pollUntil(async () => Number((await r.lrange(`${e.ns}:rs:started`, 0, -1)).find((x) => x.startsWith('long0:'))?.split(':')[1]) || undefined, {
      what: 'the long job running',
    });
    audit.current.expect(new RegExp(`worker\\[\\d\\] ${victim} died \\(killed by SIGKILL`), 'the test kills the worker');
    process.kill(victim, 'SIGKILL');
    const after = await pollUntil(
      async () => {
        const body = await scrape({ socketPath });
        return body && sum(body, 'resque_starter_jobs_recovered_total') >= 1 ? body : undefined;
      },
      { what: 'the recovery counted' },
    );
    expect(sum(after, 'resque_starter_worker_deaths_total')).toBe(1);
    expect(sum(after, 'resque_starter_worker_starts_total')).toBe(3);
    expect(sum(after, 'resque_starter_jobs_processed_total')).toBeGreaterThanOrEqual(35); // the counts outlive the worker
    // Its replacement takes the recovered job again; the test does not wait for it.
    m.kill('SIGTERM');
    await m.waitForExit({ timeoutMs: slow(15_000) });
  });
});
