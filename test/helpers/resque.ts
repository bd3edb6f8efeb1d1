import { readFileSync } from 'node:fs';
import { ROOT, spawnNode, type Spawned } from './spawn.js';

export const WORKER_FIXTURE = `${ROOT}test/fixtures/resque-worker.mjs`;

/** Starts a worker process (test/fixtures/resque-worker.mjs) and waits until it is registered. */
export async function startWorkerProcess(env: Record<string, string>): Promise<{ proc: Spawned; id: string }> {
  const proc = spawnNode(WORKER_FIXTURE, [], { env, label: `resque worker ${env.QUEUES ?? '*'}` });
  const [, id] = (await proc.waitForLine(/ready (\S+)/))!;
  return { proc, id: id! };
}

/** Lines "<what> <id> <pid>" recorded by the fixture's jobs. */
export function readRecords(file: string): Array<{ what: string; id: string; pid: number }> {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [what, id, pid] = l.split(' ');
      return { what: what!, id: id!, pid: Number(pid) };
    });
}
