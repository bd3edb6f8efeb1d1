import { existsSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, spawnNode, spawnTracked, type Spawned } from './helpers/spawn.js';
import { readText } from './helpers/start-server.js';
import { slow } from './helpers/slowness.js';
import { pidAlive, pollUntil, waitForPidExit } from './helpers/wait.js';
import { doneIds, enqueueRecords, RS_BIN, RsEnv, type ConfOptions, rsSuite } from './fixtures/rs-harness.js';

// Issue 10 (hardening), the master's side: each test reproduces one audit finding and fails
// without its fix. Jobs that block the event loop use Atomics.wait, as the audit did.

const suite = rsSuite();
const setup = (options: ConfOptions, target?: { url: string }) => suite.setup(options, target);

const JOBS = `
    /** Records its start, then blocks the event loop for ms (no timer, no I/O runs meanwhile). */
    async Block(id: string, ms: number) {
      await rec().rpush(NS + ':rs:started', id + ':' + process.pid);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      await rec().rpush(NS + ':rs:done', id + ':' + process.pid);
    },
    /** Its first run ends the process with exit code 0; later runs complete. */
    async ExitOnce(id: string) {
      const first = (await rec().rpush(NS + ':rs:started', id + ':' + process.pid)) === 1;
      if (first) process.exit(0);
      await rec().rpush(NS + ':rs:done', id + ':' + process.pid);
    },
    /** Keeps mb megabytes alive in this worker; synchronous, so the next job would start at once. */
    HogSync(mb: number) {
      hog.push(Buffer.alloc(mb * 1024 * 1024, 1));
      appendFileSync(process.env.RS_HOG_LOG!, 'hog:' + process.pid + '\\n');
    },
    /** Starts a child process in the worker's process group and leaves it running. */
    async Spawn(id: string) {
      const { spawn } = await import('node:child_process');
      const child = spawn('sleep', ['299'], { stdio: 'ignore' });
      child.unref();
      await rec().rpush(NS + ':rs:children', String(child.pid));
      await rec().rpush(NS + ':rs:done', id + ':' + process.pid);
    },`;

const enqueue = async (e: RsEnv, cls: string, ...args: unknown[]) => {
  const r = suite.redis.client();
  await r.sadd(`${e.ns}:queues`, 'rs');
  await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: cls, args }));
};
const started = async (e: RsEnv) => (await suite.redis.client().lrange(`${e.ns}:rs:started`, 0, -1)).map((x) => x.split(':')[0]);

