// Build step after tsc (issue 16): the worker entry, the package index and the CLI (the master)
// as one esbuild bundle with shared chunks. A worker then loads a handful of files instead of ~60 (our
// modules, @baton/process-kit, consola), and a config's `import { defineConfig } from
// '@baton/resque-starter'` (dist/index.js) shares those chunks instead of loading a second copy.
// @baton/resque is bundled too (its ~40 ES modules cost a worker ~40 ms of CPU to load one by
// one); its `import.meta.url` (where it finds its Lua scripts) is rewritten to the installed
// package's own file, found at run time with import.meta.resolve. A config importing
// '@baton/resque' is pointed at dist/resque-lib.js, which shares that chunk (no second copy).
// ioredis is bundled too, and used only when the installed ioredis (the one `require('ioredis')`
// finds from here) is the version it was built from; else the installed one is required. One
// file instead of ~60 CommonJS modules: ~22 ms less CPU and ~6 MB less per process (node 20.20,
// `require` of each). A config that imports ioredis from that same installed path gets this
// same copy (dist/ioredis-lib.js; see config-cache.ts), so apps and workers still share one.
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
const require = createRequire(import.meta.url);
const ioredisEntry = require.resolve('ioredis');
const ioredisVersion = JSON.parse(await readFile(require.resolve('ioredis/package.json'), 'utf8')).version;
const ioredisNames = Object.keys(require('ioredis')).filter((n) => n !== 'default' && n !== '__esModule');

/** `import { Redis, Cluster } from 'ioredis'` in bundled code → the bundled copy (or the installed one, another version). */
const ioredisShim = {
  name: 'ioredis-shim',
  setup(b) {
    b.onResolve({ filter: /^ioredis$/ }, () => ({ path: 'ioredis', namespace: 'ioredis-shim' }));
    b.onLoad({ filter: /.*/, namespace: 'ioredis-shim' }, () => ({
      contents: [
        "import { readFileSync } from 'node:fs';",
        "import { createRequire } from 'node:module';",
        'const req = createRequire(import.meta.url);',
        'function installedVersion() {',
        '  try {',
        "    return JSON.parse(readFileSync(req.resolve('ioredis/package.json'), 'utf8')).version;",
        '  } catch {',
        '    return undefined;',
        '  }',
        '}',
        'function load() {',
        // A literal require: esbuild bundles it, evaluated only here.
        `  if (installedVersion() === ${JSON.stringify(ioredisVersion)}) return require(${JSON.stringify(ioredisEntry)});`,
        "  return req('ioredis');",
        '}',
        'const ioredis = load();',
        'export default ioredis;',
        `export const { ${ioredisNames.join(', ')} } = ioredis;`,
      ].join('\n'),
      loader: 'js',
      resolveDir: dist,
    }));
  },
};

/**
 * Two changes to ioredis's start-up cost in the bundled copy (issue 16), each a line replaced in a
 * file of ioredis's build; nothing a program can see changes. A file that no longer has the line
 * is bundled as is, with a warning.
 * - Commander.js puts ~580 command methods on `Commander.prototype`, one assignment each. V8 keeps
 *   a prototype in fast mode and copies its descriptors at every new property: ~13 ms of CPU in a
 *   worker's start (30–50 ms in a cold `node -e` loop), and the garbage of each copy. One property
 *   added and deleted first turns the prototype into a dictionary, where an addition is a hash
 *   insert (< 1 ms for all); V8 makes it fast again, once, when it is first used.
 * - The connectors require node's `tls` when they load (~4 ms of CPU) and use only its `connect`,
 *   for a TLS connection: it is required when that connection is made.
 */
const IOREDIS_PATCHES = [
  {
    file: /[\\/]ioredis[\\/]built[\\/]utils[\\/]Commander\.js$/,
    line: 'commands.forEach(function (commandName) {',
    before: '// bundle.mjs: the prototype in dictionary mode before ~580 methods are added (IOREDIS_PATCHES).\nCommander.prototype.__batonDictionary = 0;\ndelete Commander.prototype.__batonDictionary;\n',
  },
  {
    file: /[\\/]ioredis[\\/]built[\\/]connectors[\\/](StandaloneConnector|SentinelConnector[\\/]index)\.js$/,
    line: 'const tls_1 = require("tls");',
    instead: '// bundle.mjs: node:tls required when a TLS connection is made (IOREDIS_PATCHES).\nconst tls_1 = { get connect() { return require("tls").connect; } };',
  },
];
const ioredisPatches = {
  name: 'ioredis-patches',
  setup(b) {
    for (const patch of IOREDIS_PATCHES) {
      b.onLoad({ filter: patch.file }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!source.includes(patch.line)) {
          console.warn(`bundle: ${args.path} has no \`${patch.line}\`: bundled as it is`);
          return undefined;
        }
        return { contents: source.replace(patch.line, patch.instead ?? patch.before + patch.line), loader: 'js' };
      });
    }
  },
};

const result = await build({
  // ioredis-lib: the ioredis copy above, for configs (config-cache.ts aliases the installed ioredis to it).
  // cli: its first module (cli-entry.js) starts a rolling restart's first spare, then imports the CLI (a chunk).
  entryPoints: { worker: `${dist}worker-main.js`, index: `${dist}index.js`, cli: `${dist}cli-entry.js`, 'resque-lib': resqueEntry, 'ioredis-lib': `${dist}ioredis-lib.js` },
  outdir: dist,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // In dist/ itself: bundled code that resolves files next to it (new URL('./index.js', import.meta.url)) finds them.
  // (the CLI, imported by its first module, is one too: every chunk is `_chunk-<hash>.js`.)
  chunkNames: '_chunk-[hash]',
  // prom-client (CommonJS, requires node built-ins) is imported as it is installed, only by a master that serves metrics.
  external: ['jiti', 'esbuild', 'prom-client'],
  plugins: [pinResqueFiles, ioredisShim, ioredisPatches],
  // The bundled CommonJS code (ioredis) requires builtins: a real require in every ES module file.
  banner: { js: "import { createRequire as __bundleCreateRequire } from 'node:module';\nconst require = __bundleCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  metafile: true,
});
// Chunks of an earlier build (a dist restored from a cache over an older one) are not shipped.
const made = new Set(Object.keys(result.metafile.outputs).map((f) => basename(f)));
for (const f of readdirSync(dist)) if (f.startsWith('_chunk-') && !made.has(f)) rmSync(`${dist}${f}`);
