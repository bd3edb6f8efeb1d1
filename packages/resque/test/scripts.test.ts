import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleScript } from '../src/scripts.js';

const LUA = new URL('../src/lua/', import.meta.url);
const read = (path: string) => readFileSync(new URL(`${path}.lua`, LUA), 'utf8');

describe('Lua includes (--- @include "<name>")', () => {
  it('splices each fragment in place of its line', () => {
    const fragments: Record<string, string> = { a: 'local function a() return 1 end\n', b: 'local function b() return 2 end' };
    const source = '--[[ header ]]\n--- @include "a"\n--- @include "b"\nreturn a() + b()\n';
    expect(assembleScript('x-1.lua', source, (n) => fragments[n]!)).toBe(
      '--[[ header ]]\nlocal function a() return 1 end\nlocal function b() return 2 end\nreturn a() + b()\n',
    );
  });

  it.each([
    ['a missing fragment', '--- @include "nope"\n', /x-1\.lua: --- @include "nope": no such fragment \(lua\/include\/nope\.lua\)/],
    ['an include line of another form', '--- @include nope\nreturn 1\n', /x-1\.lua: unrecognised include line `--- @include nope`/],
    ['a fragment that includes another', '--- @include "nested"\n', /fragments cannot include others/],
  ])('fails loudly on %s', (_, source, error) => {
    const fragments: Record<string, string> = { nested: '--- @include "a"\n' };
    const readFragment = (n: string) => {
      const f = fragments[n];
      if (f === undefined) throw new Error(`ENOENT ${n}`);
      return f;
    };
    expect(() => assembleScript('x-1.lua', source, readFragment)).toThrow(error);
  });

  it('every shipped script assembles: its contract header first, each fragment once, no include line left', () => {
    const scripts = readdirSync(LUA).filter((f) => f.endsWith('.lua'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const file of scripts) {
      const source = read(file.slice(0, -4));
      const lua = assembleScript(file, source, (n) => read(`include/${n}`));
      expect(lua.startsWith('--[[')).toBe(true);
      expect(lua).toMatch(/Output/);
      expect(lua).not.toMatch(/@include/);
      for (const [, name] of source.matchAll(/^--- @include "([^"]+)"$/gm)) {
        expect(lua.split(read(`include/${name}`).trimEnd()).length - 1).toBe(1);
      }
    }
  });

  it('the reserve and settle scripts share the delayed-push, acknowledgement, pause and working-record fragments', () => {
    for (const file of ['reserve-3', 'reserve-3n', 'settle-3']) {
      const includes = [...read(file).matchAll(/^--- @include "([^"]+)"$/gm)].map((m) => m[1]);
      expect(includes, file).toEqual(['delayed', 'ack', 'paused-all', 'working-record']);
      // The blocks live in the fragments only.
      expect(read(file), file).not.toMatch(/pause-all-workers'\)|stat:processed'|"run_at"/);
    }
  });
});
