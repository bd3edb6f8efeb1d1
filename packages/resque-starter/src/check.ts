import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { dirname, extname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeRedis, isClusterConfig, resolveConfig, type ResolvedConfig } from './config.js';
import { configForGroup, DEFAULT_GROUP, describeGroup, type ResolvedGroup } from './config-groups.js';
import { renderLogSettings } from './config-logs.js';
import { renderScheduleLines, type ScheduleParser } from './config-schedule.js';
import { configWarnings, type ConfigWarning, type HostFacts } from './config-warnings.js';
import { describeDashboard, describeMetrics } from './config-metrics.js';
import { ConfigError, ExitCode, StartupError } from './errors.js';
import { importConfigFile, scheduleParser } from './load-config.js';
import { probeRedis, type RedisReport } from './redis-check.js';
import { renderTopology, topologyWarnings } from './redis-topology.js';

export interface CheckOptions {
  /** The config file, as given (`-c`). */
  configPath: string;
  /** Environment (REDIS_URL, BATON_LOG_LEVEL, RESQUE_STARTER_CONFIG_TIMEOUT). */
  env: NodeJS.ProcessEnv;
  /** `--redis`: connect and try what the workers need. */
  redis: boolean;
  /** `--types`: run the TypeScript compiler on the config. */
  types: boolean;
  /** Prints one line (no newline at its end). */
  out: (line: string) => void;
  /** For tests: the host the warnings compare with (default: this one). */
  host?: HostFacts;
  /** For tests: the TypeScript to use; null: as if none were installed (default: `findTypeScript`). */
  typescript?: TypeScriptInstall | null;
}

/** Seconds the TypeScript compiler may take on the config before `check --types` gives up. */
export const TYPE_CHECK_TIMEOUT_S = 300;

/**
 * Why: `check` tells everything at once: every config error (not only the first), warnings
 * for values that are valid but probably not meant, the type errors (`--types`) and what Redis
 * answers (`--redis`), each as one line; then, when all passed, the summary line. Returns the
 * exit code: 78 for a config or type error, 1 when Redis fails (or TypeScript is missing for
 * `--types`), 0 otherwise (warnings included).
 */
export async function runCheck(o: CheckOptions): Promise<number> {
  // One `out` call per line; a message of several lines (every config error) keeps its indent.
  const say = (m: string) => {
    for (const [i, line] of m.split('\n').entries()) o.out(i === 0 ? `resque-starter: ${line}` : line);
  };
  const config = await checkConfig(o, say);
  const types = o.types ? await checkConfigTypes(o, say) : { code: ExitCode.ok, note: 'types are not checked: add --types' };
  // The first failure decides the exit code: the config's, then the types'.
  const code = config.code !== ExitCode.ok ? config.code : types.code;

  let redis = 'Redis not checked: add --redis';
  if (o.redis && config.resolved) {
    // Each Redis the groups use, once (each namespace once on a Cluster: its slot is what matters).
    const servers = new Map<string, { where: string; target: ResolvedConfig }>();
    for (const g of config.resolved.groups) {
      const where = describeRedis(g.redis);
      servers.set(isClusterConfig(g.redis) ? `${where} ${g.namespace}` : where, { where, target: configForGroup(config.resolved, g.name)! });
    }
    for (const { where, target } of servers.values()) {
      try {
        const report = await probeRedis(target);
        o.out(renderRedisReport(where, report));
        o.out(renderTopology(where, report.topology));
        for (const w of topologyWarnings(target, report.topology)) say(`warning: ${w}`);
      } catch (err) {
        if (!(err instanceof StartupError)) throw err;
        say(err.message);
        return code === ExitCode.ok ? ExitCode.failure : code;
      }
    }
    const wheres = [...new Set([...servers.values()].map((s) => s.where))];
    redis = `Redis at ${wheres.join(' and ')} answer${wheres.length > 1 ? '' : 's'} and permit${wheres.length > 1 ? '' : 's'} what the workers need`;
  } else if (o.redis) {
    say('Redis not checked: the config has errors');
  }

  if (code !== ExitCode.ok || !config.resolved) return code;
  const c = config.resolved;
  const only = c.groups.length === 1 && c.groups[0]!.name === DEFAULT_GROUP ? c.groups[0] : undefined;
  const what = only
    ? `${only.concurrency} worker(s), queues ${only.queues.join(',')}, jobs ${Object.keys(only.jobs).join(',') || 'none'}`
    : `${c.groups.length} groups, ${c.groups.reduce((n, g) => n + g.concurrency, 0)} worker(s)`;
  o.out(`${c.path}: ok (${what}; loaded in ${Math.round(config.loadMs)} ms; ${types.note}; ${redis})`);
  // The resolved groups, one line each: what every group inherited and what it set itself.
  if (!only) for (const g of c.groups) o.out(`  group ${describeGroup(g)}${sameRedis(g, c) ? '' : `, Redis ${describeRedis(g.redis)}/${g.namespace}`}`);
  for (const line of renderScheduleLines(c, config.parseSchedule, Date.now())) o.out(line);
  const logs = renderLogSettings(c);
  if (logs) o.out(logs);
  if (c.metrics) o.out(`  metrics: GET ${describeMetrics(c.metrics)} (served by the master)`);
  if (c.metrics?.dashboard) o.out(`  dashboard: ${describeDashboard(c.metrics)} (served by the master${c.metrics.token ? ', token required' : ''})`);
  return ExitCode.ok;
}

