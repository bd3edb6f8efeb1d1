// Issue 10, "bad input and bounds" and "security" (items 13–20, 22): resque-starter run as a
// real CLI against a private redis-server, with configs a user gets wrong or a local attacker
// prepares.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../packages/resque-starter/src/config.js';
import { runCheck } from '../packages/resque-starter/src/check.js';
import { checkRedis } from '../packages/resque-starter/src/redis-check.js';
import { freePort } from './helpers/ports.js';
import { INFRA_VAR, MARK_VAR, runId } from './helpers/procs.js';
import { startRedis } from './helpers/redis.js';
import { slow } from './helpers/slowness.js';
import { BIN, Spawned, spawnNode } from './helpers/spawn.js';
import { pollUntil } from './helpers/wait.js';
import { doneIds, enqueueRecords, liveWorkers, RsEnv, type ConfOptions, rsSuite } from './fixtures/rs-harness.js';

const suite = rsSuite();
/** A per-test dir and conf.ts; `url` replaces the Redis URL the config uses. */
const setup = (options: ConfOptions = {}, url?: string) => suite.setup(options, url === undefined ? undefined : { url });
const cli = (e: RsEnv, args: string[], env: Record<string, string> = {}) => spawnNode(BIN.resqueStarter, args, { env: e.env(env) });
/** The whole output (debug lines aside) is this one line: no stack, no second line. */
const oneLine = (output: string) => {
  const lines = output.trim().split('\n').filter((l) => !l.includes('[debug]'));
  expect(lines).toHaveLength(1);
  return lines[0]!;
};
/** An ACL user on the private server; dropped after the test. */
const aclUsers: string[] = [];
const addUser = async (name: string, ...rules: string[]) => {
  aclUsers.push(name);
  await suite.redis.client().call('ACL', 'SETUSER', name, 'reset', 'on', ...rules);
};
afterEach(async () => {
  for (const name of aclUsers.splice(0)) await suite.redis.client().call('ACL', 'DELUSER', name);
});
/**
 * A second private redis-server with `rename-command <name> ""` for each name (startRedis takes
 * no extra arguments); marked as infrastructure like the helper's, and stopped after the test.
 */
const renamedServers: Array<{ server: Spawned; client: Redis; dir: string }> = [];
const startRenamedRedis = async (...names: string[]) => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-renamed-'));
  const server = new Spawned(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...names.flatMap((n) => ['--rename-command', n, ''])],
    { env: { [INFRA_VAR]: runId(), [MARK_VAR]: '' }, label: `redis-server :${port} (renamed ${names.join(', ')})`, track: false },
  );
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 3, enableReadyCheck: !names.includes('INFO') });
  client.on('error', () => undefined);
  renamedServers.push({ server, client, dir });
  await server.waitForLine(/Ready to accept connections/, { timeoutMs: slow(10_000) });
  await client.connect();
  return { url: `redis://127.0.0.1:${port}`, client };
};
afterEach(async () => {
  for (const { server, client, dir } of renamedServers.splice(0)) {
    client.disconnect();
    server.kill('SIGTERM');
    await server.waitForExit({ timeoutMs: slow(10_000) }).catch(() => server.kill('SIGKILL'));
    rmSync(dir, { recursive: true, force: true });
  }
});
/** The probe's keys (`<ns>:baton:check:*`) left on a server, each with its PTTL. */
const probeKeysLeft = async (client: Redis, ns: string) => {
  const keys = (await client.keys(`${ns}:baton:check:*`)).sort();
  return Promise.all(keys.map(async (k) => ({ key: k.slice(ns.length), pttl: await client.pttl(k) })));
};
const userUrl = (user: string, password: string) => `redis://${user}:${encodeURIComponent(password)}@127.0.0.1:${suite.redis.port}`;

