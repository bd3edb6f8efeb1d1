/**
 * Why: queue priority must match Resque exactly: listed order; patterns (`* ? [ ] { }`)
 * expanded against the `queues` set on every poll, each to its matches sorted alphabetically;
 * `!pattern` excludes wherever it appears; duplicates dropped (resque-protocol.md §2).
 */
export function resolveQueues(list: readonly string[], known: readonly string[]): string[] {
  const excludes = list.filter((q) => q.startsWith('!')).map((q) => q.slice(1));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const entry of list) {
    if (entry.startsWith('!')) continue;
    const names = isPattern(entry) ? known.filter((k) => fnmatch(entry, k)).sort() : [entry];
    for (const n of names) {
      if (seen.has(n) || excludes.some((x) => fnmatch(x, n))) continue;
      seen.add(n);
      out.push(n);
    }
  }
  return out;
}

/** True when the list must be re-expanded on every poll (Resque's "dynamic" list). */
export function isDynamic(list: readonly string[]): boolean {
  return list.some((q) => q.startsWith('!') || isPattern(q));
}

/** Ruby `File.fnmatch?(pattern, name)` with no flags: case-sensitive, `*` matches `/` but not a leading `.`, braces are literal. */
export function fnmatch(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  return globToRegExp(pattern).test(name);
}

// --- internal ---

function isPattern(q: string): boolean {
  return /[*?{}[\]]/.test(q);
}

const cache = new Map<string, RegExp>();

function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') src += '.*';
    else if (c === '?') src += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        src += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('!') || body.startsWith('^')) body = `^${body.slice(1)}`;
      src += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) {
      src += escape(pattern[++i]!);
    } else src += escape(c);
  }
  re = new RegExp(`^${src}$`, 's');
  cache.set(pattern, re);
  return re;
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