/** A group whose Redis and namespace are the top level's (not repeated on its line). */
function sameRedis(g: ResolvedGroup, c: ResolvedConfig): boolean {
  return g.namespace === c.namespace && describeRedis(g.redis) === describeRedis(c.redis);
}

/** Loads and validates the config: prints every error, then the warnings (not about a field in error). */
async function checkConfig(
  o: CheckOptions,
  say: (m: string) => void,
): Promise<{ code: number; resolved: ResolvedConfig | undefined; loadMs: number; parseSchedule?: ScheduleParser | undefined }> {
  let warnings: ConfigWarning[] = [];
  let loadMs = 0;
  let parseSchedule: ScheduleParser | undefined;
  try {
    const imported = await importConfigFile(o.configPath, o.env);
    loadMs = imported.loadMs;
    parseSchedule = await scheduleParser(imported.raw);
    const ctx = { path: imported.path, env: o.env, source: imported.source, parseSchedule };
    if (imported.raw !== null && typeof imported.raw === 'object' && !Array.isArray(imported.raw)) {
      warnings = configWarnings(imported.raw as Record<string, unknown>, ctx, o.host ?? hostFacts());
    }
    const resolved = resolveConfig(imported.raw, ctx);
    for (const w of warnings) say(`warning: ${w.location}: ${w.message}`);
    return { code: ExitCode.ok, resolved, loadMs, parseSchedule };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    say(`config error: ${err.shortMessage}`);
    // A field in error is not warned about as well (`concurrency: 1e9` is an error, not a warning).
    const inError = new Set(err.issues.map((i) => i.field));
    for (const w of warnings) if (!inError.has(w.field)) say(`warning: ${w.location}: ${w.message}`);
    return { code: ExitCode.config, resolved: undefined, loadMs };
  }
}

/** `--types`: prints each compiler error; `note` is the summary's part. */
async function checkConfigTypes(o: CheckOptions, say: (m: string) => void): Promise<{ code: number; note: string }> {
  const path = resolvePath(o.configPath);
  const ts = o.typescript === undefined ? findTypeScript(path) : o.typescript;
  if (!ts) {
    say(`types not checked: TypeScript is not installed where ${path} is (npm install --save-dev typescript); or leave out --types`);
    return { code: ExitCode.failure, note: 'types not checked' };
  }
  const result = await checkTypes(path, ts);
  for (const d of result.diagnostics) {
    say(`type error: ${d.location ? `${d.location}: ` : ''}${d.message}${d.code ? ` (${d.code})` : ''}`);
    for (const detail of d.details) o.out(`    ${detail}`);
  }
  return { code: result.ok ? ExitCode.ok : ExitCode.config, note: `types check (TypeScript ${ts.version})` };
}

