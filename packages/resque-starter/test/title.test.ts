import { describe, expect, it } from 'vitest';
import { renderWorkerTitle } from '../src/status.js';

// Ruby Resque's prune_dead_workers greps `ps -A -o pid,command` with this pattern and unregisters
// (with a bogus DirtyExit failure) every same-host worker whose pid is not among the matches.
const RUBY_PS_PATTERN = /resque:work|resque:\sStarting|resque-[0-9]/;

describe('worker process titles', () => {
  it('are readable and survive Ruby Resque’s same-host prune check, even with a long job line', () => {
    const idle = renderWorkerTitle({ slot: 2, queues: ['high', 'low'], activity: 'idle', old: false, job: undefined });
    expect(idle).toBe('resque-starter worker[2] (high,low) IDLE [resque:work]');
    const long = renderWorkerTitle({
      slot: 0,
      queues: ['q'.repeat(100)],
      activity: 'busy',
      old: true,
      job: { class: 'C'.repeat(200), queue: 'q', startedAt: 0 } as never,
    });
    expect(long.length).toBeLessThanOrEqual(250);
    expect(long).toMatch(RUBY_PS_PATTERN);
    expect(long.endsWith(' [resque:work]')).toBe(true);
  });
});
