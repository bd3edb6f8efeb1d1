// Issue 11 item 4: `check` tells everything at once (errors, warnings, types, Redis), as
// runCheck prints it for `resque-starter check`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTypeScript, parseDiagnostics, renderRedisReport, runCheck, typeCheckOptions, type CheckOptions } from '../src/check.js';
import { configWarnings, describeSeconds } from '../src/config-warnings.js';
import { parseHello, parseInfoServer } from '../src/redis-check.js';
import { closest, editDistance } from '@baton/process-kit';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A conf.ts in a fresh temp dir (outside the repository: the package is found through jiti's alias). */
function conf(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rs-check-'));
  dirs.push(dir);
  const path = join(dir, 'conf.ts');
  writeFileSync(path, `import { defineConfig } from '@baton/resque-starter';\n\n${body}\n`);
  return path;
}

const host = { cpus: 2, totalMemoryMb: 8192 };

async function check(configPath: string, options: Partial<CheckOptions> = {}): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCheck({ configPath, env: {}, redis: false, types: false, host, out: (l) => lines.push(l), ...options });
  return { code, lines };
}

describe('runCheck', () => {
  it('a good config: the one summary line, exit 0', async () => {
    const path = conf("export default defineConfig({\n  concurrency: 2,\n  queues: ['a', 'b'],\n  jobs: { A: (id: number) => id, B: () => undefined },\n});");
    const { code, lines } = await check(path);
    expect(code).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^${path}: ok \\(2 worker\\(s\\), queues a,b, jobs A,B; loaded in \\d+ ms; types are not checked: add --types; Redis not checked: add --redis\\)$`),
    );
  });

  it('logFormat json: the summary, then what the logs are (text, the default, says nothing)', async () => {
    const path = conf("export default defineConfig({\n  logFormat: 'json',\n  jobs: { A: () => 1 },\n});");
    const { code, lines } = await check(path);
    expect(code).toBe(0);
    expect(lines.slice(1)).toEqual(["  logs: one JSON object a line (logFormat 'json'; `--log-format` overrides it); a line per job"]);
    const sampled = conf("export default defineConfig({\n  jobLog: { sample: 0.05 },\n  jobs: { A: () => 1 },\n});");
    expect((await check(sampled)).lines.slice(1)).toEqual(['  logs: text; a line for 5 % of successful jobs and every failed one']);
  });

  it('a config with groups: the summary, then one line per resolved group (issue 13)', async () => {
    const path = conf(`export default defineConfig({
  jobs: { A: () => 1, B: () => 2 },
  jobTimeout: 30,
  groups: {
    critical: { queues: ['critical'], concurrency: 4, maxMemory: 200 },
    mail: { queues: ['mail'], concurrency: 2, jobConcurrency: 8, jobs: ['B'] },
    reports: { queues: ['reports'], redis: 'redis://127.0.0.1:7001', namespace: 'rep' },
  },
});`);
    const { code, lines } = await check(path);
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/: ok \(3 groups, 7 worker\(s\); loaded in/);
    expect(lines.slice(1)).toEqual([
      '  group critical: 4 worker(s), queues critical, jobs A,B, maxMemory 200 MB, jobTimeout 30s',
      '  group mail: 2 worker(s), queues mail, jobs B, 8 jobs at a time, jobTimeout 30s',
      '  group reports: 1 worker(s), queues reports, jobs A,B, jobTimeout 30s, Redis redis://127.0.0.1:7001/rep',
    ]);
  });

  it('every config error at once, with file:line:col and "did you mean", exit 78; warnings too', async () => {
    const path = conf(
      [
        'export default defineConfig({',
        '  concurency: 2,', // 4
        "  queue: ['a'],", // 5
        "  pidfile: 'm.pid',", // 6
        '  crashloop: { deaths: 1 },', // 7
        '  stopTimeout: 0,', // 8
        '  jobTimeout: 30_000,', // 9
        '  jobs: { A: () => undefined },',
        '});',
      ].join('\n'),
    );
    const { code, lines } = await check(path);
    expect(code).toBe(78);
    expect(lines).toEqual([
      `resque-starter: config error: ${path}: 5 errors:`,
      `  ${path}:4:3: Unknown config field \`concurency\`; did you mean \`concurrency\`?`,
      `  ${path}:5:3: Unknown config field \`queue\`; did you mean \`queues\`?`,
      `  ${path}:6:3: Unknown config field \`pidfile\`; did you mean \`pidFile\`?`,
      `  ${path}:7:3: Unknown config field \`crashloop\`; did you mean \`crashLoop\`?`,
      `  ${path}:8:3: Expected \`stopTimeout\` to be between 0.1 and 86400 seconds, got \`0\``,
      `resque-starter: warning: ${path}:9:3: \`jobTimeout: 30000\` is 8.3 hours: durations are in seconds, not milliseconds; did you mean \`jobTimeout: 30\`?`,
    ]);
  });

  it('one config error is one line (no warning about the field in error)', async () => {
    const path = conf('export default defineConfig({\n  concurrency: 1e9,\n  jobs: { A: () => undefined },\n});');
    const { code, lines } = await check(path);
    expect(code).toBe(78);
    expect(lines).toEqual([`resque-starter: config error: ${path}:4:3: Expected \`concurrency\` to be at most \`maxConcurrency\` (128), got \`1000000000\`; raise \`maxConcurrency\` (up to 4096) if you mean it`]);
  });

  it('`export const config = defineConfig(...)`: "no default export", not an unknown field', async () => {
    const path = conf('export const config = defineConfig({ jobs: { A: () => undefined } });');
    const { code, lines } = await check(path);
    expect(code).toBe(78);
    expect(lines).toEqual([
      `resque-starter: config error: ${path}:3:1: no default export: the config file exports \`config\` but not \`default\`; end it with \`export default defineConfig({ ... })\``,
    ]);
  });

  it('warnings are printed and the check still passes (exit 0), the summary last', async () => {
    const path = conf('export default defineConfig({\n  concurrency: 100,\n  maxMemory: 0.5,\n  crashLoop: { delay: 2000 },\n  jobs: { A: () => undefined },\n});');
    const { code, lines } = await check(path);
    expect(code).toBe(0);
    expect(lines.slice(0, -1)).toEqual([
      `resque-starter: warning: ${path}:6:16: \`crashLoop.delay: 2000\` is 33 minutes: durations are in seconds, not milliseconds; did you mean \`crashLoop.delay: 2\`?`,
      `resque-starter: warning: ${path}:4:3: \`concurrency: 100\` is more than 4 worker processes per CPU core (this host has 2): each worker is a process of its own; for many jobs at once in one process, set \`jobConcurrency\``,
      `resque-starter: warning: ${path}:5:3: \`maxMemory: 0.5\` MB is less than a Node worker uses at rest (~40 MB), so every worker is recycled after each job: \`maxMemory\` is in MB`,
    ]);
    expect(lines.at(-1)).toMatch(/: ok \(100 worker\(s\)/);
  });

  it('--redis on a config with errors: says Redis was not checked', async () => {
    const path = conf('export default defineConfig({ jobs: 1 });');
    const { code, lines } = await check(path, { redis: true });
    expect(code).toBe(78);
    expect(lines).toEqual([`resque-starter: config error: ${path}:3:31: Expected \`jobs\` to be an object of handlers, got \`1\` (number)`, 'resque-starter: Redis not checked: the config has errors']);
  });

  it('--redis with Redis unreachable: one line, exit 1', async () => {
    const path = conf("export default defineConfig({ redis: 'redis://127.0.0.1:1', redisTimeout: 2, jobs: { A: () => undefined } });");
    const { code, lines } = await check(path, { redis: true });
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^resque-starter: Redis at redis:\/\/127\.0\.0\.1:1 is not reachable: .*ECONNREFUSED/)]);
  });

  it('--types without TypeScript: says how to install it, exit 1', async () => {
    const path = conf('export default defineConfig({ jobs: { A: () => undefined } });');
    const { code, lines } = await check(path, { types: true, typescript: null });
    expect(code).toBe(1);
    expect(lines).toEqual([`resque-starter: types not checked: TypeScript is not installed where ${path} is (npm install --save-dev typescript); or leave out --types`]);
  });

  it('--types: the compiler\'s errors at their lines (exit 78), with the config errors; a clean config passes', { timeout: 300_000 }, async () => {
    const ts = findTypeScript(join(tmpdir(), 'conf.ts'));
    expect(ts?.version).toMatch(/^\d+\.\d+/);
    const path = conf(
      [
        'export default defineConfig({',
        '  concurency: 2,', // 4
        '  crashLoop: { dealy: 1 },', // 5
        '  jobs: { A: async (id: number) => id },',
        '});',
      ].join('\n'),
    );
    const { code, lines } = await check(path, { types: true });
    expect(code).toBe(78);
    expect(lines).toEqual([
      `resque-starter: config error: ${path}: 2 errors:`,
      `  ${path}:4:3: Unknown config field \`concurency\`; did you mean \`concurrency\`?`,
      `  ${path}:5:16: Unknown field \`crashLoop.dealy\`; did you mean \`crashLoop.delay\`?`,
      // TypeScript reports a nested mistake and then not the top-level excess property; the
      // config errors above have both.
      `resque-starter: type error: ${path}:5:16: Object literal may only specify known properties, but 'dealy' does not exist in type 'CrashLoopConfig'. Did you mean to write 'delay'? (TS2561)`,
    ]);

    const topLevel = conf('export default defineConfig({\n  concurency: 2,\n  jobs: { A: async (id: number) => id },\n});');
    expect((await check(topLevel, { types: true })).lines[1]).toMatch(
      new RegExp(`^resque-starter: type error: ${topLevel}:4:3: Object literal may only specify known properties, but 'concurency' does not exist in type 'ResqueStarterConfig<.*>'\\. Did you mean to write 'concurrency'\\? \\(TS2561\\)$`),
    );

    // A value of the wrong type, a type error elsewhere in the file, and a clean config.
    const wrongType = conf("export default defineConfig({\n  stopTimeout: '60',\n  jobs: { A: () => undefined },\n});");
    expect(await check(wrongType, { types: true })).toEqual({
      code: 78,
      lines: [
        `resque-starter: config error: ${wrongType}:4:3: Expected \`stopTimeout\` to be between 0.1 and 86400 seconds, got \`60\` (string)`,
        `resque-starter: type error: ${wrongType}:4:3: Type 'string' is not assignable to type 'number'. (TS2322)`,
      ],
    });
    const typo = conf("const n: number = 'x';\nexport default defineConfig({ jobs: { A: () => n } });");
    const bad = await check(typo, { types: true });
    expect(bad).toEqual({ code: 78, lines: [`resque-starter: type error: ${typo}:3:7: Type 'string' is not assignable to type 'number'. (TS2322)`] });
    const good = conf("import { currentJob } from '@baton/resque';\nexport default defineConfig({ jobs: { async A(url: string) { return [url, this.signal.aborted, currentJob()?.queue]; } } });");
    const ok = await check(good, { types: true });
    expect(ok.lines).toEqual([expect.stringMatching(/: ok \(1 worker\(s\), queues \*, jobs A; loaded in \d+ ms; types check \(TypeScript \d+\.\d+\.\d+\); Redis not checked: add --redis\)$/)]);
    expect(ok.code).toBe(0);
  });
});