/** `Redis at …: version 7.2.4 (standalone); the 31 commands the workers need exist and are permitted: DEL, EVAL, …` (sorted). */
export function renderRedisReport(where: string, r: RedisReport): string {
  const version = r.version ? `version ${r.version}${r.mode ? ` (${r.mode})` : ''}` : 'version unknown (INFO and HELLO refused)';
  return `Redis at ${where}: ${version}; the ${r.commands.length} commands the workers need exist and are permitted: ${[...r.commands].sort().join(', ')}`;
}

/** The host `check` runs on, for the warnings. */
export function hostFacts(): HostFacts {
  return { cpus: availableParallelism(), totalMemoryMb: Math.round(totalmem() / 1024 / 1024) };
}

// --- types ---

/** A TypeScript installation: its directory, version and the `tsc` script. */
export interface TypeScriptInstall {
  dir: string;
  version: string;
  bin: string;
}

/**
 * Why: the user's own compiler checks the config, the one their editor uses: TypeScript as
 * resolved from the config file's directory, else the one next to resque-starter (hoisted in
 * the same app). Undefined when there is none.
 */
export function findTypeScript(configPath: string): TypeScriptInstall | undefined {
  for (const from of [configPath, fileURLToPath(import.meta.url)]) {
    try {
      const pkgPath = createRequire(from).resolve('typescript/package.json');
      const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version?: string; bin?: string | Record<string, string> };
      const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.tsc;
      if (!bin || !pkg.version) continue;
      return { dir: dirname(pkgPath), version: pkg.version, bin: join(dirname(pkgPath), bin) };
    } catch {
      // not resolvable from there
    }
  }
  return undefined;
}

/** One compiler error: `file:line:col` (when it has one), its text, its code and the lines that elaborate it. */
export interface TypeDiagnostic {
  location: string | undefined;
  message: string;
  code: string | undefined;
  details: string[];
}

/**
 * Why: `check --types` must check what the master will load, as jiti loads it, whatever the
 * project's own tsconfig says: strict, ES modules resolved as a bundler does (top-level await,
 * `.ts` extensions in imports), and `@baton/resque-starter` (and `@baton/resque`) found even
 * when the config sits outside the app, as jiti's aliases find them. The options go into a
 * temporary tsconfig naming only the config file (and so what it imports).
 */
export function typeCheckOptions(configPath: string): { compilerOptions: Record<string, unknown>; files: string[] } {
  const isJs = ['.js', '.mjs', '.cjs'].includes(extname(configPath));
  const paths: Record<string, string[]> = {};
  const self = selfTypes();
  for (const name of ['@baton/resque-starter', 'resque-starter']) {
    if (!resolvable(name, configPath) && self) paths[name] = [self];
  }
  const resque = resqueTypes();
  if (!resolvable('@baton/resque', configPath) && resque) paths['@baton/resque'] = [resque];
  const typeRoots = [...new Set([...typeRootsAbove(dirname(configPath)), ...typeRootsAbove(dirname(fileURLToPath(import.meta.url)))])];
  return {
    compilerOptions: {
      noEmit: true,
      strict: true,
      target: 'es2022',
      lib: ['es2023'],
      module: 'esnext',
      moduleResolution: 'bundler',
      allowImportingTsExtensions: true,
      resolveJsonModule: true,
      esModuleInterop: true,
      skipLibCheck: true,
      allowJs: isJs,
      checkJs: isJs,
      ...(typeRoots.length > 0 ? { typeRoots } : {}),
      // Named: TypeScript 6 and later no longer include every @types package by default.
      ...(typeRoots.some((root) => existsSync(join(root, 'node'))) ? { types: ['node'] } : {}),
      ...(Object.keys(paths).length > 0 ? { paths } : {}),
    },
    files: [configPath],
  };
}

