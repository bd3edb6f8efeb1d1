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
    // `true` becomes a child of `sleep` (after exec), which never reaps it: a zombie until sleep ends.
    const sh = spawn('sh', ['-c', 'true & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(sh.stdout, 'data')) as [Buffer];
      const pid = Number(line.toString().trim());
      const deadline = Date.now() + 5000;
      while (readStat(pid)?.state !== 'Z' && Date.now() < deadline) await delay(5); // poll a condition against a deadline
      const st = readStat(pid)!;
      expect(st.state).toBe('Z');
      expect(isLiveProcess(pid)).toBe(false);
      expect(listProcesses((p) => p === pid)).toEqual([]);
      expect(groupMembers(st.pgrp).map((r) => r.pid)).not.toContain(pid);
      expect(stillRunning([{ pid, start: st.start }])).toEqual([]);
    } finally {
      sh.kill('SIGKILL');
    }
  });

  it('answers undefined or empty for a pid that does not exist', () => {
    const gone = 2 ** 22 + 1;
    expect(readStat(gone)).toBeUndefined();
    expect(readRssAnonKb(gone)).toBeUndefined();
    expect(readEnvVar(gone, 'PATH')).toBeUndefined();
    expect(readCmdline(gone)).toBe('');
    expect(isLiveProcess(gone)).toBe(false);
  });
});