describe('resque-starter hardening (issue 10)', { timeout: slow(60_000) }, () => {
  it('item 4: a job that blocks its event loop keeps its lease (the master holds it): it runs once, not again on another worker', async () => {
    const e = setup({ concurrency: 2, jobs: JOBS, extra: 'lockTimeout: 1,' });
    const m = e.master();
    await m.waitForLine(/worker\[1\] \d+ ready/);
    await enqueue(e, 'Block', 'b1', 4000);
    await pollUntil(async () => (await doneIds(suite.redis.client(), e.ns)).includes('b1'), { what: 'b1 done', timeoutMs: slow(20_000) });
    // The other worker's janitor ran every 0.5 s while b1's lock (1 s) was not renewed by its worker.
    expect(await started(e)).toEqual(['b1']);
    expect(await doneIds(suite.redis.client(), e.ns)).toEqual(['b1']);
    expect(m.output).not.toMatch(/recovered by another worker|put \d+ in-flight job/);
    process.kill(m.pid, 'SIGQUIT');
    expect((await m.waitForExit()).code).toBe(0);
  });

  it('item 4: jobTimeout is enforced from outside a blocked worker: shown busy, killed, recorded as failed (Resque::JobTimeout), not run again', async () => {
    const e = setup({ concurrency: 1, jobs: JOBS, extra: 'jobTimeout: 3, termTimeout: 0.5,' });
    const m = e.master();
    await m.waitForLine(/worker\[0\] \d+ ready/);
    await enqueue(e, 'Block', 'b2', 60_000);
    // The job start reached the master before the handler blocked the loop.
    await pollUntil(() => e.status()?.workers[0]?.job?.class === 'Block', { what: 'the status file showing the Block job' });
    await m.waitForLine(/job Block on rs has run longer than jobTimeout/, { timeoutMs: slow(10_000) });
    await m.waitForLine(/job Block on rs of killed worker \d+ recorded as failed \(jobTimeout\)/, { timeoutMs: slow(10_000) });
    await pollUntil(() => e.status()?.workers[0]?.state === 'idle', { what: 'a new idle worker in slot 0', timeoutMs: slow(15_000) });
    const r = suite.redis.client();
    const failed = (await r.lrange(`${e.ns}:failed`, 0, -1)).map((f) => JSON.parse(f) as { exception: string; error: string; payload: { class: string } });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ exception: 'Resque::JobTimeout', payload: { class: 'Block' } });
    expect(failed[0]!.error).toMatch(/jobTimeout \(3s\)/);
    expect(await r.llen(`${e.ns}:queue:rs`)).toBe(0);
    expect(await started(e)).toEqual(['b2']);
    process.kill(m.pid, 'SIGQUIT');
    expect((await m.waitForExit()).code).toBe(0);
  });

  it('item 3: QUIT then TERM with a job that cannot stop: the master puts the job back before it exits', async () => {
    const e = setup({ concurrency: 1, jobs: JOBS, extra: 'termTimeout: 0.5, lockTimeout: 30,' });
    const m = e.master();
    await m.waitForLine(/worker\[0\] \d+ ready/);
    await enqueue(e, 'Block', 'b3', 30_000);
    await pollUntil(async () => (await started(e)).includes('b3'), { what: 'b3 started' });
    process.kill(m.pid, 'SIGQUIT');
    await m.waitForLine(/received QUIT/);
    process.kill(m.pid, 'SIGTERM');
    expect((await m.waitForExit({ timeoutMs: slow(15_000) })).code).toBe(0);
    expect(m.output).toMatch(/sending SIGKILL/);
    // Nothing left for a janitor to find: the job is back, the worker deregistered.
    const r = suite.redis.client();
    expect((await r.lrange(`${e.ns}:queue:rs`, 0, -1)).map((j) => (JSON.parse(j) as { args: unknown[] }).args[0])).toEqual(['b3']);
    expect(await r.smembers(`${e.ns}:workers`)).toEqual([]);
    expect(await r.keys(`${e.ns}:baton:inflight:*`)).toEqual([]);
  });

  it('item 6: a job calling process.exit(0) is a death: its job goes back at once, not when its lock lapses', async () => {
    const e = setup({ concurrency: 1, jobs: JOBS, extra: 'lockTimeout: 60,' });
    const m = e.master();
    await m.waitForLine(/worker\[0\] \d+ ready/);
    await enqueue(e, 'ExitOnce', 'x1');
    await m.waitForLine(/worker\[0\] \d+ died \(exit code 0\); its jobs go back to their queues/, { timeoutMs: slow(10_000) });
    // Well within the 60 s lock: put back by the master, run again by the new worker.
    await pollUntil(async () => (await doneIds(suite.redis.client(), e.ns)).includes('x1'), { what: 'x1 done on its second run', timeoutMs: slow(15_000) });
    expect(await started(e)).toEqual(['x1', 'x1']);
    process.kill(m.pid, 'SIGQUIT');
    expect((await m.waitForExit()).code).toBe(0);
  });

  it('item 7: after a maxMemory recycle decision the worker starts no further job', async () => {
    const e = setup({ concurrency: 2, extra: 'maxMemory: 200,', jobs: JOBS });
    const log = join(e.dir, 'hog.log');
    const m = e.master([], { env: { RS_HOG_LOG: log } });
    await m.waitForLine(/worker\[1\] \d+ ready/);
    const r = suite.redis.client();
    await r.sadd(`${e.ns}:queues`, 'rs');
    await r.rpush(`${e.ns}:queue:rs`, ...[1, 2, 3, 4].map(() => JSON.stringify({ class: 'HogSync', args: [500] })));
    const done = await pollUntil(
      () => {
        const d = readText(log).split('\n').filter(Boolean);
        return d.length >= 4 ? d : undefined;
      },
      { what: '4 HogSync jobs done', timeoutMs: slow(30_000) },
    );
    // One 500 MB job per worker process: none took a second one after going over 200 MB.
    expect(new Set(done).size).toBe(4);
    process.kill(m.pid, 'SIGQUIT');
    expect((await m.waitForExit()).code).toBe(0);
  });

  it("item 12: a worker's exit takes the processes its jobs left in its process group with it", async () => {
    const e = setup({ concurrency: 1, jobs: JOBS });
    const m = e.master();
    await m.waitForLine(/worker\[0\] \d+ ready/);
    await enqueue(e, 'Spawn', 's1');
    const r = suite.redis.client();
    const child = await pollUntil(async () => Number(await r.lindex(`${e.ns}:rs:children`, 0)) || undefined, { what: 'the child pid' });
    try {
      expect(pidAlive(child)).toBe(true);
      process.kill(m.pid, 'SIGQUIT');
      expect((await m.waitForExit()).code).toBe(0);
      await waitForPidExit(child, { timeoutMs: slow(10_000) });
    } finally {
      if (pidAlive(child)) process.kill(child, 'SIGKILL');
    }
  });

  it('item 8: a TERM that arrives while the master is still starting stops it before any worker starts', async () => {
    // Redis answers only when the test says so: the master is held in its start-up check.
    const proxy = await holdingProxy(Number(new URL(suite.redis.url).port));
    try {
      const e = setup({ concurrency: 2 }, { url: `redis://127.0.0.1:${proxy.port}` });
      const m = e.master();
      await proxy.firstData;
      process.kill(m.pid, 'SIGTERM');
      proxy.release();
      expect((await m.waitForExit({ timeoutMs: slow(15_000) })).code).toBe(0);
      expect(m.output).not.toMatch(/starting worker\[|worker\[\d\] \d+ ready/);
    } finally {
      await proxy.close();
    }
  });

  it("item 10: a custom afterFork that retires nobody does not stall the rolling restart: the master sends the TTOU and says so", async () => {
    const e = setup({ concurrency: 2, extra: 'afterFork: () => {},' });
    const ss = chain(e);
    await ss.waitForLine(/worker\[1\] \d+ ready/);
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(/did not call retireOldWorker\(\): the master asked old master \d+ itself to retire one worker/, { timeoutMs: slow(20_000) });
    await ss.waitForLine(/rolling restart done in [\d.]+s: 2 new worker\(s\) ready/, { timeoutMs: slow(30_000) });
    expect(ss.output).not.toMatch(/ready in \d+ ms; asked old master/);
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(20_000) });
  });

  it('item 11: a closed log pipe does not take the chain down: jobs keep running, files stay right', async () => {
    const e = setup({ concurrency: 2 });
    const ssPid = join(e.dir, 'ss.pid');
    const cmd = [process.execPath, BIN.startServer, `--pid-file=${ssPid}`, '--signal-on-hup=CONT', '--interval=0.3', '--', process.execPath, RS_BIN, '-c', e.conf]
      .map((a) => `'${a}'`)
      .join(' ');
    // The reader of everyone's output goes away after the first line.
    spawnTracked('sh', ['-c', `${cmd} 2>&1 | head -1`], { label: 'chain | head -1', env: e.env() });
    const ss = await pollUntil(() => Number(readText(ssPid).trim()) || undefined, { what: "start-server's pid file" });
    try {
      await pollUntil(() => e.status()?.workers.filter((w) => w.state === 'idle').length === 2 || undefined, { what: '2 idle workers', timeoutMs: slow(20_000) });
      const ids = await enqueueRecords(suite.redis.client(), e.ns, 40, 10);
      await pollUntil(async () => (await doneIds(suite.redis.client(), e.ns)).length >= ids.length, { what: 'all 40 jobs done', timeoutMs: slow(20_000) });
      expect(pidAlive(ss)).toBe(true);
      const master = Number(readText(e.pidFile).trim());
      expect(pidAlive(master)).toBe(true);
    } finally {
      process.kill(ss, 'SIGTERM');
      await waitForPidExit(ss, { timeoutMs: slow(20_000) });
    }
    expect(existsSync(ssPid)).toBe(false);
    expect(existsSync(e.pidFile)).toBe(false);
  });
});

function chain(e: RsEnv): Spawned {
  return spawnNode(
    BIN.startServer,
    [`--pid-file=${join(e.dir, 'ss.pid')}`, `--status-file=${join(e.dir, 'ss.status')}`, '--signal-on-hup=CONT', '--interval=0.3', '--', process.execPath, RS_BIN, '-c', e.conf],
    { label: 'start-server', env: e.env() },
  );
}

/** A TCP proxy to Redis that holds what clients send until `release()`. */
async function holdingProxy(upstreamPort: number): Promise<{ port: number; firstData: Promise<void>; release(): void; close(): Promise<void> }> {
  let released = false;
  const waiting: Array<() => void> = [];
  const sockets = new Set<Socket>();
  let sawData!: () => void;
  const firstData = new Promise<void>((r) => (sawData = r));
  const server: Server = createServer((client) => {
    const up = createConnection(upstreamPort, '127.0.0.1');
    sockets.add(client).add(up);
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    up.pipe(client);
    client.on('data', (d) => {
      sawData();
      if (released) up.write(d);
      else waiting.push(() => up.write(d));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    firstData,
    release() {
      released = true;
      for (const f of waiting.splice(0)) f();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
