import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { createJiti } from 'jiti';
import { resolveConfig, type ResolvedConfig } from './config.js';
import { checkCacheEntry, compileToCache, createScheduleMemo, ensureCacheDir, type ScheduleMemo } from './config-cache.js';
import { ensureRuntimeDir, runtimeDir } from './control.js';
import { localModulesHash } from './code-hash.js';
import { ConfigError } from './errors.js';
import { WorkerEnv } from './ipc.js';
import { loadResque } from './resque.js';

/** Seconds a config file may take to load (its top-level await included) unless `RESQUE_STARTER_CONFIG_TIMEOUT` says otherwise. */
export const DEFAULT_CONFIG_TIMEOUT_S = 30;

export interface LoadedConfig {
  config: ResolvedConfig;
  /** Milliseconds spent importing the file. */
  loadMs: number;
  /** Why the compiled-config cache was not used, when it was asked for and not used. */
  notCompiled?: string | undefined;
}

/** How to import the file (the master compiles it; its workers import the result). */
export interface LoadOptions {
  /** Compile the file and its local imports into the cache and import that (the master); jiti when that fails. */
  compile?: boolean;
  /** A cache entry the master compiled from this file: import it natively (a worker); jiti when that fails. */
  compiled?: string | undefined;
}

/** A config file imported but not yet validated (what `check` inspects further). */
export interface ImportedConfig {
  /** Absolute path of the file. */
  path: string;
  /** Its text, to point at lines. */
  source: string;
  /** Its default export. */
  raw: unknown;
  /** Milliseconds spent importing the file. */
  loadMs: number;
  /** The cache entry it was imported from, when not through jiti. */
  compiled?: string | undefined;
  /** Why the cache was not used, when it was asked for. */
  notCompiled?: string | undefined;
}

/**
 * Why: the only I/O of config handling. Imports `conf.ts` (or .js/.mjs) at run time with jiti,
 * fresh on every call (HUP reloads it), and turns every failure into a ConfigError that names
 * `file:line`. A file that does not finish loading within `RESQUE_STARTER_CONFIG_TIMEOUT`
 * seconds (default 30: a top-level await that never settles) is a ConfigError too, instead of
 * a process that exits 0 in silence or hangs.
 */
export async function loadConfigFile(
  file: string,
  env: Readonly<Record<string, string | undefined>> = {},
  options: LoadOptions = {},
): Promise<LoadedConfig> {
  const { path, source, raw, loadMs, compiled, notCompiled } = await importConfigFile(file, env, options);
  // A worker runs no scheduler, and its master has checked the schedule already: it does not
  // load the cron parser (cron-parser and luxon: ~25 ms of CPU and ~3 MB per worker).
  const worker = Boolean(env[WorkerEnv.slot]);
  const ctx = { path, env, source };
  const config = worker ? resolveConfig(raw, ctx) : await resolveChecked(raw, ctx, options.compile ? scheduleMemo(env) : undefined);
  // Only the master compares code across reloads; a worker has no use for it.
  if (!worker) config.codeHash = localModulesHash(path, source);
  return { config: compiled ? { ...config, compiled } : config, loadMs, notCompiled };
}

/**
 * Why: a cron expression or time zone is checked by the parser the Scheduler uses, so `check`
 * and the master refuse exactly what it would. The library is loaded only for a config with a
 * `schedule` (`check` stays light otherwise); a stand-in module without the parser skips it.
 */
export async function scheduleParser(raw: unknown): Promise<((input: Record<string, unknown>) => unknown) | undefined> {
  if (raw === null || typeof raw !== 'object' || (raw as { schedule?: unknown }).schedule === undefined) return undefined;
  const mod = (await loadResque()) as unknown as { resolveSchedule?: (input: Record<string, unknown>) => unknown };
  return mod.resolveSchedule;
}

