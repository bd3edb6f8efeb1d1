import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { groupMembers, isLiveProcess, listProcesses, readCmdline, readEnvVar, readRssAnonKb, readStat, stillRunning } from '../src/proc.js';

describe('/proc helpers', () => {
  it('read our own process', () => {
    const st = readStat(process.pid)!;
    expect(st.ppid).toBe(process.ppid);
    expect(st.pgrp).toBeGreaterThan(0);
    expect(st.start).toBeGreaterThan(0);
    expect(isLiveProcess(process.pid)).toBe(true);
    expect(readRssAnonKb('self')).toBeGreaterThan(0);
    expect(readCmdline(process.pid)).toContain('node');
    expect(readEnvVar(process.pid, 'PATH')).toBe(process.env.PATH);
    expect(listProcesses((pid) => pid === process.pid)).toEqual([process.pid]);
    expect(groupMembers(st.pgrp).map((r) => r.pid)).toContain(process.pid);
    expect(stillRunning([{ pid: process.pid, start: st.start }, { pid: process.pid, start: st.start + 1 }])).toEqual([{ pid: process.pid, start: st.start }]);
  });

  it('a zombie is not live: not listed, not still running', async () => {
    // The background `sleep` becomes a child of the exec'd `sleep`, which never reaps it: killed
    // once the exec is done, it stays a zombie until its parent ends.
    const sh = spawn('sh', ['-c', 'sleep 30 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(sh.stdout, 'data')) as [Buffer];
      const pid = Number(line.toString().trim());
      await pollUntil(() => readStat(sh.pid!)?.comm === 'sleep');
      process.kill(pid, 'SIGKILL');
      await pollUntil(() => readStat(pid)?.state === 'Z');
      const st = readStat(pid)!;
      expect(isLiveProcess(pid)).toBe(false);
      expect(listProcesses((p) => p === pid)).toEqual([]);
      expect(groupMembers(st.pgrp).map((r) => r.pid)).not.toContain(pid);
      expect(stillRunning([{ pid, start: st.start }])).toEqual([]);
    } finally {
      sh.kill('SIGKILL');
    }
  }, 30_000);

  it('answers undefined or empty for a pid that does not exist', () => {
    const gone = 2 ** 22 + 1;
    expect(readStat(gone)).toBeUndefined();
    expect(readRssAnonKb(gone)).toBeUndefined();
    expect(readEnvVar(gone, 'PATH')).toBeUndefined();
    expect(readCmdline(gone)).toBe('');
    expect(isLiveProcess(gone)).toBe(false);
  });
});

/** Polls a condition against a deadline (a busy machine is slow, never wrong). */
async function pollUntil(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await delay(5);
  }
}
