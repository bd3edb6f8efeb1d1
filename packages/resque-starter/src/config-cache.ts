import { createHash } from 'node:crypto';
import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, utimesSync, writeSync, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';

// The compiled-config cache (issue 16): the master compiles conf.ts and the local modules it
// imports into one JavaScript file, once, with esbuild; workers import that file natively and
// never start jiti (~200 ms of CPU less per worker). The file name is a hash of the compiled
// text, so a changed conf.ts, or any local module it imports, is a new file: nothing is ever
// served stale. Packages it imports stay imports (by absolute file URL), loaded by each
// process as usual.

/** The cache directory's name inside the runtime directory. */
export const CONFIG_CACHE_DIR = 'config-cache';

/** Entries not used for this long are removed when a new one is written. */
export const CACHE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** Bumped when the compiled form changes, so no older entry is taken for a newer one. */
const FORMAT = 'resque-starter-config-v2';
/** Bumped when what a schedule memo means changes. */
const SCHEDULE_MEMO = 'resque-starter-schedule-v1';

/** Why: content addressing; the key is the compiled text's hash (and the format's version). */
export function cacheKey(code: string): string {
  return createHash('sha256').update(FORMAT).update('\0').update(code).digest('hex').slice(0, 40);
}

/** Why: one place that names entries; what `isCacheEntryName` accepts. */
export function cacheFileName(key: string): string {
  return `${key}.mjs`;
}

/** Why: a worker accepts only a path that looks like one of ours (name pattern, in a config-cache dir). */
export function isCacheEntryPath(path: string): boolean {
  return /^[0-9a-f]{40}\.mjs$/.test(basename(path)) && basename(dirname(path)) === CONFIG_CACHE_DIR;
}

/**
 * Why: what makes a cache directory (or entry) unsafe to use: a symlink (never followed), the
 * wrong type, another owner, or writable by group or others. Undefined when it is fine.
 */