/**
 * The config resolved with its schedule checked by the library's parser; entries the memo
 * (config-cache.ts) says were accepted before are not checked again, and when all of them were,
 * the parser (cron-parser, luxon) is not even loaded. Every issue is reported at once as before:
 * a config with other issues is resolved again with the parser when it has entries to check.
 */
async function resolveChecked(raw: unknown, ctx: { path: string; env: Readonly<Record<string, string | undefined>>; source: string }, memo: ScheduleMemo | undefined): Promise<ResolvedConfig> {
  if (memo) {
    let unchecked = 0;
    const remembered = (input: Record<string, unknown>) => {
      const key = memo.keyOf(input);
      if (key === undefined || !memo.has(key)) unchecked += 1;
    };
    let config: ResolvedConfig | undefined;
    try {
      config = resolveConfig(raw, { ...ctx, parseSchedule: remembered });
    } catch (err) {
      if (!(err instanceof ConfigError) || unchecked === 0) throw err;
    }
    if (config && unchecked === 0) return config;
  }
  const parse = await scheduleParser(raw);
  if (!parse || !memo) return resolveConfig(raw, { ...ctx, parseSchedule: parse });
  const accepted: string[] = [];
  const config = resolveConfig(raw, {
    ...ctx,
    parseSchedule: (input) => {
      const out = parse(input);
      const key = memo.keyOf(input);
      if (key !== undefined) accepted.push(key);
      return out;
    },
  });
  for (const key of accepted) if (!memo.has(key)) memo.add(key);
  return config;
}

/** The schedule memo in the config cache directory; none when that directory cannot be used. */
function scheduleMemo(env: Readonly<Record<string, string | undefined>>): ScheduleMemo | undefined {
  if (env.RESQUE_STARTER_CONFIG_CACHE === '0') return undefined;
  try {
    return createScheduleMemo(ensureCacheDir(ensureRuntimeDir(runtimeDir(env))), env);
  } catch {
    return undefined;
  }
}

/**
 * Why: `check` validates and then inspects the same values (warnings), so importing is its own
 * step. Gives the file's default export; a file without one is a ConfigError that says so.
 */
export async function importConfigFile(
  file: string,
  env: Readonly<Record<string, string | undefined>> = {},
  options: LoadOptions = {},
): Promise<ImportedConfig> {
  const path = resolvePath(file);
  const timeoutS = configTimeout(env, path);
  let source = '';
  try {
    if (statSync(path).isDirectory()) throw new ConfigError('the config path is a directory, not a file', path);
    source = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(describeReadError(err), path, path, { cause: err });
  }
  const started = performance.now();
  let loaded: Imported;
  const timeout = new AbortController();
  try {
    // A live (ref'd) timer: a never-settling import must not let the event loop run dry.
    loaded = await Promise.race([
      importModule(path, env, options),
      sleep(timeoutS * 1000, undefined, { signal: timeout.signal }).then(() => {
        throw new ConfigError(
          `the config file did not finish loading within ${timeoutS} s (a top-level await that never settles?); ` +
            'RESQUE_STARTER_CONFIG_TIMEOUT sets the limit in seconds',
          path,
        );
      }),
    ]);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw toConfigError(err, path, source);
  } finally {
    timeout.abort();
  }
  const { mod, compiled, notCompiled } = loaded;
  // jiti's interop answers any `.default`, so ask whether the module has one.
  if (mod === null || typeof mod !== 'object' || !('default' in mod)) throw noDefaultExport(mod, path, source);
  return { path, source, raw: (mod as { default: unknown }).default, loadMs: performance.now() - started, compiled, notCompiled };
}

// --- internal ---

interface Imported {
  mod: unknown;
  compiled?: string | undefined;
  notCompiled?: string | undefined;
}

/** Master loads count up: each import of a cache entry evaluates the config again, as jiti did. */
let loads = 0;

/**
 * The compiled cache entry when asked for and usable, else jiti. A config that fails natively
 * is loaded again through jiti, whose errors name `file:line` of the source.
 */
