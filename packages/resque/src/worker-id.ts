/** A parsed Resque worker id `host:pid:queue1,queue2`. */
export interface WorkerId {
  host: string;
  pid: string;
  queues: string[];
}

/**
 * Why: Ruby parses ids with `split(':', 3)` and breaks on fewer than three segments; the queue
 * list is the configured one with `!skip` entries removed and patterns left unexpanded.
 * Extra slots of one process (concurrency > 1) get `pid+N`, as node-resque's MultiWorker does.
 */
export function formatWorkerId(host: string, pid: number, queues: readonly string[], slot = 0): string {
  const list = queues.filter((q) => !q.startsWith('!')).join(',');
  return `${host}:${slot === 0 ? pid : `${pid}+${slot}`}:${list}`;
}

export function parseWorkerId(id: string): WorkerId | undefined {
  const first = id.indexOf(':');
  const second = first === -1 ? -1 : id.indexOf(':', first + 1);
  if (second === -1) return undefined;
  return { host: id.slice(0, first), pid: id.slice(first + 1, second), queues: id.slice(second + 1).split(',') };
}
