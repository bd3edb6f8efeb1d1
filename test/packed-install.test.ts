import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { spawnTracked } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pollUntil, waitForPidExit } from './helpers/wait.js';
import { createApp, PACKAGES, packPackage, removeDir, runNpm, staleDistFiles, undeclaredImports, type Packed } from './helpers/packed-app.js';
import { liveWorkers, sampleWorkers } from './fixtures/rs-harness.js';

// baton as a user gets it: every package packed with `npm pack`, installed from the tarballs
// into an app under os.tmpdir() (no workspace links, no hoisting from the monorepo), then
// `start-server -- resque-starter -c conf.ts` from the app's node_modules/.bin, a rolling
// restart, and every job done exactly once with at most concurrency + 1 workers alive.
// It catches a runtime import that is not a declared dependency and a bin npm cannot link.

const C = 2;
const NPM_TIMEOUT = slow(240_000);
let redis: TestRedis | undefined;
let packDir: string | undefined;
let app: string | undefined;
const packed = new Map<string, Packed>();

beforeAll(async () => {
  packDir = mkdtempSync(join(tmpdir(), 'baton-packs-'));
  for (const pkg of PACKAGES) {
    const p = await packPackage(pkg, packDir, NPM_TIMEOUT);
    packed.set(pkg, p);
  }
  const get = (k: string) => packed.get(k)!;
  // What the README tells a user to install; process-kit and resque come in as dependencies.
  app = createApp([get('resque-starter'), get('server-starter')], [get('process-kit'), get('resque')]);
  await runNpm(['install', '--no-audit', '--no-fund', '--loglevel=error'], app, NPM_TIMEOUT);
  redis = await startRedis();
}, slow(600_000));

afterAll(async () => {
  await redis?.close();
  removeDir(app);
  removeDir(packDir);
});

