import { SYSTEMD_ENV } from '@baton/process-kit';
import { describe, expect, it } from 'vitest';
import { HIDDEN_FROM_WORKERS, spawnEarlySpare, takeEarlySpare } from '../src/early-spare.js';

// Issue 16: the CLI's first module starts a rolling restart's first spare before our code loads;
// it must hide what workers never see, and start nothing for anything but a master's `run`.

describe('early spare', () => {
  it('hides from workers exactly what process-kit hides from children (SYSTEMD_ENV), and start-server\'s readiness fd', () => {
    expect([...HIDDEN_FROM_WORKERS].sort()).toEqual([...SYSTEMD_ENV, 'SERVER_STARTER_NOTIFY_FD'].sort());
  });

  it.each([
    ['generation 1', ['-c', 'conf.ts'], '1'],
    ['no start-server', ['-c', 'conf.ts'], undefined],
    ['check', ['check', '-c', 'conf.ts'], '2'],
    ['status', ['status'], '2'],
    ['--help', ['run', '--help'], '2'],
    ['the -D starter', ['run', '-D', '-c', 'conf.ts'], '2'],
  ])('starts nothing: %s', (_what, argv, generation) => {
    spawnEarlySpare(argv, { SERVER_STARTER_GENERATION: generation }, process.pid);
    expect(takeEarlySpare()).toBeUndefined();
  });
});