export function cacheProblem(st: Stats, kind: 'directory' | 'file', uid: number | undefined): string | undefined {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (kind === 'directory' ? !st.isDirectory() : !st.isFile()) return `is not a ${kind}`;
  if (uid !== undefined && st.uid !== uid) return `is owned by uid ${st.uid}, not by this user (uid ${uid})`;
  if ((st.mode & 0o022) !== 0) return `is writable by group or others (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

/**
 * Why: the cache lives in our private runtime directory. Creates `<runtime>/config-cache` with
 * mode 0700, or checks the existing one (cacheProblem); throws when it cannot be trusted.
 */
export function ensureCacheDir(runtime: string, uid: number | undefined = process.getuid?.()): string {
  const dir = join(runtime, CONFIG_CACHE_DIR);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const problem = cacheProblem(lstatSync(dir), 'directory', uid);
  if (problem) throw new Error(`config cache ${dir} ${problem}`);
  return dir;
}

/**
 * Why: the entry for `code` in `dir`, written atomically (a private temporary file opened with
 * O_EXCL|O_NOFOLLOW, then renamed: a reader never sees half a file, a planted symlink is
 * replaced, not followed). An existing sound entry is only touched. Returns its path.
 */
export function writeCacheEntry(dir: string, code: string, uid: number | undefined = process.getuid?.(), now = Date.now()): string {
  const path = join(dir, cacheFileName(cacheKey(code)));
  const existing = lstatOrUndefined(path);
  if (existing && !cacheProblem(existing, 'file', uid) && existing.size === Buffer.byteLength(code)) {
    utimesSync(path, now / 1000, now / 1000);
    return path;
  }
  writeAtomically(dir, path, code);
  pruneCache(dir, now);
  return path;
}

/** Accepted schedule entries, remembered in the cache directory (`createScheduleMemo`). */
export interface ScheduleMemo {
  /** The memo's key for one schedule entry as the library checks it; undefined when it cannot have one. */
  keyOf(input: Record<string, unknown>): string | undefined;
  has(key: string): boolean;
  /** The library accepted the entry of `key`. */
  add(key: string): void;
}

/**
 * Why (issue 16): the master checks each `schedule` entry with the library's own parser, which
 * loads cron-parser and luxon and computes occurrences: ~110 ms of CPU (a cron with a time zone)
 * on every new master's start-up, before its first worker. The check is deterministic, so an
 * entry this same build of ours (the library is bundled into it) under this same node (its
 * time-zone data) has accepted is remembered, an empty file named by the hash of all that, and
 * not checked again. Anything else (a changed entry, a rebuilt package, another node) is checked.
 */
export function createScheduleMemo(dir: string, env: Readonly<Record<string, string | undefined>>, uid: number | undefined = process.getuid?.()): ScheduleMemo {
  const self = fileURLToPath(import.meta.url);
  const st = lstatOrUndefined(self);
  const build = `${self} ${st?.size} ${st?.mtimeMs} ${process.version} ${env.RESQUE_STARTER_RESQUE_MODULE ?? ''}`;
  const pathOf = (key: string) => join(dir, `schedule-${key}`);
  return {
    keyOf(input) {
      try {
        return createHash('sha256').update(SCHEDULE_MEMO).update('\0').update(build).update('\0').update(JSON.stringify(input)).digest('hex').slice(0, 40);
      } catch {
        return undefined; // args JSON cannot encode (a BigInt): checked every time
      }
    },
    has(key) {
      const f = lstatOrUndefined(pathOf(key));
      return f !== undefined && !cacheProblem(f, 'file', uid);
    },
    add(key) {
      try {
        writeAtomically(dir, pathOf(key), '');
      } catch {
        // remembered next time
      }
    },
  };
}

/** What compiling gave: the module's text and the local files it was built from. */
export interface Compiled {
  code: string;
  /** Absolute paths of the files bundled in (conf.ts and its local imports). */
  inputs: string[];
}

/**
 * Why: esbuild is a separate process that takes 200–400 ms to start and build on a busy host,
 * on every new master's critical path. A manifest per config path lists the files the last
 * compile was built from (and their SHA-256) with the entry it gave: when every one of them
 * (plus the config directory's tsconfig.json and package.json) is unchanged, that entry is
 * used again without compiling. Any change compiles afresh. Returns the entry's path.
 */
export async function compileToCache(
  dir: string,
  path: string,
  aliases: Readonly<Record<string, string>>,
  compile: (path: string, aliases: Readonly<Record<string, string>>) => Promise<Compiled> = compileConfig,
  uid: number | undefined = process.getuid?.(),
): Promise<string> {
  const manifest = join(dir, `${cacheKey(`${path}\0${JSON.stringify(aliases)}`)}.inputs.json`);
  const reused = reuseEntry(dir, manifest, path, uid);
  if (reused) return reused;
  const { code, inputs } = await compile(path, aliases);
  const entry = writeCacheEntry(dir, code, uid);
  const files = [...new Set([...inputs, ...extraInputs(path)])];
  writeAtomically(dir, manifest, JSON.stringify({ format: FORMAT, entry: basename(entry), inputs: Object.fromEntries(files.map((f) => [f, fileHash(f)])) }));
  return entry;
}

/** Why: a worker imports only a sound entry: our name pattern, a regular file (not a symlink) and a directory owned by us. */
export function checkCacheEntry(path: string, uid: number | undefined = process.getuid?.()): boolean {
  if (!isCacheEntryPath(path)) return false;
  const st = lstatOrUndefined(path);
  return st !== undefined && cacheProblem(st, 'file', uid) === undefined && cacheProblem(lstatSync(dirname(path)), 'directory', uid) === undefined;
}

/**
 * Why: bundles `path` and its local imports (relative or absolute paths) into one ES module;
 * bare imports stay imports, resolved now to absolute file URLs (the cache file lives far from
 * the app's node_modules). `aliases`: a bare specifier → the file it
 * means instead, or a package's resolved CommonJS file → an ES module whose default export is
 * that package (commonJsSource). `import.meta.url` (and `.filename`, `.dirname`) keep meaning the
 * source file. Throws what esbuild reports; the caller falls back to jiti.
 */
export async function compileConfig(path: string, aliases: Readonly<Record<string, string>>): Promise<Compiled> {
  const esbuild = await import('esbuild');
  try {
    const result = await esbuild.build({
      entryPoints: [path],
      absWorkingDir: dirname(path),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      logLevel: 'silent',
      banner: { js: `// resque-starter: compiled from ${path}` },
      plugins: [configPlugin(aliases)],
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs).map((f) => resolvePath(dirname(path), f));
    return { code: result.outputFiles[0]!.text, inputs };
  } finally {
    // The esbuild service is a child process: do not keep it around between (re)loads.
    await esbuild.stop?.();
  }
}

// --- internal ---

/** The manifest's entry when it is sound and every file it lists still has the recorded hash. */
function reuseEntry(dir: string, manifest: string, path: string, uid: number | undefined): string | undefined {
  const st = lstatOrUndefined(manifest);
  if (!st || cacheProblem(st, 'file', uid)) return undefined;
  try {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { format?: string; entry?: string; inputs?: Record<string, string | null> };
    if (m.format !== FORMAT || typeof m.entry !== 'string' || !m.inputs || !(path in m.inputs)) return undefined;
    const entry = join(dir, m.entry);
    if (!checkCacheEntry(entry, uid)) return undefined;
    for (const [file, hash] of Object.entries(m.inputs)) if (fileHash(file) !== hash) return undefined;
    for (const f of extraInputs(path)) if (!(f in m.inputs)) return undefined;
    const now = Date.now() / 1000;
    utimesSync(entry, now, now);
    utimesSync(manifest, now, now);
    return entry;
  } catch {
    return undefined;
  }
}

/** Files that change how the config compiles without being imported by it. */
function extraInputs(path: string): string[] {
  return ['tsconfig.json', 'package.json'].map((f) => join(dirname(path), f));
}

/** SHA-256 of a file's bytes; null when it does not exist (its appearing is a change too). */
function fileHash(file: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return null;
  }
}