describe('packed install', { timeout: slow(120_000) }, () => {
  it('every tarball ships its runtime files and nothing stale; every runtime import is declared', () => {
    for (const p of packed.values()) {
      expect(p.files, p.name).toContain('package.json');
      expect(p.files, p.name).toContain('README.md');
      expect(p.files, p.name).toContain('LICENSE');
      expect(p.files.filter((f) => !/^(dist\/|bin\/|src\/lua\/|(README\.md|LICENSE|SIGNALS\.md|package\.json)$)/.test(f)), p.name).toEqual([]);
      expect(staleDistFiles(p), `${p.name}: dist files without a source`).toEqual([]);
      expect(p.files.filter((f) => f.endsWith('.map')), `${p.name}: source maps point at src/, which is not shipped`).toEqual([]);
      const manifest = JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')) as { private?: boolean; bin?: Record<string, string> };
      expect(manifest.private, `${p.name} must be publishable`).toBeUndefined();
      for (const bin of Object.values(manifest.bin ?? {})) expect(p.files, `${p.name} bin`).toContain(bin.replace(/^\.\//, ''));
    }
    expect(packed.get('resque')!.files).toEqual(expect.arrayContaining(['src/lua/reserve-3.lua', expect.stringMatching(/^src\/lua\/include\/.+\.lua$/)]));
    // The packed manifest and dist are the workspace's (packed with scripts off).
    for (const p of packed.values()) expect(undeclaredImports(p.dir), `${p.name}: bare imports not in its dependencies`).toEqual([]);
    // And npm installed each of them into the app through the declared dependencies alone.
    for (const p of packed.values()) expect(existsSync(join(app!, 'node_modules', p.name, 'package.json')), `${p.name} installed in the app`).toBe(true);
  });

  it('start-server -- resque-starter -c conf.ts from the app: jobs done once each, HUP rolls over with ≤ C+1 workers', async () => {
    const dir = app!;
    const ns = redis!.namespace();
    const doneLog = join(dir, `done-${ns}.log`);
    writeFileSync(
      join(dir, 'conf.ts'),
      `import { appendFileSync } from 'node:fs';
import { defineConfig } from '@baton/resque-starter';

export default defineConfig({
  concurrency: ${C},
  queues: ['packed'],
  redis: ${JSON.stringify(redis!.url)},
  namespace: ${JSON.stringify(ns)},
  pidFile: 'resque-starter.pid',
  stopTimeout: 10,
  readyTimeout: 20,
  jobs: {
    async Record(id: string, ms: number) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      appendFileSync(${JSON.stringify(doneLog)}, id + ':' + process.pid + '\\n');
    },
  },
});
`,
    );
    const bin = join(dir, 'node_modules', '.bin');
    const env = {
      // As npm scripts and npx do: the app's bins first, and the node running the suite.
      PATH: [bin, dirname(process.execPath), process.env.PATH].join(delimiter),
      RESQUE_STARTER_RUNTIME_DIR: join(dir, 'run'),
      RS_TEST_NS: ns, // lets liveWorkers() find this test's workers in /proc
      BATON_LOG_LEVEL: 'debug',
    };

    const check = spawnTracked(join(bin, 'resque-starter'), ['check', '-c', 'conf.ts'], { cwd: dir, env, label: 'resque-starter check' });
    expect(await check.waitForExit({ timeoutMs: slow(30_000) }), check.output).toEqual({ code: 0, signal: null });

    const ss = spawnTracked(
      join(bin, 'start-server'),
      ['--pid-file=ss.pid', '--status-file=ss.status', '--signal-on-hup=CONT', '--interval=0.3', '--', 'resque-starter', '-c', 'conf.ts'],
      { cwd: dir, env, label: 'start-server (packed)' },
    );
    await ss.waitForLine(new RegExp(`worker\\[${C - 1}\\] \\d+ ready`), { timeoutMs: slow(30_000) });
    const masterPid = () => Number(readFileSync(join(dir, 'resque-starter.pid'), 'utf8').trim());
    const oldMaster = masterPid();

    const r = redis!.client();
    const ids = Array.from({ length: 80 }, (_, i) => `p${i}`);
    await r.sadd(`${ns}:queues`, 'packed');
    await r.rpush(`${ns}:queue:packed`, ...ids.map((id) => JSON.stringify({ class: 'Record', args: [id, 40] })));
    const done = () => {
      try {
        return readFileSync(doneLog, 'utf8').split('\n').filter(Boolean).map((l) => l.split(':')[0]!);
      } catch {
        return [];
      }
    };
    await pollUntil(() => done().length >= 10, { what: 'jobs flowing', timeoutMs: slow(20_000) });

    const sampler = sampleWorkers(ns, 10);
    const from = ss.output.length;
    process.kill(ss.pid, 'SIGHUP');
    await ss.waitForLine(new RegExp(`rolling restart done in [\\d.]+s: ${C} new worker\\(s\\) ready`), { from, timeoutMs: slow(30_000) });
    await waitForPidExit(oldMaster, { timeoutMs: slow(15_000) });
    await pollUntil(() => done().length >= ids.length, { what: 'all jobs done', timeoutMs: slow(30_000) });
    const { max, samples } = sampler.stop();

    expect(done().sort()).toEqual([...ids].sort()); // every job, exactly once
    expect(await r.llen(`${ns}:queue:packed`)).toBe(0);
    expect(samples).toBeGreaterThan(10);
    expect(max).toBeLessThanOrEqual(C + 1);
    expect(masterPid()).not.toBe(oldMaster);
    expect(ss.output).not.toMatch(/Cannot find (package|module)|ERR_MODULE_NOT_FOUND/);

    process.kill(ss.pid, 'SIGTERM');
    expect(await ss.waitForExit({ timeoutMs: slow(20_000) })).toEqual({ code: 0, signal: null });
    await pollUntil(() => liveWorkers(ns).length === 0, { what: 'no worker left' });
  });
});
