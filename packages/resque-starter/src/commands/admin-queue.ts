import { describeRedis, type ResolvedConfig } from '../config.js';
import { AdminError } from '../errors.js';
import { loadResque, type ResqueWebReader } from '../resque.js';

/**
 * Why: `failed` and `queues` read the Redis the config names, with the client the master uses
 * (its retries ride out a blip), but an operator's command must not hang on a server that is
 * not there: the first answer must come within `redisTimeout`, else one line and exit 1.
 */
export async function openAdminQueue(config: ResolvedConfig): Promise<ResqueWebReader> {
  const { Queue } = await loadResque();
  const queue = new Queue({ redis: config.redis, namespace: config.namespace, maxRecoveries: config.maxRecoveries });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AdminError(`Redis at ${describeRedis(config.redis)} did not answer within ${config.redisTimeoutMs / 1000} s (\`redisTimeout\` in ${config.path})`)),
      config.redisTimeoutMs,
    );
  });
  try {
    await Promise.race([queue.failedCount(), deadline]);
    return queue;
  } catch (err) {
    // Not awaited: a QUIT to a server that is not there waits for it; the CLI exits anyway.
    void queue.close().catch(() => undefined);
    throw err instanceof AdminError ? err : new AdminError(`Redis at ${describeRedis(config.redis)}: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