/** A private temporary file (O_EXCL|O_NOFOLLOW, 0600) renamed over `path`: all or nothing, never through a symlink. */
function writeAtomically(dir: string, path: string, text: string): void {
  const tmp = join(dir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

const SKIP = Symbol('resolve as usual');

function configPlugin(aliases: Readonly<Record<string, string>>): Plugin {
  return {
    name: 'resque-starter-config',
    setup(build) {
      // Bare specifiers: builtins and packages stay external.
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === SKIP) return undefined;
        // Builtins, and the file URLs commonJsSource writes.
        if (isBuiltin(args.path) || (args.namespace === CJS_NAMESPACE && args.path.startsWith('file:'))) return { path: args.path, external: true };
        const alias = aliases[args.path];
        if (alias) return { path: pathToFileURL(alias).href, external: true };
        const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: SKIP });
        if (r.errors.length > 0) return { errors: r.errors };
        // A CommonJS package is required (when it loads here; else it stays an import, as it was),
        // or taken from the module an alias names for its file (the ioredis copy the workers load).
        const required = !r.external && isCommonJsFile(r.path) ? await commonJsSource(r.path, aliases[r.path]) : undefined;
        if (required !== undefined) return { path: r.path, namespace: CJS_NAMESPACE, pluginData: required };
        return { path: r.external ? r.path : pathToFileURL(r.path).href, external: true };
      });
      build.onLoad({ filter: /.*/, namespace: CJS_NAMESPACE }, (args) => ({ contents: args.pluginData as string, loader: 'js' }));
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        return { contents: pinImportMeta(source, args.path), loader: loaderFor(args.path) };
      });
    },
  };
}

const CJS_NAMESPACE = 'resque-starter-cjs';

/**
 * Why: Node 20 imports a CommonJS package as an ES module at a high price: `import 'ioredis'`
 * costs ~40 ms of CPU and ~7 MB more than `require('ioredis')`, even when it is already in
 * require's cache (measured: node 20.20). The compiled config requires such a package instead,
 * with Node's import semantics: the default export is `module.exports`, the named ones its
 * enumerable properties (read once, as Node does). Their names are read here, by loading the
 * package as the master's import of the compiled config is about to anyway. With `via` (an
 * alias for this file: an ES module whose default export is that package), the config imports
 * that module instead. Undefined when it cannot be loaded (it stays an import).
 */
async function commonJsSource(path: string, via: string | undefined): Promise<string | undefined> {
  let mod: unknown;
  try {
    mod = via ? ((await import(pathToFileURL(via).href)) as { default: unknown }).default : createRequire(path)(path);
  } catch {
    return undefined;
  }
  // Enumerable own properties: what `exports.x = …` and TypeScript's re-export getters make, the
  // forms Node finds; a hidden getter (ioredis's deprecated `Promise` warns when read) is left out.
  const names = mod !== null && (typeof mod === 'object' || typeof mod === 'function') ? Object.keys(mod) : [];
  const named = names.filter((n) => n !== 'default' && n !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(n));
  return [
    ...(via
      ? [`import m from ${JSON.stringify(pathToFileURL(via).href)};`]
      : ["import { createRequire } from 'node:module';", `const m = createRequire(import.meta.url)(${JSON.stringify(path)});`]),
    'export default m;',
    ...named.map((n, i) => `const e${i} = m[${JSON.stringify(n)}];`),
    `export { ${named.map((n, i) => `e${i} as ${n}`).join(', ')} };`,
  ].join('\n');
}

/** A `.cjs` file, or a `.js` one whose package is not `"type": "module"`: CommonJS to Node. */
function isCommonJsFile(path: string): boolean {
  if (path.endsWith('.cjs')) return true;
  if (!path.endsWith('.js')) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown };
      return pkg.type !== 'module';
    } catch (err) {
      // A package.json that does not parse: let Node decide, as an import.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    }
    if (dirname(dir) === dir) return true;
  }
}

/** `import.meta.url` and friends, as text: they name the source file, not the cache entry. */
function pinImportMeta(source: string, file: string): string {
  const values: Record<string, string> = { url: pathToFileURL(file).href, filename: file, dirname: dirname(file) };
  return source.replace(/\bimport\.meta\.(url|filename|dirname)\b/g, (_, key: string) => JSON.stringify(values[key]));
}

function loaderFor(path: string): 'ts' | 'tsx' | 'js' | 'jsx' {
  if (path.endsWith('x')) return path.endsWith('.tsx') ? 'tsx' : 'jsx';
  return /\.[cm]?ts$/.test(path) ? 'ts' : 'js';
}

function pruneCache(dir: string, now: number): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatOrUndefined(p);
    if (!st) continue;
    const stale = name.startsWith('.tmp-') ? now - st.mtimeMs > 3600_000 : now - st.mtimeMs > CACHE_MAX_AGE_MS;
    if (stale) {
      try {
        unlinkSync(p);
      } catch {
        // another master pruned it
      }
    }
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
