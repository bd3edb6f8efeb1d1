// Build step after tsc (issue 16): the worker entry, the package index and the CLI (the master)
// as one esbuild bundle with shared chunks. A worker then loads a handful of files instead of ~60 (our
// modules, @baton/process-kit, consola), and a config's `import { defineConfig } from
// '@baton/resque-starter'` (dist/index.js) shares those chunks instead of loading a second copy.
// ioredis and @baton/resque stay external: bundling them would give a second copy of each to
// any app that imports them too, and @baton/resque reads its Lua scripts relative to its files.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
await build({
  entryPoints: { worker: `${dist}worker-main.js`, index: `${dist}index.js`, cli: `${dist}cli.js` },
  outdir: dist,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // In dist/ itself: bundled code that resolves files next to it (new URL('./index.js', import.meta.url)) finds them.
  chunkNames: '_[name]-[hash]',
  external: ['@baton/resque', 'ioredis', 'jiti', 'esbuild'],
  logLevel: 'warning',
});