describe('typeCheckOptions', () => {
  it('strict, bundler resolution, no emit, only the config; the package found even outside an app', () => {
    const path = join(tmpdir(), 'nowhere', 'conf.ts');
    const o = typeCheckOptions(path);
    expect(o.files).toEqual([path]);
    expect(o.compilerOptions).toMatchObject({ noEmit: true, strict: true, module: 'esnext', moduleResolution: 'bundler', allowImportingTsExtensions: true, skipLibCheck: true, types: ['node'] });
    expect(Object.keys(o.compilerOptions.paths as object)).toEqual(['@baton/resque-starter', 'resque-starter', '@baton/resque']);
  });
});

describe('parseDiagnostics', () => {
  it('tsc --pretty false: located errors made absolute, elaborations kept, global errors', () => {
    const out = [
      "conf.ts(4,3): error TS2561: Object literal may only specify known properties, but 'concurency' does not exist.",
      "jobs/a.ts(1,7): error TS2322: Type '{ a: string; }' is not assignable to type 'X'.",
      "  Types of property 'a' are incompatible.",
      "    Type 'string' is not assignable to type 'number'.",
      "error TS5023: Unknown compiler option 'foo'.",
      '',
    ].join('\n');
    expect(parseDiagnostics(out, '/srv/app')).toEqual([
      { location: '/srv/app/conf.ts:4:3', code: 'TS2561', message: "Object literal may only specify known properties, but 'concurency' does not exist.", details: [] },
      {
        location: '/srv/app/jobs/a.ts:1:7',
        code: 'TS2322',
        message: "Type '{ a: string; }' is not assignable to type 'X'.",
        details: ["Types of property 'a' are incompatible.", "Type 'string' is not assignable to type 'number'."],
      },
      { location: undefined, code: 'TS5023', message: "Unknown compiler option 'foo'.", details: [] },
    ]);
  });
});

