import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { listProcesses, readEnvVar } from '@baton/process-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultStopTimeoutMs, killAfterMs, stopMaster } from '../src/commands/stop.js';

// stopMaster against real processes that stand in for a master: one that exits on QUIT, one
// that ignores QUIT but exits on TERM, one that ignores both (and has a "worker" child).
const children: ChildProcess[] = [];
const workers: number[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const w of workers.splice(0)) if (!isGone(w)) process.kill(w, 'SIGKILL');
});

async function standIn(ignore: string[], env: NodeJS.ProcessEnv = {}, script = ''): Promise<ChildProcess> {
  const code = `${ignore.map((s) => `process.on('${s}', () => {});`).join('')}${script}process.stdout.write('ready\\n');setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  children.push(child);
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(chunk.toString()).toContain('ready');
  return child;
}

describe('stopMaster', () => {
  it('QUIT is enough for a master that stops: one line, no escalation', async () => {
    const m = await standIn([]);
    const said: string[] = [];
    await expect(stopMaster({ pid: m.pid!, timeoutMs: 10_000, killAfterMs: 10_000, say: (l) => said.push(l) })).resolves.toBe('QUIT');
    expect(said).toEqual([`sent QUIT to master ${m.pid}; waiting up to 10 s for its jobs to finish and it to exit`]);
  });

  it('TERM after the timeout for a master that ignores QUIT', async () => {
    const m = await standIn(['SIGQUIT']);
    const said: string[] = [];
    await expect(stopMaster({ pid: m.pid!, timeoutMs: 200, killAfterMs: 10_000, say: (l) => said.push(l) })).resolves.toBe('TERM');
    expect(said).toEqual([
      `sent QUIT to master ${m.pid}; waiting up to 0.2 s for its jobs to finish and it to exit`,
      `master ${m.pid} still running after 0.2 s: sent TERM (running jobs go back to their queues); waiting up to 10 s`,
    ]);
  });

  it('KILL to the master and its workers when it ignores QUIT and TERM', async () => {
    // Its "worker" names it in RESQUE_STARTER_MASTER_PID, as the master's workers do.
    const m = await standIn(['SIGQUIT', 'SIGTERM'], {}, `require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', detached: true, env: { ...process.env, RESQUE_STARTER_MASTER_PID: String(process.pid) } }).unref();`);
    const said: string[] = [];
    const worker = await waitForWorker(m.pid!);
    workers.push(worker);
    await expect(stopMaster({ pid: m.pid!, timeoutMs: 100, killAfterMs: 100, say: (l) => said.push(l) })).resolves.toBe('KILL');
    expect(said[2]).toBe(`master ${m.pid} still running after TERM and 0.1 s: sent KILL to it and to its workers (${worker})`);
    expect(isGone(worker)).toBe(true);
  });

  it('refuses a master under start-server (it would be started again), sending nothing', async () => {
    const m = await standIn([], { SERVER_STARTER_GENERATION: '3' });
    await expect(stopMaster({ pid: m.pid!, timeoutMs: 100, killAfterMs: 100, say: () => undefined })).rejects.toThrow(
      new RegExp(`^master ${m.pid} runs under start-server \\(pid ${process.pid}\\), which would start it again: stop start-server instead`),
    );
    expect(m.exitCode).toBe(null);
    expect(m.signalCode).toBe(null);
  });

  it.each([
    [{ stopTimeoutMs: 10_000, termTimeoutMs: 2_000 }, 22_000, 12_000],
    [undefined, 74_000, 14_000],
    [{ stopTimeoutMs: Infinity, termTimeoutMs: 4_000 }, Infinity, 14_000],
  ])('default timeouts for %o: %d ms after QUIT, %d ms after TERM', (config, afterQuit, afterTerm) => {
    expect(defaultStopTimeoutMs(config)).toBe(afterQuit);
    expect(killAfterMs(config)).toBe(afterTerm);
  });
});

function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /\) [ZX] /.test(stat);
  } catch {
    return true;
  }
}

async function waitForWorker(master: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = listProcesses((p) => readEnvVar(p, 'RESQUE_STARTER_MASTER_PID') === String(master));
    if (found.length > 0) return found[0]!;
    if (Date.now() > deadline) throw new Error('no worker');
    await delay(20);
  }
}
