import { readdirSync, readFileSync } from 'node:fs';

// Linux /proc readers. Synchronous on purpose: readFileSync on /proc is ~10x faster than the
// async path for many small files (node-mechanics §7), and none of them blocks.

/** Private memory of a process in kB (`RssAnon` in /proc/PID/status), or undefined if gone. */
export function readRssAnonKb(pid: number | 'self'): number | undefined {
  try {
    const m = /^RssAnon:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Parent pid, process group, start time (clock ticks after boot) and state letter from /proc/PID/stat. */
export function readStat(pid: number): { ppid: number; pgrp: number; start: number; state: string; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    return { state: rest[0] ?? '?', ppid: Number(rest[1]), pgrp: Number(rest[2]), start: Number(rest[19]), comm };
  } catch {
    return undefined;
  }
}

/** One variable of another process's environment (same user or root), or undefined. */
export function readEnvVar(pid: number, name: string): string | undefined {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    const prefix = `${name}=`;
    for (const kv of env.split('\0')) if (kv.startsWith(prefix)) return kv.slice(prefix.length);
  } catch {
    // gone or not ours
  }
  return undefined;
}

/** True while the pid exists and is not a zombie. */
export function isLiveProcess(pid: number): boolean {
  const st = readStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** Live processes matching a predicate on (pid, stat). */
export function listProcesses(pred: (pid: number, stat: { ppid: number; pgrp: number; start: number; state: string; comm: string }) => boolean): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    const pid = Number(e);
    const st = readStat(pid);
    if (!st || st.state === 'Z' || st.state === 'X') continue;
    if (pred(pid, st)) out.push(pid);
  }
  return out;
}

/**
 * Why: when an old master cannot tell us its worker count (no control socket, or it died and
 * its workers are finishing as orphans), count the processes started for it: workers carry
 * RESQUE_STARTER_MASTER_PID in their environment, which no title change can hide.
 */
export function countWorkersOf(masterPid: number, envName: string): number {
  const want = String(masterPid);
  return listProcesses((pid, st) => {
    if (!/^(node|resque-starte)/.test(st.comm)) return false;
    return readEnvVar(pid, envName) === want;
  }).length;
}

/** A process and its start time: the pair names it even after its pid is reused. */
export interface ProcessRef {
  pid: number;
  start: number;
}

/** Live members of a process group (what a dead worker's jobs left behind). */
export function groupMembers(pgid: number): ProcessRef[] {
  const out: ProcessRef[] = [];
  for (const pid of listProcesses((_pid, st) => st.pgrp === pgid)) {
    const st = readStat(pid);
    if (st) out.push({ pid, start: st.start });
  }
  return out;
}

/** Those of `refs` still alive as the same process (same start time). */
export function stillRunning(refs: readonly ProcessRef[]): ProcessRef[] {
  return refs.filter((r) => {
    const st = readStat(r.pid);
    return st !== undefined && st.start === r.start && st.state !== 'Z' && st.state !== 'X';
  });
}
