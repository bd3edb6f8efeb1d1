import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localModulesHash } from '../src/code-hash.js';
import { groupSpecs } from '../src/master/group-specs.js';
import { resolveConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'code-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('localModulesHash (what "the code changed" means on reload, issue 13)', () => {
  const conf = join(dir, 'conf.ts');
  mkdirSync(join(dir, 'jobs'), { recursive: true });
  const write = (file: string, text: string) => writeFileSync(join(dir, file), text);
  write('jobs/mail.ts', "import { helper } from './helper.js';\nexport const mail = () => helper();\n");
  write('jobs/helper.ts', 'export const helper = () => 1;\n');
  const source = "import { defineConfig } from '@baton/resque-starter';\nimport { mail } from './jobs/mail.js';\nexport default defineConfig({ jobs: { mail } });\n";

  it('follows relative imports (a .js specifier finds the .ts file) and changes with any module reached', () => {
    const a = localModulesHash(conf, source);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(localModulesHash(conf, `${source}\n// the config's own text is not part of it\n`)).toBe(a);
    write('jobs/helper.ts', 'export const helper = () => 2;\n');
    expect(localModulesHash(conf, source)).not.toBe(a);
  });

  it('no local import: empty; packages are not followed', () => {
    expect(localModulesHash(conf, "import { Redis } from 'ioredis';\nexport default {};\n")).toBe('');
  });

  it('a group hash: unchanged by its count, changed by its settings, by `version` and by the code hash', () => {
    const ctx = { path: conf, env: {} };
    const jobs = { A: () => 1 };
    const base = resolveConfig({ jobs, groups: { a: { queues: ['a'], concurrency: 1 }, b: { queues: ['b'] } } }, ctx);
    const [a, b] = groupSpecs(base);
    const scaled = groupSpecs(resolveConfig({ jobs, groups: { a: { queues: ['a'], concurrency: 5 }, b: { queues: ['b'] } } }, ctx));
    expect(scaled.map((g) => g.hash)).toEqual([a!.hash, b!.hash]);
    // Where the master's compile cache put the config is not a setting of any group.
    expect(groupSpecs({ ...base, compiled: '/tmp/cache/abc.mjs' }).map((g) => g.hash)).toEqual([a!.hash, b!.hash]);
    const changed = groupSpecs(resolveConfig({ jobs, groups: { a: { queues: ['a', 'x'], concurrency: 1 }, b: { queues: ['b'] } } }, ctx));
    expect(changed[0]!.hash).not.toBe(a!.hash);
    expect(changed[1]!.hash).toBe(b!.hash);
    const versioned = groupSpecs(resolveConfig({ jobs, version: 'v2', groups: { a: { queues: ['a'], concurrency: 1 }, b: { queues: ['b'] } } }, ctx));
    expect(versioned[1]!.hash).not.toBe(b!.hash);
    expect(groupSpecs(base, 'other code')[1]!.hash).not.toBe(b!.hash);
    const handler = groupSpecs(resolveConfig({ jobs: { A: () => 2 }, groups: { a: { queues: ['a'], concurrency: 1 }, b: { queues: ['b'] } } }, ctx));
    expect(handler[1]!.hash).not.toBe(b!.hash);
  });
});
