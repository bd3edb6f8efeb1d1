// An app outside the repository that installs baton from `npm pack` tarballs, as a user would:
// no workspace links, registry dependencies from the npm registry.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { builtinModules } from 'node:module';
import { INFRA_VAR, runId } from './procs.js';
import { ROOT } from './spawn.js';

/** Every workspace package, by directory under packages/. */
export const PACKAGES = ['process-kit', 'resque', 'server-starter', 'resque-starter'] as const;

export interface Packed {
  dir: string;
  name: string;
  tarball: string;
  /** Paths inside the tarball (without the `package/` prefix). */
  files: string[];
}

/**
 * Why: npm run by `npm test` exports npm_* variables (workspace, prefix, package fields) that
 * would make a child npm act on the monorepo; the app's npm must see a plain user's environment.
 * Processes started here carry the run's infra mark, so the run fails if one is left behind.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return { ...env, [INFRA_VAR]: runId(), npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

/** Why: npm pack/install are slow and may hang on a network problem; each run has a deadline. */
export function runNpm(args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('npm', args, { cwd, env: npmEnv(), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`npm ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${stdout}\n${stderr}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

/** Packs the built workspace package (scripts skipped: `npm test` has just built it). */
export async function packPackage(pkg: string, dest: string, timeoutMs: number): Promise<Packed> {
  const dir = join(ROOT, 'packages', pkg);
  const out = await runNpm(['pack', '--ignore-scripts', '--json', '--pack-destination', dest], dir, timeoutMs);
  const [info] = JSON.parse(out) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
  return { dir, name: info!.name, tarball: join(dest, info!.filename), files: info!.files.map((f) => f.path).sort() };
}

/** A temp dir under os.tmpdir() (outside the repository) with a package.json naming the tarballs. */
export function createApp(direct: Packed[], transitive: Packed[]): string {
  const app = mkdtempSync(join(tmpdir(), 'baton-packed-app-'));
  const spec = (p: Packed) => `file:${p.tarball}`;
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify(
      {
        name: 'baton-packed-app',
        private: true,
        type: 'module',
        dependencies: Object.fromEntries(direct.map((p) => [p.name, spec(p)])),
        // Our unpublished packages that the direct ones depend on come from the tarballs too,
        // without becoming the app's own dependencies: a package that forgets to declare one
        // gets nothing hoisted for it, exactly as from the registry.
        overrides: Object.fromEntries(transitive.map((p) => [p.name, spec(p)])),
      },
      null,
      2,
    )}\n`,
  );
  return app;
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

// --- undeclared imports ---

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
// Static and dynamic imports, require(), createRequire(…)() and require/import.meta.resolve() of a literal…
const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|(?:require|meta)\.resolve\s*\(\s*|createRequire\([^()]*\)\s*\(\s*)['"]([^'"]+)['"]/g;
// …and any string that is exactly a scoped package name (`import(name)` with a default like
// `process.env.X || '@baton/resque'` is how resque-starter loads @baton/resque).
const SCOPED_RE = /['"`](@[a-z0-9-]+\/[a-z0-9._-]+)['"`]/g;

/** The package name of a bare specifier (`@scope/name/sub` → `@scope/name`), or undefined. */
export function bareName(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('#') || BUILTINS.has(spec) || spec.startsWith('node:')) return undefined;
  if (/^[a-z]+:/i.test(spec)) return undefined; // file:, data:, …
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Why: a bare import that is not a declared dependency works in the workspace (hoisting) and
 * fails in a user's app. Returns `file: specifier` for each one in `dist/**\/*.js` and `bin/`.
 */
export function undeclaredImports(pkgDir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  const declared = new Set([pkg.name, ...Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies })]);
  const bad: string[] = [];
  for (const file of [...listJs(join(pkgDir, 'dist')), ...listJs(join(pkgDir, 'bin'))]) {
    // Comments may quote import examples; strip them before scanning.
    const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const m of [...src.matchAll(IMPORT_RE), ...src.matchAll(SCOPED_RE)]) {
      const name = bareName(m[1]!);
      if (name && !declared.has(name)) bad.push(`${relative(pkgDir, file)}: ${m[1]}`);
    }
  }
  return [...new Set(bad)];
}

function listJs(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return listJs(p);
    return /\.(m|c)?js$/.test(e) ? [p] : [];
  });
}

/** dist files in a tarball with no source in the workspace (left over from a deleted module). */
export function staleDistFiles(p: Packed): string[] {
  // esbuild outputs of resque-starter's scripts/bundle.mjs (its worker entry, and the chunks
  // that entry shares with dist/index.js): their source is the entry named here.
  const bundled: Record<string, string> = { 'dist/worker.js': 'worker-main', 'dist/resque-lib.js': 'resque' };
  const bundles = p.name === '@baton/resque-starter';
  return p.files
    .filter((f) => f.startsWith('dist/'))
    .filter((f) => !(bundles && /^dist\/_chunk-[A-Z0-9]+\.js$/.test(f)))
    .filter((f) => {
      const base = (bundles ? bundled[f] : undefined) ?? f.slice('dist/'.length).replace(/\.(d\.ts\.map|d\.ts|js\.map|js)$/, '');
      try {
        statSync(join(p.dir, 'src', `${base}.ts`));
        return false;
      } catch {
        return true;
      }
    });
}