describe('resque-starter: bounds (items 13, 14)', () => {
  it.each([
    ['lockTimeout: 0.001,', /Expected `lockTimeout` to be between 1 and 3600 seconds, got `0\.001`$/],
    ['readyTimeout: 3e6,', /Expected `readyTimeout` to be between 0\.1 and 3600 seconds, got `3000000`$/],
    ['crashLoop: { maxDelay: 1e7 },', /Expected `crashLoop\.maxDelay` to be between 0\.01 and 86400 seconds, got `10000000`$/],
  ])('`check` and the master refuse %s with one line, exit 78', async (extra, message) => {
    const e = setup({ concurrency: 1, extra });
    const check = cli(e, ['check', '-c', e.conf]);
    expect((await check.waitForExit()).code).toBe(78);
    expect(oneLine(check.output)).toMatch(message);
    const m = e.master();
    expect((await m.waitForExit()).code).toBe(78);
    expect(oneLine(m.output)).toMatch(message);
    expect(liveWorkers(e.ns)).toEqual([]);
  });

  it('`concurrency: 1e9` fails `check` at once; a ceiling is configurable', async () => {
    const e = setup({ concurrency: 1e9 });
    const t0 = Date.now();
    const check = cli(e, ['check', '-c', e.conf]);
    expect((await check.waitForExit()).code).toBe(78);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(oneLine(check.output)).toMatch(/Expected `concurrency` to be at most `maxConcurrency` \(128\), got `1000000000`; raise `maxConcurrency`/);
    e.writeConf({ concurrency: 200, extra: 'maxConcurrency: 256,' });
    const ok = cli(e, ['check', '-c', e.conf]);
    expect((await ok.waitForExit()).code).toBe(0);
    expect(ok.output).toMatch(/ok \(200 worker\(s\)/);
  });

  it('`scale N` above maxConcurrency is refused by the CLI with the field to change (exit 2), above 4096 always', async () => {
    const e = setup({ concurrency: 1, extra: 'maxConcurrency: 8,' });
    const scale = cli(e, ['scale', '200', '-c', e.conf]);
    expect((await scale.waitForExit()).code).toBe(2);
    expect(scale.output).toMatch(/^resque-starter: Expected `scale` to get at most `maxConcurrency` \(8\) workers, got `200`; raise `maxConcurrency` in .*conf\.ts if you mean it$/m);
    const huge = cli(e, ['scale', '5000', '--pid', '12345']);
    expect((await huge.waitForExit()).code).toBe(2);
    expect(huge.output).toMatch(/Expected `scale` to get a worker count from 0 to 4096, got `5000`/);
  });
});

describe('resque-starter: config loading (items 15, 17)', () => {
  it('a top-level await that never settles: `check` and the master exit 78 with one line, no worker', async () => {
    const e = setup({ concurrency: 1, prelude: 'await new Promise(() => undefined);' });
    const env = { RESQUE_STARTER_CONFIG_TIMEOUT: '1' };
    const message = /^resque-starter: config error: .*conf\.ts: the config file did not finish loading within 1 s \(a top-level await that never settles\?\); RESQUE_STARTER_CONFIG_TIMEOUT sets the limit in seconds$/;
    const check = cli(e, ['check', '-c', e.conf], env);
    expect((await check.waitForExit()).code).toBe(78);
    expect(oneLine(check.output)).toMatch(message);
    const m = e.master([], { env });
    expect((await m.waitForExit()).code).toBe(78);
    expect(oneLine(m.output)).toMatch(message);
    expect(liveWorkers(e.ns)).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)('a config the user cannot read says "permission denied", not "not found" (exit 78)', async () => {
    const e = setup({ concurrency: 1 });
    chmodSync(e.dir, 0o700);
    // As nobody: the per-test directory (0700, root's) cannot be searched.
    const check = spawnNode(BIN.resqueStarter, ['check', '-c', e.conf], { env: e.env(), uid: 65534, gid: 65534 });
    expect((await check.waitForExit()).code).toBe(78);
    expect(oneLine(check.output)).toMatch(/^resque-starter: config error: .*conf\.ts: cannot read the config file: permission denied \(EACCES, running as uid 65534\)$/);
  });

  it('an unwritable logFile location is one line, exit 1, not a stack', async () => {
    const e = setup({ concurrency: 1, extra: "logFile: 'conf.ts/master.log'," });
    const m = e.master();
    expect((await m.waitForExit()).code).toBe(1);
    expect(oneLine(m.output)).toMatch(/^resque-starter: cannot mkdir .*conf\.ts: file already exists \(EEXIST\)$/);
  });

  it.runIf(process.getuid?.() === 0)('`group` without `user` (as root) says the workers stay root', async () => {
    const e = setup({ concurrency: 1, extra: 'group: 65534,' });
    const m = e.master();
    await m.waitForLine(/`group` without `user`: the workers run as group `65534` but still as root \(uid 0\); set `user` to drop root/);
    await m.waitForLine(/worker\[0\] \d+ ready/);
    process.kill(m.pid, 'SIGQUIT');
    expect((await m.waitForExit()).code).toBe(0);
  });
});

describe('resque-starter: Redis (items 16, 22)', () => {
  it('an ACL user without @scripting: `check --redis` names what is missing (exit 1); plain `check` stays offline', async () => {
    await addUser('rs_noscript', '>pw', '~*', '&*', '+@all', '-@scripting');
    const e = setup({ concurrency: 1 }, userUrl('rs_noscript', 'pw'));
    const check = cli(e, ['check', '--redis', '-c', e.conf]);
    expect((await check.waitForExit()).code).toBe(1);
    expect(oneLine(check.output)).toBe(
      `resque-starter: Redis at redis://rs_noscript:***@127.0.0.1:${suite.redis.port} refuses what the workers need (NOPERM): commands EVAL, EVALSHA (grant +@scripting)`,
    );
    const offline = cli(e, ['check', '-c', e.conf]);
    expect((await offline.waitForExit()).code).toBe(0);
    expect(offline.output).toMatch(/Redis not checked: add --redis\)$/m);
    const m = e.master();
    expect((await m.waitForExit()).code).toBe(1);
    expect(m.output).toMatch(/refuses what the workers need \(NOPERM\): commands EVAL, EVALSHA \(grant \+@scripting\)/);
    expect(liveWorkers(e.ns)).toEqual([]);
  });

  it('keys and channels outside the ACL user’s patterns are named too; a full user passes', async () => {
    await addUser('rs_narrow', '>pw', '~other:*', 'resetchannels', '+@all');
    const narrow = setup({ concurrency: 1 }, userUrl('rs_narrow', 'pw'));
    const check = cli(narrow, ['check', '--redis', '-c', narrow.conf]);
    expect((await check.waitForExit()).code).toBe(1);
    const line = oneLine(check.output);
    expect(line).toMatch(/refuses what the workers need \(NOPERM\): keys for SET, GET, .*EVAL.* \(grant ~test-\w+:\*\); the channel test-\w+:baton:enqueued for .*PUBLISH.*SUBSCRIBE \(grant &test-\w+:\*\)$/);
    await addUser('rs_full', '>pw', '~*', '&*', '+@all');
    const full = setup({ concurrency: 1 }, userUrl('rs_full', 'pw'));
    const ok = cli(full, ['check', '--redis', '-c', full.conf]);
    expect((await ok.waitForExit()).code).toBe(0);
    expect(ok.output).toMatch(/Redis at redis:\/\/rs_full:\*\*\*@127\.0\.0\.1:\d+ answers and permits what the workers need\)$/m);
    // Nothing of the probe is left behind.
    expect(await suite.redis.client().keys(`${full.ns}:baton:check:*`)).toEqual([]);
  });

  it('a server with `rename-command CLIENT ""` passes the check and runs jobs (ioredis ignores a failed CLIENT SETNAME)', async () => {
    const { url, client } = await startRenamedRedis('CLIENT');
    const e = setup({ concurrency: 1 }, url);
    const check = cli(e, ['check', '--redis', '-c', e.conf]);
    expect((await check.waitForExit()).code).toBe(0);
    expect(check.output).toMatch(/answers and permits what the workers need\)$/m);
    const m = e.master();
    await m.waitForLine(/worker\[0\] \d+ ready/);
    const ids = await enqueueRecords(client, e.ns, 2, 0);
    await pollUntil(async () => (await doneIds(client, e.ns)).length === 2, { what: 'both jobs to run' });
    expect((await doneIds(client, e.ns)).sort()).toEqual(ids);
    process.kill(m.pid, 'SIGQUIT');
    expect((await m.waitForExit()).code).toBe(0);
    expect(m.output).not.toMatch(/\[error\]|unknown command/);
    expect(await probeKeysLeft(client, e.ns)).toEqual([]);
  });

  it('commands the workers need, renamed away, are named (INFO: ioredis’s ready check); the probe leaves no key', async () => {
    const { url, client } = await startRenamedRedis('CLIENT', 'INFO', 'LSET');
    const e = setup({ concurrency: 1 }, url);
    const check = cli(e, ['check', '--redis', '-c', e.conf]);
    expect((await check.waitForExit()).code).toBe(1);
    expect(oneLine(check.output)).toBe(
      `resque-starter: Redis at ${url} does not know commands the workers need: INFO (ioredis's ready check), LSET (renamed or disabled with rename-command?)`,
    );
    const m = e.master();
    expect((await m.waitForExit()).code).toBe(1);
    expect(m.output).toMatch(/does not know commands the workers need: INFO \(ioredis's ready check\), LSET/);
    expect(liveWorkers(e.ns)).toEqual([]);
    expect(await probeKeysLeft(client, e.ns)).toEqual([]);
  });

  it('a probe whose clean-up is refused (no DEL) leaves only keys that expire', async () => {
    await addUser('rs_nodel', '>pw', '~*', '&*', '+@all', '-del');
    const e = setup({ concurrency: 1 }, userUrl('rs_nodel', 'pw'));
    const check = cli(e, ['check', '--redis', '-c', e.conf]);
    expect((await check.waitForExit()).code).toBe(1);
    expect(oneLine(check.output)).toMatch(/refuses what the workers need \(NOPERM\): commands DEL \(grant \+del\)$/);
    const left = await probeKeysLeft(suite.redis.client(), e.ns);
    expect(left.length).toBeGreaterThan(0);
    for (const { key, pttl } of left) expect({ key, expires: pttl > 0 && pttl <= 60_000 }).toEqual({ key, expires: true });
  });

  it('a probe interrupted by an error (a probe key of the wrong type) leaves no key behind', async () => {
    const ns = suite.redis.namespace();
    const admin = suite.redis.client();
    // In this process, so the probe keys (<ns>:baton:check:<pid>:*) are known in advance.
    await admin.set(`${ns}:baton:check:${process.pid}:h`, 'not a hash');
    const config = resolveConfig({ jobs: { X: () => undefined }, redis: suite.redis.url, namespace: ns }, { path: join(tmpdir(), 'conf.ts') });
    await expect(checkRedis(config)).rejects.toThrow(/the permission check failed: WRONGTYPE/);
    expect(await probeKeysLeft(admin, ns)).toEqual([]);
  });

  it.each([
    ['user info with @', (pw: string) => `redis://rs_pw:${pw}@127.0.0.1:${0}/0`],
    ['?password=', (pw: string) => `redis://127.0.0.1:${0}/0?username=rs_pw&password=${encodeURIComponent(pw)}`],
  ])('the password (%s) never reaches the log', async (_what, url) => {
    const password = 'Pa@ssW0rdX';
    await addUser('rs_pw', `>${password}`, '~*', '&*', '+@all');
    const e = setup({ concurrency: 1 }, url(password).replace(':0/', `:${suite.redis.port}/`));
    const m = e.master();
    await m.waitForLine(/worker\[0\] \d+ ready/);
    process.kill(m.pid, 'SIGQUIT');
    expect((await m.waitForExit()).code).toBe(0);
    expect(m.output).toMatch(/master \d+ starting/);
    expect(m.output).not.toContain('ssW0rdX');
  });

  it.each([['/'], ['#'], ['?']])('a password containing `%s` is a ConfigError that says to percent-encode it', async (c) => {
    const e = setup({ concurrency: 1 }, `redis://u:pa${c}ss@127.0.0.1:${suite.redis.port}/0`);
    const check = cli(e, ['check', '-c', e.conf]);
    expect((await check.waitForExit()).code).toBe(78);
    const line = oneLine(check.output);
    expect(line).toMatch(/Expected `redis` to be a valid URL, got `redis:\/\/\*\*\*@.*`; percent-encode special characters/);
    expect(line).not.toContain(`pa${c}ss`);
  });
});

// Issue 11 item 4: `check --redis` says what it found, not only that it passed.
describe('resque-starter check --redis: the server (issue 11)', () => {
  const runChecked = async (conf: string) => {
    const lines: string[] = [];
    const code = await runCheck({ configPath: conf, env: {}, redis: true, types: false, out: (l) => lines.push(l) });
    return { code, lines };
  };
  const version = async () => /^redis_version:(\S+)/m.exec(await suite.redis.client().info('server'))![1]!;

  it('reports the version and every command found and permitted, then the summary', async () => {
    const e = setup({ concurrency: 1 });
    const { code, lines } = await runChecked(e.conf);
    expect(code).toBe(0);
    expect(lines).toHaveLength(3);
    const v = await version();
    const m = /^Redis at (\S+): version (\S+) \(standalone\); the (\d+) commands the workers need exist and are permitted: (.*)$/.exec(lines[0]!);
    expect(m?.slice(1, 3)).toEqual([`redis://127.0.0.1:${suite.redis.port}`, v]);
    const commands = m![4]!.split(', ');
    expect(commands).toHaveLength(Number(m![3]));
    expect(commands).toEqual([...commands].sort());
    expect(commands).toEqual(expect.arrayContaining(['INFO', 'EVAL', 'EVALSHA', 'MULTI', 'LSET', 'RPUSH', 'LPOP', 'PUBLISH', 'SUBSCRIBE', 'DEL', 'PEXPIRE']));
    // Issue 17: the node reached and its replicas.
    expect(lines[1]).toBe(`Redis at redis://127.0.0.1:${suite.redis.port}: reached the primary at 127.0.0.1:${suite.redis.port}, 0 replica(s) connected`);
    expect(lines[2]).toMatch(/conf\.ts: ok \(1 worker\(s\), .*; Redis at redis:\/\/127\.0\.0\.1:\d+ answers and permits what the workers need\)$/);
    expect(await suite.redis.client().keys(`${e.ns}:baton:check:*`)).toEqual([]);
  });

  it('an ACL user without INFO still gets the version (HELLO)', async () => {
    await addUser('rs_noinfo', '>pw', '~*', '&*', '+@all', '-info');
    const e = setup({ concurrency: 1 }, userUrl('rs_noinfo', 'pw'));
    const { code, lines } = await runChecked(e.conf);
    expect(code).toBe(0);
    expect(lines[0]).toContain(`: version ${await version()} (standalone); `);
  });

  it('Redis not answering: one line, exit 1, no summary', async () => {
    const e = setup({ concurrency: 1, extra: 'redisTimeout: 1,' }, `redis://127.0.0.1:${await freePort()}`);
    const { code, lines } = await runChecked(e.conf);
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^resque-starter: Redis at redis:\/\/127\.0\.0\.1:\d+ is not reachable: .*ECONNREFUSED/)]);
  });
});

