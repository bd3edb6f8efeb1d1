// Build step after tsc (issue 16): the worker entry, the package index and the CLI (the master)
// as one esbuild bundle with shared chunks. A worker then loads a handful of files instead of ~60 (our
// modules, @baton/process-kit, consola), and a config's `import { defineConfig } from
// '@baton/resque-starter'` (dist/index.js) shares those chunks instead of loading a second copy.
// @baton/resque is bundled too (its ~40 ES modules cost a worker ~40 ms of CPU to load one by
// one); its `import.meta.url` (where it finds its Lua scripts) is rewritten to the installed
// package's own file, found at run time with import.meta.resolve. A config importing
// '@baton/resque' is pointed at dist/resque-lib.js, which shares that chunk (no second copy).
// ioredis stays external: apps import it too, and one copy is loaded for both. It is loaded with
// require() (a CommonJS package): importing it as an ES module costs ~30 ms more CPU per process
// (the ESM loader parses its files for export names), and an app's later `import 'ioredis'`
// then finds it in require's cache (measured: ~100 ms vs ~125 ms process CPU, Node 20).
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const resqueEntry = createRequire(import.meta.url).resolve('@baton/resque');
const resqueDist = dirname(resqueEntry);

/** In @baton/resque's files: import.meta.url → that file's URL in the installed package, at run time. */
const pinResqueFiles = {
  name: 'pin-resque-import-meta',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(`${resqueDist}/`)) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const rel = `./${relative(resqueDist, args.path)}`;
      const url = `new URL(${JSON.stringify(rel)}, import.meta.resolve('@baton/resque')).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'js' };
    });
  },
};
/** `import { Redis, Cluster } from 'ioredis'` in bundled code → the same exports through require(). */
const requireIoredis = {
  name: 'require-ioredis',
  setup(b) {
    b.onResolve({ filter: /^ioredis$/ }, () => ({ path: 'ioredis', namespace: 'ioredis-cjs' }));
    b.onLoad({ filter: /.*/, namespace: 'ioredis-cjs' }, () => ({
      contents: [
        "import { createRequire } from 'node:module';",
        "const ioredis = createRequire(import.meta.url)('ioredis');",
        'export default ioredis;',
        'export const { Redis, Cluster, Command, Pipeline, ReplyError, ScanStream, AbstractConnector, SentinelConnector, SentinelIterator } = ioredis;',
      ].join('\n'),
      loader: 'js',
      resolveDir: dist,
    }));
  },
};

const result = await build({
  entryPoints: { worker: `${dist}worker-main.js`, index: `${dist}index.js`, cli: `${dist}cli.js`, 'resque-lib': resqueEntry },
  outdir: dist,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // In dist/ itself: bundled code that resolves files next to it (new URL('./index.js', import.meta.url)) finds them.
  chunkNames: '_[name]-[hash]',
  // prom-client (CommonJS, requires node built-ins) is imported as it is installed, only by a master that serves metrics.
  external: ['ioredis', 'jiti', 'esbuild', 'prom-client'],
  plugins: [pinResqueFiles, requireIoredis],
  logLevel: 'warning',
  metafile: true,
});
// Chunks of an earlier build (a dist restored from a cache over an older one) are not shipped.
const made = new Set(Object.keys(result.metafile.outputs).map((f) => basename(f)));
for (const f of readdirSync(dist)) if (f.startsWith('_chunk-') && !made.has(f)) rmSync(`${dist}${f}`);
