import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, spawnNode } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pollUntil, waitForPidExit } from './helpers/wait.js';
import { useLogAudit } from './helpers/log-audit.js';
import { liveWorkers, rsSuite, type RsEnv } from './fixtures/rs-harness.js';

// Issue 16: the master compiles conf.ts and the local modules it imports into one cached
// JavaScript file; workers import that file and never start jiti. The cache is keyed by the
// compiled text, so the next generation must see a change to conf.ts or to a module it imports.

const suite = rsSuite();
const audit = useLogAudit();

/** Every worker appends "pid|marker|tag|compiled entry" to markers.log in its afterFork. */
function setup(): RsEnv {
  return suite.setup({
    concurrency: 2,
    prelude: `import { marker } from './marker.ts';\nconst TAG = 'tag-1';`,
    extra: `afterFork(worker) {
    appendFileSync(${JSON.stringify('MARKERS')}, [process.pid, marker, TAG, process.env.RESQUE_STARTER_COMPILED_CONFIG ?? ''].join('|') + '\\n');
    worker.retireOldWorker();
  },`,
  });
}

interface Mark {
  pid: number;
  marker: string;
  tag: string;
  compiled: string;
}

function marks(e: RsEnv): Mark[] {
  let text = '';
  try {
    text = readFileSync(join(e.dir, 'markers.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pid, marker, tag, compiled] = l.split('|');
      return { pid: Number(pid), marker: marker!, tag: tag!, compiled: compiled! };
    });
}

/** Marks of the live workers once exactly `n` are alive, none of them in `older`, and all of them wrote one. */
async function liveMarks(e: RsEnv, n: number, what: string, older: Mark[] = []): Promise<Mark[]> {
  return await pollUntil(
    () => {
      const live = liveWorkers(e.ns);
      const m = marks(e).filter((x) => live.includes(x.pid));
      return live.length === n && m.length === n && !m.some((x) => older.some((o) => o.pid === x.pid)) ? m : undefined;
    },
    { what, timeoutMs: slow(20_000) },
  );
}

describe('compiled-config cache (issue 16)', { timeout: slow(60_000) }, () => {
  it('workers import the compiled config; a changed imported module, then a changed conf.ts, reach the next generation', async () => {
    const e = setup();
    writeFileSync(e.conf, readFileSync(e.conf, 'utf8').replace('"MARKERS"', JSON.stringify(join(e.dir, 'markers.log'))));
    writeFileSync(join(e.dir, 'marker.ts'), `export const marker: string = 'one';\n`);
    const args = [`--pid-file=${join(e.dir, 'ss.pid')}`, '--signal-on-hup=CONT', '--interval=0.3', '--', process.execPath, BIN.resqueStarter, '-c', e.conf];
    const ss = audit.current.watch(spawnNode(BIN.startServer, args, { label: 'start-server', env: e.env() }));

    const gen1 = await liveMarks(e, 2, 'generation 1 workers');
    expect(gen1.map((m) => [m.marker, m.tag])).toEqual([
      ['one', 'tag-1'],
      ['one', 'tag-1'],
    ]);
    const entry1 = gen1[0]!.compiled;
    // Both workers imported the same cache entry, in the runtime directory's private cache.
    expect(gen1[1]!.compiled).toBe(entry1);
    expect(entry1).toMatch(/\/config-cache\/[0-9a-f]{40}\.mjs$/);
    expect(dirname(entry1)).toBe(join(e.runtimeDir, 'config-cache'));
    expect(lstatSync(dirname(entry1)).mode & 0o777).toBe(0o700);
    expect(readFileSync(entry1, 'utf8')).toMatch(/["']one["']/);
    expect(ss.output).toMatch(/config compiled for the workers: \S+config-cache\/[0-9a-f]{40}\.mjs/);
    expect(ss.output).not.toMatch(/not compiled/);

    // A module conf.ts imports changes: a new entry, and the new generation runs it.
    writeFileSync(join(e.dir, 'marker.ts'), `export const marker: string = 'two';\n`);
    process.kill(ss.pid, 'SIGHUP');
    const gen2 = await liveMarks(e, 2, 'generation 2 workers', gen1);
    expect(gen2.map((m) => m.marker)).toEqual(['two', 'two']);
    expect(gen2.every((m) => m.compiled !== entry1 && m.compiled === gen2[0]!.compiled)).toBe(true);
    expect(gen2.some((m) => gen1.some((o) => o.pid === m.pid))).toBe(false);

    // conf.ts itself changes.
    writeFileSync(e.conf, readFileSync(e.conf, 'utf8').replace("const TAG = 'tag-1';", "const TAG = 'tag-2';"));
    process.kill(ss.pid, 'SIGHUP');
    const gen3 = await liveMarks(e, 2, 'generation 3 workers', gen2);
    expect(gen3.map((m) => [m.marker, m.tag])).toEqual([
      ['two', 'tag-2'],
      ['two', 'tag-2'],
    ]);
    expect(gen3[0]!.compiled).not.toBe(gen2[0]!.compiled);

    // Unchanged files, one more HUP: the same entry again (content-addressed), still fresh workers.
    process.kill(ss.pid, 'SIGHUP');
    const gen4 = await liveMarks(e, 2, 'generation 4 workers', gen3);
    expect(gen4.map((m) => m.compiled)).toEqual([gen3[0]!.compiled, gen3[0]!.compiled]);
    expect(gen4.some((m) => gen3.some((o) => o.pid === m.pid))).toBe(false);

    const master = Number(readFileSync(e.pidFile, 'utf8'));
    process.kill(ss.pid, 'SIGTERM');
    await ss.waitForExit({ timeoutMs: slow(15_000) });
    await waitForPidExit(master, { timeoutMs: slow(10_000) });
  });

  it('RESQUE_STARTER_CONFIG_CACHE=0: no compiling, workers load conf.ts through jiti', async () => {
    const e = setup();
    writeFileSync(e.conf, readFileSync(e.conf, 'utf8').replace('"MARKERS"', JSON.stringify(join(e.dir, 'markers.log'))));
    writeFileSync(join(e.dir, 'marker.ts'), `export const marker: string = 'plain';\n`);
    const m = e.master([], { env: { RESQUE_STARTER_CONFIG_CACHE: '0' } });
    audit.current.watch(m);
    const live = await liveMarks(e, 2, 'workers');
    expect(live.map((x) => [x.marker, x.compiled])).toEqual([
      ['plain', ''],
      ['plain', ''],
    ]);
    expect(m.output).toMatch(/config not compiled \(workers load it with jiti\): RESQUE_STARTER_CONFIG_CACHE=0/);
    process.kill(m.pid, 'SIGTERM');
    await m.waitForExit({ timeoutMs: slow(15_000) });
  });
});
