import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CACHE_MAX_AGE_MS,
  cacheFileName,
  cacheKey,
  cacheProblem,
  checkCacheEntry,
  compileConfig,
  compileToCache,
  type Compiled,
  ensureCacheDir,
  isCacheEntryPath,
  writeCacheEntry,
} from '../src/config-cache.js';
import { loadConfigFile } from '../src/load-config.js';

// Issue 16: the compiled-config cache's key and its directory's safety.

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'rs-cc-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const uid = process.getuid?.();

describe('cacheKey / cacheFileName', () => {
  it('is a stable 40-hex hash of the compiled text: same text same key, any change a new key', () => {
    const a = cacheKey('export default { a: 1 };');
    expect(a).toMatch(/^[0-9a-f]{40}$/);
    expect(cacheKey('export default { a: 1 };')).toBe(a);
    expect(cacheKey('export default { a: 2 };')).not.toBe(a);
    expect(cacheKey('export default { a: 1 }; ')).not.toBe(a);
    expect(cacheFileName(a)).toBe(`${a}.mjs`);
  });

  it('isCacheEntryPath accepts only <hash>.mjs inside a config-cache directory', () => {
    const k = cacheKey('x');
    expect(isCacheEntryPath(`/run/rs/config-cache/${k}.mjs`)).toBe(true);
    expect(isCacheEntryPath(`/run/rs/other/${k}.mjs`)).toBe(false);
    expect(isCacheEntryPath(`/run/rs/config-cache/${k}.js`)).toBe(false);
    expect(isCacheEntryPath(`/run/rs/config-cache/../${k}.mjs`)).toBe(false);
    expect(isCacheEntryPath('/run/rs/config-cache/evil.mjs')).toBe(false);
  });
});

describe('ensureCacheDir', () => {
  it('creates <runtime>/config-cache with mode 0700, and accepts it again', () => {
    const run = tmp();
    const dir = ensureCacheDir(run);
    expect(dir).toBe(join(run, 'config-cache'));
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);
    expect(ensureCacheDir(run)).toBe(dir);
  });

  it('refuses a symlink in its place (never followed), a file, a group-writable directory', () => {
    const run = tmp();
    const elsewhere = tmp();
    symlinkSync(elsewhere, join(run, 'config-cache'));
    expect(() => ensureCacheDir(run)).toThrow(/is a symbolic link/);
    expect(readdirSync(elsewhere)).toEqual([]);

    const run2 = tmp();
    writeFileSync(join(run2, 'config-cache'), '');
    expect(() => ensureCacheDir(run2)).toThrow(/is not a directory/);

    const run3 = tmp();
    mkdirSync(join(run3, 'config-cache'));
    chmodSync(join(run3, 'config-cache'), 0o770);
    expect(() => ensureCacheDir(run3)).toThrow(/writable by group or others \(mode 0770\)/);
  });

  it('cacheProblem names another owner', () => {
    const st = lstatSync(tmp());
    expect(cacheProblem(st, 'directory', (st.uid + 1) % 65536)).toMatch(/is owned by uid \d+, not by this user/);
    expect(cacheProblem(st, 'file', st.uid)).toBe('is not a file');
  });
});

