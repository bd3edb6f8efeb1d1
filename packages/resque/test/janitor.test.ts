import { describe, expect, it } from 'vitest';
import { Janitor, type JanitorContext } from '../src/janitor.js';

// The janitor's quiet period (issue 17): others' locks are judged only after a lock lifetime
// without trouble on this worker's own connection.

function createJanitor(quietFor: number) {
  const calls: string[] = [];
  const ctx: JanitorContext = {
    ids: ['me'],
    log: { debug() {}, info() {}, warn() {}, error() {} },
    store: {
      deadBatonWorkers: async () => (calls.push('dead'), ['other']),
      recover: async (id: string) => (calls.push(`recover ${id}`), { requeued: 1, failed: 0 }),
    },
    isStopping: () => false,
    quietFor: () => quietFor,
    recovered: () => undefined,
  };
  return { janitor: new Janitor(ctx, { lockTtlMs: 1000, maxRecoveries: 3 }), calls };
}

describe('Janitor', () => {
  it.each([
    [0, []],
    [999, []],
    [1000, ['dead', 'recover other']],
    [Infinity, ['dead', 'recover other']],
  ])('quiet for %s ms → %j', async (quiet, want) => {
    const { janitor, calls } = createJanitor(quiet);
    await janitor.sweep();
    expect(calls).toEqual(want);
  });
});
