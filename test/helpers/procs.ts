import { readdirSync, readFileSync } from 'node:fs';

/** Environment variable that marks every process a test starts (inherited by their children). */
export const MARK_VAR = 'BATON_TEST_MARK';
/** Marks long-lived infrastructure a suite starts (its private redis-server). */
export const INFRA_VAR = 'BATON_TEST_INFRA';

/** The run id set by global-setup; every mark starts with it. */
export function runId(): string {
  return process.env.BATON_TEST_RUN ?? 'norun';
}

let currentMark = `${runId()}:outside-test`;
export function setCurrentMark(mark: string): void {
  currentMark = mark;
}
export function currentTestMark(): string {
  return currentMark;
}

export interface MarkedProcess {
  pid: number;
  mark: string;
  cmdline: string;
}

/** Live (non-zombie) processes whose environment holds `name=<value starting with prefix>`. */
export function findMarkedProcesses(name: string, prefix: string): MarkedProcess[] {
  const found: MarkedProcess[] = [];
  const needle = `${name}=${prefix}`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
      const hit = env.split('\0').find((kv) => kv.startsWith(needle));
      if (!hit) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      found.push({ pid, mark: hit.slice(name.length + 1), cmdline });
    } catch {
      // gone or not readable
    }
  }
  return found;
}

export function killAll(procs: MarkedProcess[]): void {
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
