import { readFileSync } from 'node:fs';
import { StartupError } from './errors.js';
import { messages } from './messages.js';

/**
 * Why: `user`/`group` drop the workers' privileges when the master runs as root. Node has no
 * getpwnam, so names are looked up in /etc/passwd and /etc/group. Undefined when nothing to do.
 */
export function resolveIds(
  user: string | number | undefined,
  group: string | number | undefined,
  warn: (message: string) => void,
  uid: number | undefined = process.getuid?.(),
): { uid?: number; gid?: number } | undefined {
  if (user === undefined && group === undefined) return undefined;
  if (uid !== 0) {
    warn(messages.privilegesIgnored());
    return undefined;
  }
  const out: { uid?: number; gid?: number } = {};
  if (user !== undefined) {
    const entry = lookup('/etc/passwd', user);
    if (!entry) throw new StartupError(`unknown user \`${user}\` (config field \`user\`)`);
    out.uid = Number(entry[2]);
    out.gid = Number(entry[3]);
  }
  if (user === undefined) {
    // Only the group changes: the workers keep uid 0, which is rarely what `group` was for.
    warn(messages.groupWithoutUser(group!));
  }
  if (group !== undefined) {
    const entry = lookup('/etc/group', group);
    if (!entry) throw new StartupError(`unknown group \`${group}\` (config field \`group\`)`);
    out.gid = Number(entry[2]);
  }
  return out;
}

function lookup(file: string, key: string | number): string[] | undefined {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // no such database
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3) continue;
    if (typeof key === 'number' ? Number(f[2]) === key : f[0] === key) return f;
  }
  // A bare numeric id not in the database is still usable.
  if (typeof key === 'number') return [String(key), 'x', String(key), String(key)];
  return undefined;
}