// Issue 11 item 4, through the real CLI: everything at once, warnings, types, no default export.
describe('resque-starter check: tells everything at once (issue 11)', () => {
  it('every config error in one run with did-you-mean (exit 78); the master lists them all too', async () => {
    const e = setup({ concurrency: 1, extra: "concurency: 2,\n  queue: ['a'],\n  pidfile: 'x.pid',\n  crashloop: { deaths: 1 },\n  crashLoop: { dealy: 1 }," });
    const check = cli(e, ['check', '-c', e.conf]);
    expect((await check.waitForExit()).code).toBe(78);
    const lines = check.output.trim().split('\n').filter((l) => !l.includes('[debug]'));
    expect(lines[0]).toMatch(/^resque-starter: config error: .*conf\.ts: 5 errors:$/);
    expect(lines.slice(1).map((l) => l.replace(/^ {2}\S*conf\.ts:\d+:\d+: /, ''))).toEqual([
      'Unknown config field `concurency`; did you mean `concurrency`?',
      'Unknown config field `queue`; did you mean `queues`?',
      'Unknown config field `pidfile`; did you mean `pidFile`?',
      'Unknown config field `crashloop`; did you mean `crashLoop`?',
      'Unknown field `crashLoop.dealy`; did you mean `crashLoop.delay`?',
    ]);
    const m = e.master();
    expect((await m.waitForExit()).code).toBe(78);
    expect(m.output).toContain(lines.join('\n'));
    expect(liveWorkers(e.ns)).toEqual([]);
  });

  it('`export const config`: "no default export", exit 78', async () => {
    const e = setup({ concurrency: 1 });
    writeFileSync(e.conf, readFileSync(e.conf, 'utf8').replace('export default defineConfig(', 'export const config = defineConfig('));
    const check = cli(e, ['check', '-c', e.conf]);
    expect((await check.waitForExit()).code).toBe(78);
    expect(oneLine(check.output)).toMatch(/^resque-starter: config error: .*conf\.ts:\d+:1: no default export: the config file exports `config` but not `default`; end it with `export default defineConfig\(\{ \.\.\. \}\)`$/);
  });

  it('`jobTimeout: 30_000` is a warning naming 8.3 hours, exit 0, the summary last', async () => {
    const e = setup({ concurrency: 1, extra: 'jobTimeout: 30_000,' });
    const check = cli(e, ['check', '-c', e.conf]);
    expect((await check.waitForExit()).code).toBe(0);
    const lines = check.output.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^resque-starter: warning: .*conf\.ts:\d+:3: `jobTimeout: 30000` is 8\.3 hours: durations are in seconds, not milliseconds; did you mean `jobTimeout: 30`\?$/);
    expect(lines[1]).toMatch(/conf\.ts: ok \(1 worker\(s\)/);
  });

  it('--types: a misspelled field is a type error at its line with TypeScript\'s suggestion; a clean config passes', async () => {
    const e = setup({ concurrency: 1, extra: 'stopTimout: 5,' });
    const check = cli(e, ['check', '--types', '-c', e.conf]);
    expect((await check.waitForExit({ timeoutMs: slow(60_000) })).code).toBe(78);
    expect(check.output).toMatch(/^resque-starter: config error: .*conf\.ts:\d+:3: Unknown config field `stopTimout`; did you mean `stopTimeout`\?$/m);
    expect(check.output).toMatch(/^resque-starter: type error: .*conf\.ts:\d+:3: Object literal may only specify known properties, but 'stopTimout' does not exist in type .*Did you mean to write 'stopTimeout'\? \(TS2561\)$/m);
    e.writeConf({ concurrency: 1 });
    const ok = cli(e, ['check', '--types', '--redis', '-c', e.conf]);
    expect((await ok.waitForExit({ timeoutMs: slow(60_000) })).code).toBe(0);
    expect(ok.output).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:\d+: version \d+\.\d+\.\d+ \(standalone\); the \d+ commands the workers need exist and are permitted: /m);
    expect(ok.output).toMatch(/conf\.ts: ok \(1 worker\(s\), .*; types check \(TypeScript \d+\.\d+\.\d+\); Redis at .* answers and permits what the workers need\)$/m);
  });
});

