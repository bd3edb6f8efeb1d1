import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openHandoff } from '../src/control.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('openHandoff', () => {
  // Under load the old master's first reply, a count push and its close can arrive together,
  // before the new master has registered its callbacks: none of them may be lost.
  it('a push and a close that arrive with the first reply reach callbacks registered afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'handoff-'));
    dirs.push(dir);
    const path = join(dir, 'master-1.sock');
    const server = createServer((conn) => {
      conn.once('data', () => conn.end(`${JSON.stringify({ ok: true, live: 2 })}\n${JSON.stringify({ event: 'workers', live: 1 })}\n`));
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const link = await openHandoff(path, { pid: 2, generation: 3 });
      expect(link.initialLive).toBe(2);
      const seen: number[] = [];
      link.onWorkers((live) => seen.push(live));
      expect(seen).toEqual([1]);
      // The close: a callback registered after it happened is still called (within a deadline).
      const deadline = Date.now() + 5000;
      let called = false;
      while (!called && Date.now() < deadline) {
        link.onClose(() => (called = true));
        if (!called) await new Promise((r) => setImmediate(r));
      }
      expect(called).toBe(true);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