/** Runs the compiler on the config; `ok` when it exits 0. */
export async function checkTypes(configPath: string, ts: TypeScriptInstall): Promise<{ ok: boolean; diagnostics: TypeDiagnostic[] }> {
  const tmp = mkdtempSync(join(tmpdir(), 'resque-starter-types-'));
  try {
    const project = join(tmp, 'tsconfig.json');
    writeFileSync(project, JSON.stringify(typeCheckOptions(configPath), null, 2));
    const cwd = dirname(configPath);
    const args = ['-p', project, '--pretty', 'false'];
    const run = isNodeScript(ts.bin) ? await runProcess(process.execPath, [ts.bin, ...args], cwd) : await runProcess(ts.bin, args, cwd);
    if (run.timedOut) {
      return { ok: false, diagnostics: [{ location: undefined, message: `the TypeScript compiler did not finish within ${TYPE_CHECK_TIMEOUT_S} s`, code: undefined, details: [] }] };
    }
    const diagnostics = parseDiagnostics(run.output, cwd);
    if (run.code !== 0 && diagnostics.length === 0) {
      const text = run.output.trim() || run.error || `exit code ${String(run.code)}`;
      diagnostics.push({ location: undefined, message: `the TypeScript compiler failed: ${text.split('\n')[0]}`, code: undefined, details: [] });
    }
    return { ok: run.code === 0 && diagnostics.length === 0, diagnostics };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * tsc's `--pretty false` output: `conf.ts(3,3): error TS2561: Object literal …`, indented lines
 * elaborating the one before, and errors without a file (`error TS5023: …`). Paths are made
 * absolute (tsc prints them relative to its working directory), as config errors show them.
 */
export function parseDiagnostics(output: string, cwd: string): TypeDiagnostic[] {
  const out: TypeDiagnostic[] = [];
  for (const line of output.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const located = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
    if (located) {
      out.push({ location: `${resolvePath(cwd, located[1]!)}:${located[2]}:${located[3]}`, message: located[5]!, code: located[4], details: [] });
      continue;
    }
    const global = /^error (TS\d+): (.*)$/.exec(line);
    if (global) {
      out.push({ location: undefined, message: global[2]!, code: global[1], details: [] });
      continue;
    }
    const last = out.at(-1);
    if (last && /^\s/.test(line)) last.details.push(line.trim());
  }
  return out;
}

// --- internal ---

function resolvable(name: string, from: string): boolean {
  try {
    createRequire(from).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** This package's types: dist/index.d.ts when built, src/index.ts when run from source (tests). */
function selfTypes(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, 'index.d.ts'), join(here, 'index.ts')].find((p) => existsSync(p));
}

/** `@baton/resque`'s types, as resolvable from this package (jiti's alias). */
function resqueTypes(): string | undefined {
  try {
    const main = createRequire(import.meta.url).resolve('@baton/resque');
    const dts = main.replace(/\.[cm]?js$/, '.d.ts');
    return existsSync(dts) ? dts : undefined;
  } catch {
    return undefined;
  }
}

/** Every `node_modules/@types` from `dir` up to the root (TypeScript's own default, from the config's place). */
function typeRootsAbove(dir: string): string[] {
  const roots: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', '@types');
    if (existsSync(candidate)) roots.push(candidate);
    if (dirname(d) === d) return roots;
  }
}

/** A JavaScript file (TypeScript's `bin/tsc`), run with this node; else an executable (a native compiler). */
function isNodeScript(file: string): boolean {
  if (/\.[cm]?js$/.test(file)) return true;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(64);
    const n = readSync(fd, head, 0, head.length, 0);
    const first = head.subarray(0, n).toString('utf8').split('\n')[0]!;
    return !first.startsWith('#!') || /\bnode\b/.test(first);
  } catch {
    return true;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

interface ProcessResult {
  code: number | null;
  output: string;
  error: string | undefined;
  timedOut: boolean;
}

function runProcess(command: string, args: string[], cwd: string): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: TYPE_CHECK_TIMEOUT_S * 1000 });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    // A compiler that cannot be started (ENOENT, EACCES) ends here; `close` may not follow.
    child.on('error', (err) => resolve({ code: null, output, error: err.message, timedOut: false }));
    child.on('close', (code, signal) => resolve({ code, output, error: undefined, timedOut: signal === 'SIGTERM' && code === null }));
  });
}
