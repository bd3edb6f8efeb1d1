import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Why: daemontools-style env dirs are re-read for every generation, so a deploy can change a
 * variable without restarting start-server. Each non-dot file is `NAME=<first line>`.
 * Unlike Server::Starter, a removed file really removes the variable it set.
 */
export function readEnvdir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    try {
      const text = readFileSync(join(dir, name), 'utf8');
      out[name] = (text.split('\n')[0] ?? '').replace(/\r$/, '');
    } catch {
      // a directory or an unreadable file: skip it, as envdir(8) would fail on it
    }
  }
  return out;
}
