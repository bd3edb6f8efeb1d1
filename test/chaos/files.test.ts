import { lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRedis } from '../helpers/redis.js';
import { BIN, spawnNode, type Spawned } from '../helpers/spawn.js';
import { slow } from '../helpers/slowness.js';
import { pidAlive, pollUntil } from '../helpers/wait.js';
import { ChaosEnv, chaosSuite, rng, SCALE, seedOf, since } from './harness.js';

// Chaos scenario 7 and the security basics (issue 5): a pid file whose pid now belongs to an
// unrelated process; a Redis password that must never show; pid and status files that are
// written atomically and never follow a planted symlink.

const BYSTANDER = `
const { appendFileSync } = require('node:fs');
for (const s of ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTTIN', 'SIGTTOU', 'SIGCONT', 'SIGWINCH']) {
  process.on(s, () => {
    try { appendFileSync(process.env.SIGNAL_LOG, s + '\\n'); } catch {}
    if (s === 'SIGTERM') process.exit(0);
  });
}
setInterval(() => undefined, 1 << 30);
console.log('bystander ready');
`;

const suite = chaosSuite();

const run = async (args: string[], e: ChaosEnv, bin: string = BIN.resqueStarter): Promise<{ code: number | null; output: string }> => {
  const p = spawnNode(bin, args, { env: e.env(), label: `${bin.split('/').pop()} ${args.join(' ')}` });
  const { code } = await p.waitForExit({ timeoutMs: slow(15_000) });
  return { code, output: p.output };
};