describe('writeCacheEntry / checkCacheEntry', () => {
  it('writes <key>.mjs with mode 0600, no temporary file left; the same text gives the same entry', () => {
    const dir = ensureCacheDir(tmp());
    const code = 'export default 1;\n';
    const p = writeCacheEntry(dir, code);
    expect(p).toBe(join(dir, cacheFileName(cacheKey(code))));
    expect(readFileSync(p, 'utf8')).toBe(code);
    expect(lstatSync(p).mode & 0o777).toBe(0o600);
    expect(writeCacheEntry(dir, code)).toBe(p);
    expect(readdirSync(dir)).toEqual([cacheFileName(cacheKey(code))]);
    expect(checkCacheEntry(p)).toBe(true);
  });

  it('replaces a symlink planted at the entry name instead of writing through it', () => {
    const dir = ensureCacheDir(tmp());
    const victim = join(tmp(), 'victim.txt');
    writeFileSync(victim, 'untouched');
    const code = 'export default 2;\n';
    const p = join(dir, cacheFileName(cacheKey(code)));
    symlinkSync(victim, p);
    expect(checkCacheEntry(p)).toBe(false);
    expect(writeCacheEntry(dir, code)).toBe(p);
    expect(lstatSync(p).isSymbolicLink()).toBe(false);
    expect(readFileSync(p, 'utf8')).toBe(code);
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
  });

  it('prunes entries unused for longer than CACHE_MAX_AGE_MS when it writes a new one', () => {
    const dir = ensureCacheDir(tmp());
    const old = writeCacheEntry(dir, 'export default "old";\n');
    const past = (Date.now() - CACHE_MAX_AGE_MS - 60_000) / 1000;
    utimesSync(old, past, past);
    const fresh = writeCacheEntry(dir, 'export default "new";\n');
    expect(readdirSync(dir)).toEqual([fresh.split('/').pop()]);
  });

  it('checkCacheEntry refuses a path that is not ours by name or place', () => {
    const dir = ensureCacheDir(tmp());
    const stray = join(dir, 'stray.mjs');
    writeFileSync(stray, '');
    expect(checkCacheEntry(stray)).toBe(false);
    expect(checkCacheEntry(join(dir, cacheFileName(cacheKey('missing'))))).toBe(false);
  });
});

