import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { terminate } from '../packages/process-kit/src/terminate.js';
import { currentTestMark, MARK_VAR } from './helpers/procs.js';

// terminate() against real processes: listen first, signal, escalate at the deadline.
function child(script: string) {
  const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, [MARK_VAR]: currentTestMark() } });
  const ready = new Promise<void>((resolve) => c.stdout.once('data', () => resolve()));
  return { c, ready };
}

describe('terminate', () => {
  it('returns the exit of a child that obeys the signal, not forced', async () => {
    const { c, ready } = child("process.on('SIGTERM', () => process.exit(7)); console.log('ready'); setInterval(() => {}, 1000)");
    await ready;
    expect(await terminate(c, 'SIGTERM', { forceAfterMs: 5000 })).toEqual({ code: 7, signal: null, forced: false });
  });

  it('escalates to SIGKILL after the deadline for a child that ignores TERM', async () => {
    const { c, ready } = child("process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)");
    await ready;
    let warned = false;
    const r = await terminate(c, 'SIGTERM', { forceAfterMs: 200, onForce: () => (warned = true) });
    expect(r).toEqual({ code: null, signal: 'SIGKILL', forced: true });
    expect(warned).toBe(true);
  });

  it('wakes a stopped child with SIGCONT so it can act on TERM', async () => {
    const { c, ready } = child("process.on('SIGTERM', () => process.exit(0)); console.log('ready'); setInterval(() => {}, 1000)");
    await ready;
    process.kill(c.pid!, 'SIGSTOP');
    expect(await terminate(c, 'SIGTERM', { forceAfterMs: 5000 })).toEqual({ code: 0, signal: null, forced: false });
  });
});