describe('configWarnings', () => {
  const ctx = { path: '/srv/app/conf.ts' };
  const warnings = (raw: Record<string, unknown>, h = host) => configWarnings(raw, ctx, h).map((w) => w.message);

  it.each([
    ['jobTimeout', 30_000, '`jobTimeout: 30000` is 8.3 hours: durations are in seconds, not milliseconds; did you mean `jobTimeout: 30`?'],
    ['stopTimeout', 60_000, '`stopTimeout: 60000` is 17 hours: durations are in seconds, not milliseconds; did you mean `stopTimeout: 60`?'],
    ['readyTimeout', 1000, '`readyTimeout: 1000` is 17 minutes: durations are in seconds, not milliseconds; did you mean `readyTimeout: 1`?'],
    ['maxLifetime', 600_000, '`maxLifetime: 600000` is 6.9 days: durations are in seconds, not milliseconds; did you mean `maxLifetime: 600`?'],
  ])('%s: %d looks like milliseconds', (field, value, message) => {
    expect(warnings({ [field]: value })).toEqual([message]);
  });

  it.each([[{ jobTimeout: 3600 }], [{ jobTimeout: 7200 }], [{ jobTimeout: 36_000 }], [{ jobTimeout: 900 }], [{ stopTimeout: Infinity }], [{ maxLifetime: 86_400 }], [{ concurrency: 8 }], [{ maxMemory: 512 }], [{ jobs: { A: 1 } }]])(
    'no warning for %o',
    (raw) => {
      expect(warnings(raw)).toEqual([]);
    },
  );

  it('concurrency above 4 × CPUs, maxMemory beyond the host or below a worker at rest, no job classes', () => {
    expect(warnings({ concurrency: 9 })).toEqual([expect.stringMatching(/^`concurrency: 9` is more than 4 worker processes per CPU core \(this host has 2\)/)]);
    expect(warnings({ concurrency: 9 }, { cpus: 4, totalMemoryMb: 1 })).toEqual([]);
    expect(warnings({ maxMemory: 512 * 1024 * 1024 })).toEqual(["`maxMemory: 536870912` is more than this host's memory (8192 MB): `maxMemory` is in MB"]);
    expect(warnings({ maxMemory: 2 })).toEqual([expect.stringMatching(/^`maxMemory: 2` MB is less than a Node worker uses at rest/)]);
    expect(warnings({ jobs: {} })).toEqual(['`jobs` names no job class: every job the workers take fails as an unknown class']);
  });

  it('describeSeconds', () => {
    expect([45, 90, 1000, 30_000, 100_000].map(describeSeconds)).toEqual(['45 seconds', '1.5 minutes', '17 minutes', '8.3 hours', '1.2 days']);
  });
});