describe('compileConfig', { timeout: 20_000 }, () => {
  it('bundles local imports, keeps packages as imports by absolute URL, pins import.meta.url to the source', async () => {
    const d = tmp();
    writeFileSync(join(d, 'local.ts'), `export const where: string = import.meta.url;\nexport const n: number = 41;\n`);
    writeFileSync(
      join(d, 'conf.ts'),
      `import { join } from 'node:path';\nimport { defineConfig } from 'resque-starter';\nimport { n, where } from './local.ts';\n` +
        `export default { n: n + 1, where, self: import.meta.url, join: typeof join, define: typeof defineConfig };\n`,
    );
    const { code, inputs } = await compileConfig(join(d, 'conf.ts'), { 'resque-starter': '/opt/rs/dist/index.js' });
    expect(inputs.sort()).toEqual([join(d, 'conf.ts'), join(d, 'local.ts')]);
    expect(code).toContain('from "file:///opt/rs/dist/index.js"');
    expect(code).toContain('from "node:path"');
    expect(code).toContain(JSON.stringify(pathToFileURL(join(d, 'local.ts')).href));
    expect(code).toContain(JSON.stringify(pathToFileURL(join(d, 'conf.ts')).href));
    expect(code).not.toMatch(/from ["']\.\/local/);
  });

  it('requires a CommonJS package (Node 20 imports one at a high price) with import semantics; an ES package stays an import', async () => {
    const d = tmp();
    const pkg = (name: string, json: object, file: string, text: string) => {
      mkdirSync(join(d, 'node_modules', name), { recursive: true });
      writeFileSync(join(d, 'node_modules', name, 'package.json'), JSON.stringify({ name, main: file, ...json }));
      writeFileSync(join(d, 'node_modules', name, file), text);
    };
    // module.exports is a function with properties; a hidden getter must not be read (ioredis's warns).
    pkg(
      'cjs-pkg',
      {},
      'index.js',
      `module.exports = function f() { return 'f'; };\nmodule.exports.a = 1;\nexports.default = 'not the default';\n` +
        `Object.defineProperty(module.exports, '__esModule', { value: true });\n` +
        `Object.defineProperty(module.exports, 'hidden', { get() { throw new Error('hidden getter read'); } });\n`,
    );
    pkg('esm-pkg', { type: 'module' }, 'index.js', 'export const b = 2;\n');
    writeFileSync(
      join(d, 'conf.mjs'),
      `import f, { a } from 'cjs-pkg';\nimport * as ns from 'cjs-pkg';\nimport { b } from 'esm-pkg';\n` +
        `export default { f: f(), a, b, nsDefault: ns.default === f, hasHidden: 'hidden' in ns };\n`,
    );
    const { code } = await compileConfig(join(d, 'conf.mjs'), {});
    expect(code).toContain(`createRequire(import.meta.url)(${JSON.stringify(join(d, 'node_modules/cjs-pkg/index.js'))})`);
    expect(code).toContain(`from ${JSON.stringify(pathToFileURL(join(d, 'node_modules/esm-pkg/index.js')).href)}`);
    const entry = writeCacheEntry(ensureCacheDir(tmp(), uid), code, uid);
    const mod = (await import(pathToFileURL(entry).href)) as { default: unknown };
    // What Node's own import gives: default is module.exports, named exports its properties.
    expect(mod.default).toEqual({ f: 'f', a: 1, b: 2, nsDefault: true, hasHidden: false });
  });

  it('throws on a syntax error (the loader then falls back to jiti, which names file:line)', async () => {
    const d = tmp();
    writeFileSync(join(d, 'conf.ts'), 'export default {\n');
    await expect(compileConfig(join(d, 'conf.ts'), {})).rejects.toThrow();
  });
});

describe('compileToCache: no esbuild when nothing changed', { timeout: 20_000 }, () => {
  const setupFiles = () => {
    const d = tmp();
    writeFileSync(join(d, 'local.ts'), `export const n: number = 1;\n`);
    writeFileSync(join(d, 'conf.ts'), `import { n } from './local.ts';\nexport default { n };\n`);
    return { d, conf: join(d, 'conf.ts'), dir: ensureCacheDir(d) };
  };
  const counting = () => {
    const calls: string[] = [];
    const compile = async (path: string, aliases: Readonly<Record<string, string>>): Promise<Compiled> => {
      calls.push(path);
      return await compileConfig(path, aliases);
    };
    return { calls, compile };
  };

  it('reuses the entry while conf.ts and its imports are unchanged; a changed import, a new tsconfig.json compile again', async () => {
    const { d, conf, dir } = setupFiles();
    const { calls, compile } = counting();
    const first = await compileToCache(dir, conf, {}, compile);
    expect(await compileToCache(dir, conf, {}, compile)).toBe(first);
    expect(calls).toHaveLength(1);
    writeFileSync(join(d, 'local.ts'), `export const n: number = 2;\n`);
    const second = await compileToCache(dir, conf, {}, compile);
    expect(second).not.toBe(first);
    expect(calls).toHaveLength(2);
    writeFileSync(join(d, 'tsconfig.json'), '{}');
    expect(await compileToCache(dir, conf, {}, compile)).toBe(second); // same text, but compiled again
    expect(calls).toHaveLength(3);
    expect(await compileToCache(dir, conf, {}, compile)).toBe(second);
    expect(calls).toHaveLength(3);
  });

  it('a manifest pointing outside the cache, or at a missing entry, is not trusted', async () => {
    const { conf, dir } = setupFiles();
    const { calls, compile } = counting();
    const entry = await compileToCache(dir, conf, {}, compile);
    const manifest = readdirSync(dir).find((f) => f.endsWith('.inputs.json'))!;
    const m = JSON.parse(readFileSync(join(dir, manifest), 'utf8'));
    writeFileSync(join(dir, manifest), JSON.stringify({ ...m, entry: '../../etc/evil.mjs' }));
    expect(await compileToCache(dir, conf, {}, compile)).toBe(entry);
    expect(calls).toHaveLength(2);
    rmSync(entry);
    expect(await compileToCache(dir, conf, {}, compile)).toBe(entry);
    expect(calls).toHaveLength(3);
  });
});

describe('loadConfigFile with the cache', { timeout: 20_000 }, () => {
  const conf = (d: string) => {
    writeFileSync(join(d, 'jobs.ts'), `export const jobs = { A() {} };\n`);
    writeFileSync(join(d, 'conf.ts'), `import { jobs } from './jobs.ts';\nexport default { queues: ['q'], jobs };\n`);
    return join(d, 'conf.ts');
  };

  it('compile: imports the cache entry; a worker given that entry loads the same config from it', async () => {
    const d = tmp();
    const env = { RESQUE_STARTER_RUNTIME_DIR: join(d, 'run') };
    const master = await loadConfigFile(conf(d), env, { compile: true });
    expect(master.config.compiled).toMatch(new RegExp(`^${join(d, 'run', 'config-cache')}/[0-9a-f]{40}\\.mjs$`));
    expect(master.notCompiled).toBeUndefined();
    const worker = await loadConfigFile(conf(d), env, { compiled: master.config.compiled });
    expect(worker.config.compiled).toBe(master.config.compiled);
    expect(worker.config.queues).toEqual(['q']);
    expect(Object.keys(worker.config.jobs)).toEqual(['A']);
  });

  it('a bad entry path given to a worker: jiti loads the source, and says why', async () => {
    const d = tmp();
    const r = await loadConfigFile(conf(d), { RESQUE_STARTER_RUNTIME_DIR: join(d, 'run') }, { compiled: join(d, 'evil.mjs') });
    expect(r.config.compiled).toBeUndefined();
    expect(r.notCompiled).toMatch(/is not a sound cache entry/);
    expect(r.config.queues).toEqual(['q']);
  });
});

describe('schedule memo: a schedule the library accepted is not checked again (issue 16)', { timeout: 20_000 }, () => {
  const confWith = (d: string, cron: string, extra = '') => {
    writeFileSync(
      join(d, 'conf.ts'),
      `export default { queues: ['q'], jobs: { A() {} }, schedule: { nightly: { cron: ${JSON.stringify(cron)}, tz: 'Europe/Paris', class: 'A', queue: 'q' } }, ${extra} };\n`,
    );
    return join(d, 'conf.ts');
  };
  const memos = (d: string) => readdirSync(join(d, 'run', 'config-cache')).filter((f) => f.startsWith('schedule-'));

  it('remembers an accepted entry (a private file); a changed entry is checked again, and a bad one refused', async () => {
    const d = tmp();
    const env = { RESQUE_STARTER_RUNTIME_DIR: join(d, 'run') };
    const first = await loadConfigFile(confWith(d, '0 3 * * *'), env, { compile: true });
    expect(first.config.schedule.map((e) => e.name)).toEqual(['nightly']);
    expect(memos(d)).toHaveLength(1);
    expect(lstatSync(join(d, 'run', 'config-cache', memos(d)[0]!)).mode & 0o777).toBe(0o600);
    const again = await loadConfigFile(confWith(d, '0 3 * * *'), env, { compile: true });
    expect(again.config.schedule).toEqual(first.config.schedule);
    expect(memos(d)).toHaveLength(1);
    await expect(loadConfigFile(confWith(d, '0 3 * * * * * *'), env, { compile: true })).rejects.toThrow(/schedule\.nightly/);
    expect(memos(d)).toHaveLength(1);
    await loadConfigFile(confWith(d, '30 3 * * *'), env, { compile: true });
    expect(memos(d)).toHaveLength(2);
  });

  it('a config with another issue still gets the library check of entries not remembered: every issue at once', async () => {
    const d = tmp();
    const env = { RESQUE_STARTER_RUNTIME_DIR: join(d, 'run') };
    const err = await loadConfigFile(confWith(d, 'not a cron', 'bogusField: 1,'), env, { compile: true }).catch((e: Error) => e);
    expect(String(err)).toMatch(/bogusField/);
    expect(String(err)).toMatch(/schedule\.nightly.*not a cron/s);
    expect(memos(d)).toHaveLength(0);
  });
});
