import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { createJiti } from 'jiti';
import { resolveConfig, type ResolvedConfig } from './config.js';
import { runtimeDir } from './control.js';
import { ConfigError } from './errors.js';

export interface LoadedConfig {
  config: ResolvedConfig;
  /** Milliseconds spent importing the file. */
  loadMs: number;
}

/**
 * Why: the only I/O of config handling. Imports `conf.ts` (or .js/.mjs) at run time with jiti,
 * fresh on every call (HUP reloads it), and turns every failure into a ConfigError that names
 * `file:line`.
 */
export async function loadConfigFile(file: string, env: Readonly<Record<string, string | undefined>> = {}): Promise<LoadedConfig> {
  const path = resolvePath(file);
  if (!existsSync(path)) throw new ConfigError('config file not found', path);
  let source = '';
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the config file: ${(err as Error).message}`, path, path, { cause: err });
  }
  const started = performance.now();
  let raw: unknown;
  try {
    raw = await configLoader(env).import(path, { default: true });
  } catch (err) {
    throw toConfigError(err, path, source);
  }
  const config = resolveConfig(raw, { path, env, source });
  return { config, loadMs: performance.now() - started };
}

// --- internal ---

let jiti: ReturnType<typeof createJiti> | undefined;

function configLoader(env: Readonly<Record<string, string | undefined>>): ReturnType<typeof createJiti> {
  if (jiti) return jiti;
  // Config files anywhere on disk may import our package (or @baton/resque) without having it
  // installed next to them.
  const self = fileURLToPath(new URL('./index.js', import.meta.url));
  const alias: Record<string, string> = { '@baton/resque-starter': self, 'resque-starter': self };
  try {
    alias['@baton/resque'] = createRequire(import.meta.url).resolve('@baton/resque');
  } catch {
    try {
      alias['@baton/resque'] = fileURLToPath(import.meta.resolve('@baton/resque'));
    } catch {
      // not installed: configs that import it will say so
    }
  }
  // jiti's CommonJS entry: importing its ESM entry makes node scan the 190 kB jiti.cjs bundle
  // for named exports (cjs-module-lexer), ~20 ms of every worker's start-up.
  const create = createRequire(import.meta.url)('jiti') as typeof createJiti;
  jiti = create(import.meta.url, { moduleCache: false, interopDefault: true, alias, fsCache: transpileCacheDir(env) });
  return jiti;
}

/**
 * jiti's transpile cache (keyed by path and source hash): the master transpiles conf.ts and
 * what it imports once, each worker then only reads the result (~100 ms less per worker start
 * than running babel). Kept in our private runtime directory (mode 0700, owned by us) rather
 * than jiti's default `<tmp>/jiti`, which any local user could have created and filled first.
 */
function transpileCacheDir(env: Readonly<Record<string, string | undefined>>): string | false {
  const root = runtimeDir(env);
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const st = statSync(root);
    if (process.getuid && st.uid !== process.getuid()) return false;
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

function lineOf(source: string, pred: (line: string) => boolean): number | undefined {
  const i = source.split('\n').findIndex(pred);
  return i >= 0 ? i + 1 : undefined;
}