describe('closest (did you mean)', () => {
  const fields = ['concurrency', 'queues', 'pidFile', 'crashLoop', 'jobs', 'jobTimeout', 'dequeueInterval'];
  it.each([
    ['concurency', 'concurrency'],
    ['concurrncy', 'concurrency'],
    ['queue', 'queues'],
    ['pidfile', 'pidFile'],
    ['pid_file', 'pidFile'],
    ['crashloop', 'crashLoop'],
    ['job', 'jobs'],
    ['jobTimout', 'jobTimeout'],
    ['dequeueInt', 'dequeueInterval'],
  ])('%s → %s', (word, near) => {
    expect(closest(word, fields)).toBe(near);
  });

  it.each([['zzz'], ['timeouts'], ['redisUrl'], ['x']])('%s → nothing near', (word) => {
    expect(closest(word, fields)).toBeUndefined();
  });

  it('aliases name what other tools call a field', () => {
    expect(closest('interval', fields, { interval: 'dequeueInterval' })).toBe('dequeueInterval');
  });

  it('edit distance counts a swap of neighbours as one edit', () => {
    expect(editDistance('dealy', 'delay')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('Redis report', () => {
  it('parses INFO server and HELLO', () => {
    expect(parseInfoServer('# Server\r\nredis_version:7.2.4\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\n')).toEqual({ version: '7.2.4', mode: 'standalone' });
    expect(parseInfoServer('')).toEqual({ version: undefined, mode: undefined });
    expect(parseHello(['server', 'redis', 'version', '7.0.15', 'proto', 2, 'mode', 'standalone'])).toEqual({ version: '7.0.15', mode: 'standalone' });
    expect(parseHello(undefined)).toEqual({ version: undefined, mode: undefined });
  });

  it('renders what was found', () => {
    const topology = { kind: 'standalone', reached: undefined, role: 'master', replicas: 0 } as const;
    expect(renderRedisReport('redis://127.0.0.1:6390', { version: '7.2.4', mode: 'standalone', commands: ['SET', 'INFO'], topology })).toBe(
      'Redis at redis://127.0.0.1:6390: version 7.2.4 (standalone); the 2 commands the workers need exist and are permitted: INFO, SET',
    );
    expect(renderRedisReport('x', { version: undefined, mode: undefined, commands: [], topology })).toMatch(/version unknown \(INFO and HELLO refused\)/);
  });
});