async function importModule(path: string, env: Readonly<Record<string, string | undefined>>, options: LoadOptions): Promise<Imported> {
  let notCompiled: string | undefined;
  if (options.compiled !== undefined) {
    if (checkCacheEntry(options.compiled)) {
      try {
        return { mod: await import(pathToFileURL(options.compiled).href), compiled: options.compiled };
      } catch (err) {
        notCompiled = `importing ${options.compiled} failed: ${firstLine(err)}`;
      }
    } else notCompiled = `${options.compiled} is not a sound cache entry`;
  } else if (options.compile && env.RESQUE_STARTER_CONFIG_CACHE !== '0') {
    try {
      const compiled = await compileToCache(ensureCacheDir(ensureRuntimeDir(runtimeDir(env))), path, configAliases());
      return { mod: await import(`${pathToFileURL(compiled).href}?load=${++loads}`), compiled };
    } catch (err) {
      notCompiled = firstLine(err);
    }
  } else if (options.compile) notCompiled = 'RESQUE_STARTER_CONFIG_CACHE=0';
  return { mod: await configLoader(env).import(path), notCompiled };
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

let jiti: ReturnType<typeof createJiti> | undefined;

/** Why: an unreadable config must not be reported as missing (EACCES vs ENOENT). */
export function describeReadError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'config file not found';
    case 'EACCES':
    case 'EPERM':
      return `cannot read the config file: permission denied (${e.code}${process.getuid ? `, running as uid ${process.getuid()}` : ''})`;
    default:
      return `cannot read the config file: ${e?.code ? `${e.code} ` : ''}${String(e?.message ?? err).split('\n')[0]}`;
  }
}

function configTimeout(env: Readonly<Record<string, string | undefined>>, path: string): number {
  const v = env.RESQUE_STARTER_CONFIG_TIMEOUT;
  if (v === undefined || v === '') return DEFAULT_CONFIG_TIMEOUT_S;
  const n = Number(v);
  if (!(n >= 0.1 && n <= 3600)) {
    throw new ConfigError(`Expected RESQUE_STARTER_CONFIG_TIMEOUT to be between 0.1 and 3600 seconds, got \`${v}\``, path);
  }
  return n;
}

function configLoader(env: Readonly<Record<string, string | undefined>>): ReturnType<typeof createJiti> {
  if (jiti) return jiti;
  const alias = configAliases();
  // jiti's CommonJS entry: importing its ESM entry makes node scan the 190 kB jiti.cjs bundle
  // for named exports (cjs-module-lexer), ~20 ms of every worker's start-up.
  const create = createRequire(import.meta.url)('jiti') as typeof createJiti;
  jiti = create(import.meta.url, { moduleCache: false, interopDefault: true, alias, fsCache: transpileCacheDir(env) });
  return jiti;
}

/**
 * Config files anywhere on disk may import our package (or @baton/resque) without having it
 * installed next to them: these names resolve to our copies (for jiti and for the compiler).
 */
function configAliases(): Record<string, string> {
  const self = fileURLToPath(new URL('./index.js', import.meta.url));
  const alias: Record<string, string> = { '@baton/resque-starter': self, 'resque-starter': self };
  // The build's copy of @baton/resque (dist/resque-lib.js), which the workers already load.
  const bundled = fileURLToPath(new URL('./resque-lib.js', import.meta.url));
  // The installed ioredis (by its file, as a config resolves it) → the copy the build bundled
  // (dist/ioredis-lib.js: that same install, or the bundled copy of its version).
  const ioredis = fileURLToPath(new URL('./ioredis-lib.js', import.meta.url));
  if (existsSync(ioredis)) {
    try {
      alias[createRequire(import.meta.url).resolve('ioredis')] = ioredis;
    } catch {
      // not installed: configs that import it will say so
    }
  }
  if (existsSync(bundled)) {
    alias['@baton/resque'] = bundled;
    return alias;
  }
  try {
    alias['@baton/resque'] = createRequire(import.meta.url).resolve('@baton/resque');
  } catch {
    try {
      alias['@baton/resque'] = fileURLToPath(import.meta.resolve('@baton/resque'));
    } catch {
      // not installed: configs that import it will say so
    }
  }
  return alias;
}

