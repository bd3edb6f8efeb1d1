import { join } from 'node:path';
import { slow } from './slowness.js';
import { ROOT, spawnTracked, type Spawned } from './spawn.js';

/** What the reader prints per datagram: the sender's pid (SCM_CREDENTIALS) and the KEY=VALUE fields. */
export interface Notification {
  pid: number;
  fields: Record<string, string>;
}

export interface NotifySocket {
  path: string;
  reader: Spawned;
  /** Every datagram received so far, in order. */
  messages(): Notification[];
}

const READER = `${ROOT}test/fixtures/systemd-notify-reader.py`;

/**
 * Why: Node cannot read unix datagrams (nodejs/node#61933), so systemd's notify socket is played
 * by a python3 reader bound at `dir/notify.sock`; resolves once it listens.
 */
export async function notifySocket(dir: string): Promise<NotifySocket> {
  const path = join(dir, 'notify.sock');
  const reader = spawnTracked('python3', [READER, path], { label: 'notify-socket reader' });
  await reader.waitForLine(/^listening$/m, { timeoutMs: slow(5000) });
  const messages = () =>
    reader.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Notification);
  return { path, reader, messages };
}