describe('chaos: files and secrets', () => {
  it('7. pid files naming an unrelated live process (a reused pid): nothing is signalled that is not ours', { timeout: slow(60_000 * SCALE) }, async () => {
    const seed = seedOf(7);
    const R = rng(seed);
    const e = suite.setup('7 pid reused by a stranger', seed, { concurrency: 2 });
    const signalLog = join(e.dir, 'bystander-signals.log');
    writeFileSync(signalLog, '');
    const bystander = spawnNode('-e', [BYSTANDER], { env: { SIGNAL_LOG: signalLog }, label: 'bystander' });
    await bystander.waitForLine(/bystander ready/, { timeoutMs: slow(10_000) });
    // Left behind by a master and a start-server that died with -9; the pid is now the bystander's.
    writeFileSync(e.masterPidFile, `${bystander.pid}\n`);
    writeFileSync(e.ssPidFile, `${bystander.pid}\n`);

    // Control commands refuse clearly (exit non-zero) instead of signalling it.
    for (const args of [['status', '-c', e.conf], ['scale', '3', '-c', e.conf]]) {
      const res = await run(args, e);
      expect(res.code, res.output).not.toBe(0);
      expect(res.output).toMatch(/which is not a resque-starter master \(stale pid file\); nothing was sent to it/);
    }
    for (const args of [[`--restart`, `--pid-file=${e.ssPidFile}`, `--status-file=${e.ssStatusFile}`], [`--stop`, `--pid-file=${e.ssPidFile}`]]) {
      const res = await run(args, e, BIN.startServer);
      expect(res.code, res.output).not.toBe(0);
      expect(res.output).toMatch(/which is not a start-server; refusing to signal it/);
    }

    // The chain starts over the stale files, works, rolls, and stops; still nobody touched the bystander.
    const ids = await e.enqueue(suite.r, 100 * SCALE, () => R.int(1, 10));
    const ss = e.chain();
    await ss.waitForLine(/worker\[1\] \d+ ready/, { timeoutMs: slow(20_000) });
    expect(Number(readFileSync(e.masterPidFile, 'utf8'))).not.toBe(bystander.pid);
    expect(Number(readFileSync(e.ssPidFile, 'utf8'))).toBe(ss.pid);
    const mark = since(ss);
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(/rolling restart done/, { ...mark, timeoutMs: slow(30_000) });
    await e.waitAllDone(ids);
    const res = await e.finish(suite.r, { ids, recoveryMs: undefined, recoveryWhat: '—', notes: ['bystander untouched'] });
    expect(res).toMatchObject({ lost: 0, orphans: 0, stale: 0 });
    expect(pidAlive(bystander.pid)).toBe(true);
    expect(readFileSync(signalLog, 'utf8')).toBe('');
    bystander.kill('SIGKILL');
  });

  it('a Redis password in REDIS_URL or in the config never shows in logs, titles, status files or errors', { timeout: slow(60_000) }, async () => {
    const secret = 'chaos-S3cret-pw';
    const pw = await startRedis({ password: secret });
    try {
      const pr = pw.client();
      for (const redisInConfig of [false, true]) {
        const e = suite.setup(`password (${redisInConfig ? 'config' : 'REDIS_URL'})`, seedOf(70), { concurrency: 2, redisInConfig }, pw);
        expect(e.env().REDIS_URL).toContain(secret);
        const ids = await e.enqueue(pr, 50, () => 1);
        const ss = e.chain();
        await ss.waitForLine(/worker\[1\] \d+ ready/, { timeoutMs: slow(20_000) });
        const mark = since(ss);
        process.kill(ss.pid, 'SIGHUP');
        await ss.waitForLine(/rolling restart done/, { ...mark, timeoutMs: slow(30_000) });
        await e.waitAllDone(ids);
        await pollUntil(() => e.statusFileJson()?.workers.length === 2, { what: 'a status file' });
        const titles = e.treePids().map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
        const status = await run(['status', '-c', e.conf], e);
        const seen = [ss.output, status.output, ...titles, readFileSync(e.statusFile, 'utf8'), readFileSync(e.ssStatusFile, 'utf8')];
        expect(titles.length).toBeGreaterThanOrEqual(4);
        for (const text of seen) expect(text).not.toContain(secret);
        // The redacted form is what shows instead.
        expect(ss.output).toMatch(/redis redis:\/\/(:\*+@|\*+@)?127\.0\.0\.1:\d+/);
        expect((await e.finish(pr, { ids, recoveryMs: undefined, recoveryWhat: '—' })).orphans).toBe(0);
      }
      // A wrong password: a clear one-line error, without the password that was given.
      const wrong = 'wrong-Pw-123';
      const e = suite.setup('wrong password', seedOf(71), { concurrency: 1 }, pw);
      const badUrl = pw.url.replace(encodeURIComponent(secret), wrong);
      const p = spawnNode(BIN.resqueStarter, ['-c', e.conf], { env: { ...e.env(), REDIS_URL: badUrl }, label: 'resque-starter (wrong password)' });
      const { code } = await p.waitForExit({ timeoutMs: slow(15_000) });
      expect(code).not.toBe(0);
      expect(p.output).toMatch(/Redis at .* is not reachable: .*(WRONGPASS|invalid|auth)/i);
      expect(p.output).not.toContain(wrong);
    } finally {
      await pw.close();
    }
  });

  it('pid and status files are replaced atomically and never written through a planted symlink', { timeout: slow(60_000) }, async () => {
    const e = suite.setup('planted symlinks', seedOf(72), { concurrency: 1 });
    const victims: string[] = [];
    for (const f of [e.masterPidFile, e.statusFile, e.ssPidFile, e.ssStatusFile]) {
      const victim = `${f}.victim`;
      writeFileSync(victim, 'precious\n');
      symlinkSync(victim, f);
      victims.push(victim);
    }
    const ids = await e.enqueue(suite.r, 400, () => 2);
    const ss: Spawned = e.chain();
    await ss.waitForLine(/worker\[0\] \d+ ready/, { timeoutMs: slow(20_000) });
    // Atomic replacement: while the status file is rewritten (each job start and end), every read
    // sees a whole JSON document, never an empty or half-written file.
    let reads = 0;
    while (e.doneCounts().size < ids.length) {
      for (let i = 0; i < 50; i++, reads++) {
        expect(() => JSON.parse(readFileSync(e.statusFile, 'utf8'))).not.toThrow();
        expect(readFileSync(e.masterPidFile, 'utf8')).toMatch(/^\d+\n$/);
      }
      await new Promise((res) => setImmediate(res));
    }
    expect(reads).toBeGreaterThan(100);
    await e.waitAllDone(ids);
    await pollUntil(() => e.statusFileJson()?.workers.length === 1, { what: 'the status file' });
    for (const f of [e.masterPidFile, e.statusFile, e.ssPidFile, e.ssStatusFile]) expect(lstatSync(f).isSymbolicLink(), f).toBe(false);
    for (const v of victims) expect(readFileSync(v, 'utf8'), v).toBe('precious\n');
    expect(readFileSync(e.masterPidFile, 'utf8').trim()).toMatch(/^\d+$/);
    await e.stopAll();
    for (const v of victims) expect(readFileSync(v, 'utf8'), v).toBe('precious\n');
  });
});
