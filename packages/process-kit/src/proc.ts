import { readdirSync, readFileSync } from 'node:fs';

// Linux /proc readers. Synchronous on purpose: readFileSync on /proc is ~10x faster than the
// async path for many small files (node-mechanics §7), and none of them blocks.

/** What /proc/PID/stat tells a supervisor about a process. */
export interface ProcStat {
  ppid: number;
  pgrp: number;
  /** Start time in clock ticks after boot: with the pid, it names the process even after pid reuse. */
  start: number;
  /** State letter: `R`, `S`, `T`, `Z` (zombie), `X` (dead), … */
  state: string;
  /** The executable's name as the kernel keeps it (15 characters at most). */
  comm: string;
}

/** A process and its start time: the pair names it even after its pid is reused. */
export interface ProcessRef {
  pid: number;
  start: number;
}

/** Private memory of a process in kB (`RssAnon` in /proc/PID/status), or undefined if gone. */
export function readRssAnonKb(pid: number | 'self'): number | undefined {
  try {
    const m = /^RssAnon:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of this process so far, in whole ms: a start-up's cost without the noise of a busy host. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return Math.round((u.user + u.system) / 1000);
}

/** Parent pid, process group, start time and state letter from /proc/PID/stat, or undefined if gone. */
export function readStat(pid: number): ProcStat | undefined {
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

/** Why: a pid file or a status file names a pid; whether it is one of ours is in its command line (NULs as spaces, '' when unreadable). */
export function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** True while the pid exists and is not a zombie. */
export function isLiveProcess(pid: number): boolean {
  const st = readStat(pid);
  return st !== undefined && isLive(st);
}

/** Why: finding old masters and a dead worker's job processes means scanning /proc; zombies never count. */
export function listProcesses(pred: (pid: number, stat: ProcStat) => boolean): number[] {
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
    if (st && isLive(st) && pred(pid, st)) out.push(pid);
  }
  return out;
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
    return st !== undefined && st.start === r.start && isLive(st);
  });
}

// --- internal ---

/** The one zombie/dead check: `Z` has exited and waits to be reaped, `X` is being torn down. */
function isLive(st: ProcStat): boolean {
  return st.state !== 'Z' && st.state !== 'X';
}