/**
 * jiti's transpile cache (keyed by path and source hash): the master transpiles conf.ts and
 * what it imports once, each worker then only reads the result (~100 ms less per worker start
 * than running babel). Kept in our private runtime directory (mode 0700, owned by us) rather
 * than jiti's default `<tmp>/jiti`, which any local user could have created and filled first.
 */
function transpileCacheDir(env: Readonly<Record<string, string | undefined>>): string | false {
  try {
    const root = ensureRuntimeDir(runtimeDir(env));
    const dir = join(root, 'jiti');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  } catch {
    return false;
  }
}

function toConfigError(err: unknown, path: string, source: string): ConfigError {
  const e = err as NodeJS.ErrnoException;
  const message = String(e?.message ?? err);
  // jiti's parse errors: "ParseError: Unexpected token\n /abs/conf.ts:5:2"
  const parse = /^(?:ParseError: )?([^\n]*?)\s*\n\s*(\/[^\s]+:\d+:\d+)/.exec(message);
  if (parse) return new ConfigError(`syntax error: ${parse[1]!.replace(/^ParseError: /, '')}`, path, parse[2]!, { cause: err });
  if (e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND') {
    const name = /Cannot find (?:module|package) '([^']+)'/.exec(message)?.[1];
    const line = name ? lineOf(source, (l) => l.includes(`'${name}'`) || l.includes(`"${name}"`)) : undefined;
    return new ConfigError(
      `cannot import ${name ? `\`${name}\`` : 'a module'}: not found`,
      path,
      line ? `${path}:${line}` : path,
      { cause: err },
    );
  }
  // A throw while the file runs: point at the config file's frame in the stack.
  const frame = String(e?.stack ?? '')
    .split('\n')
    .map((l) => /\(?(\/[^\s()]+):(\d+):(\d+)\)?\s*$/.exec(l))
    .find((m) => m && m[1] === path);
  const location = frame ? `${path}:${frame[2]}:${frame[3]}` : path;
  return new ConfigError(`the config file threw: ${message.split('\n')[0]}`, path, location, { cause: err });
}

/**
 * Why: `export const config = defineConfig(...)` is a natural slip; reading the module as the
 * config would report its export names as unknown fields.
 */
function noDefaultExport(mod: unknown, path: string, source: string): ConfigError {
  const names = mod !== null && typeof mod === 'object' ? Object.keys(mod) : [];
  const fix = 'end it with `export default defineConfig({ ... })`';
  if (names.length === 0) return new ConfigError(`no default export: the config file exports nothing; ${fix}`, path);
  const first = names[0]!;
  const at = lineColOf(source, new RegExp(`\\bexport\\s+(?:const|let|var|async\\s+function\\*?|function\\*?|class)\\s+${first.replace(/\$/g, '\\$')}\\b`));
  const list = names.map((n) => `\`${n}\``).join(', ');
  return new ConfigError(
    `no default export: the config file exports ${list} but not \`default\`; ${fix}`,
    path,
    at ? `${path}:${at}` : path,
  );
}

function lineColOf(source: string, re: RegExp): string | undefined {
  const m = re.exec(source);
  if (!m) return undefined;
  const before = source.slice(0, m.index);
  return `${before.split('\n').length}:${m.index - before.lastIndexOf('\n')}`;
}

function lineOf(source: string, pred: (line: string) => boolean): number | undefined {
  const i = source.split('\n').findIndex(pred);
  return i >= 0 ? i + 1 : undefined;
}