describe('resque-starter: the runtime directory (items 18–20)', () => {
  it('RESQUE_STARTER_RUNTIME_DIR on a shared 1777 dir: a private subdirectory, the shared dir keeps its mode, the CLI finds the master', async () => {
    const e = setup({ concurrency: 1 });
    const sharedDir = join(e.dir, 'shared');
    mkdirSync(sharedDir);
    chmodSync(sharedDir, 0o1777);
    const env = { RESQUE_STARTER_RUNTIME_DIR: sharedDir };
    const m = e.master([], { env });
    await m.waitForLine(/worker\[0\] \d+ ready/);
    expect(statSync(sharedDir).mode & 0o7777).toBe(0o1777);
    const priv = join(sharedDir, `resque-starter-${process.getuid!()}`);
    expect(statSync(priv).mode & 0o7777).toBe(0o700);
    expect(readdirSync(priv)).toContain(`master-${m.pid}.sock`);
    const status = cli(e, ['status', '--pid-file', e.pidFile], env);
    expect((await status.waitForExit()).code).toBe(0);
    expect(status.output).toContain(`"pid": ${m.pid}`);
    process.kill(m.pid, 'SIGQUIT');
    expect((await m.waitForExit()).code).toBe(0);
  });

  it('a planted symlink in the shared dir is refused (exit 1, one line); its target is not touched', async () => {
    const e = setup({ concurrency: 1 });
    const sharedDir = join(e.dir, 'shared');
    mkdirSync(sharedDir);
    chmodSync(sharedDir, 0o1777);
    const victim = join(e.dir, 'victim');
    mkdirSync(victim);
    chmodSync(victim, 0o755);
    symlinkSync(victim, join(sharedDir, `resque-starter-${process.getuid!()}`));
    const m = e.master([], { env: { RESQUE_STARTER_RUNTIME_DIR: sharedDir } });
    expect((await m.waitForExit()).code).toBe(1);
    expect(m.output).toMatch(/resque-starter-\d+ is a symbolic link: another user may have created it; remove it, or set RESQUE_STARTER_RUNTIME_DIR/);
    expect(m.output).not.toMatch(/^\s+at /m);
    expect(statSync(victim).mode & 0o7777).toBe(0o755);
    expect(readdirSync(victim)).toEqual([]);
    expect(liveWorkers(e.ns)).toEqual([]);
    await pollUntil(() => !existsSync(e.pidFile), { what: 'the pid file to be gone' });
  });
});
