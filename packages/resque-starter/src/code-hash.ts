import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';

/** Relative specifiers of static imports, re-exports, dynamic imports and requires. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"\n]+)\1/g;
const EXTENSIONS = ['', '.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json', '/index.ts', '/index.js', '/index.mjs'];

/**
 * Why: a reload must tell whether the code changed (every group's workers are replaced then)
 * when the config has no `version`. The config file's own text is not part of it (a group's
 * settings and inline handlers are compared by their own hash); the local modules it imports
 * are: every relative import, followed through the files it reaches, read and hashed. Packages
 * (bare specifiers) are not followed: set `version` to cover a dependency upgrade. At most
 * `limit` files are read.
 */
export function localModulesHash(configPath: string, source: string, limit = 500): string {
  const hash = createHash('sha1');
  const seen = new Set<string>([configPath]);
  const queue = specifiers(configPath, source);
  while (queue.length > 0 && seen.size <= limit) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    hash.update(`${file}\0${text}\0`);
    if (!file.endsWith('.json')) queue.push(...specifiers(file, text));
  }
  return seen.size > 1 ? hash.digest('hex').slice(0, 16) : '';
}

function specifiers(from: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const file = resolveLocal(resolvePath(dirname(from), m[2]!));
    if (file && !file.includes('/node_modules/')) out.push(file);
  }
  return out;
}

/** The file a relative specifier names, as TypeScript resolves it (`./jobs.js` may be `./jobs.ts`). */
function resolveLocal(base: string): string | undefined {
  const stem = base.replace(/\.(?:js|mjs|cjs)$/, '');
  for (const candidate of [...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.slice(1).map((e) => stem + e)]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}
