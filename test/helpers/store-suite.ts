import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { DataStore } from '../../packages/resque/src/data-store.js';
import { defineScripts } from '../../packages/resque/src/scripts.js';
import { startRedis, type TestRedis } from './redis.js';

/**
 * Why: the reserve-script suites share their set-up: one private redis-server per file, an
 * admin client with the scripts defined, and a fresh namespace and DataStore for every test.
 */
export function storeSuite(): {
  readonly redis: TestRedis;
  readonly client: Redis;
  readonly ns: string;
  readonly store: DataStore;
  /** `<ns>:<k>` for the current test. */
  key(k: string): string;
} {
  let redis: TestRedis | undefined;
  let client: Redis | undefined;
  let ns = '';
  let store: DataStore | undefined;
  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    defineScripts(client);
  });
  afterAll(async () => {
    await redis?.close();
  });
  beforeEach(() => {
    ns = redis!.namespace();
    store = new DataStore(client!, ns);
  });
  return {
    get redis() {
      return redis!;
    },
    get client() {
      return client!;
    },
    get ns() {
      return ns;
    },
    get store() {
      return store!;
    },
    key: (k) => `${ns}:${k}`,
  };
}
