import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Why: a module graph with cycles is read in no order (issue 12: `messages.ts` and `state.ts`
// imported each other). Every import counts, `import type` too: a type cycle is still two files
// a reader cannot understand one without the other.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packagesDir = join(root, 'packages');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of a file, resolved to source files (`./x.js` → `./x.ts` or `./x/index.ts`). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const out: string[] = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const base = resolve(dirname(file), ref.fileName).replace(/\.js$/, '');
    for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
      try {
        if (statSync(candidate).isFile()) {
          out.push(candidate);
          break;
        }
      } catch {
        // not this one
      }
    }
  }
  return out;
}

/** Every cycle found by a depth-first walk, each as the list of files that form it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const packages = readdirSync(packagesDir).filter((p) => statSync(join(packagesDir, p, 'src')).isDirectory());

describe('module graph', () => {
  it.each(packages)('packages/%s/src has no import cycle', (pkg) => {
    const graph = new Map<string, string[]>();
    for (const file of sourceFiles(join(packagesDir, pkg, 'src'))) graph.set(file, importsOf(file));
    const cycles = findCycles(graph).map((c) => c.map((f) => relative(root, f)).join(' → '));
    expect(cycles).toEqual([]);
  });

  it('the packages depend on each other without a cycle', () => {
    const graph = new Map<string, string[]>();
    for (const pkg of packages) {
      const json = JSON.parse(readFileSync(join(packagesDir, pkg, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> };
      graph.set(json.name, Object.keys(json.dependencies ?? {}).filter((d) => d.startsWith('@baton/')));
    }
    expect(findCycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one (the check can fail)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
  });
});
