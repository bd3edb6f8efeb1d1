import { describe, expect, it } from 'vitest';
import { describeExit, describeSignal, parseSignal, resolveSignal, signalNumber } from '../src/signals.js';

describe('signals', () => {
  it.each([
    ['TERM', 'SIGTERM'],
    ['SIGTERM', 'SIGTERM'],
    ['sigterm', 'SIGTERM'],
    ['term', 'SIGTERM'],
    [' usr1 ', 'SIGUSR1'],
    ['15', 'SIGTERM'],
    [9, 'SIGKILL'],
    ['TTIN', 'SIGTTIN'],
  ])('parseSignal(%j) = %s', (input, expected) => {
    expect(parseSignal(input)).toBe(expected);
  });

  it.each(['BOGUS', 'SIG', '', '999', 'TERM2'])('parseSignal(%j) is undefined', (input) => {
    expect(parseSignal(input)).toBeUndefined();
  });

  it('resolveSignal names the option in its one-line error', () => {
    expect(() => resolveSignal('BOGUS', '--signal-on-hup')).toThrow(
      'Expected the `--signal-on-hup` option to be a signal name such as TERM, QUIT or USR1, got `BOGUS`',
    );
  });

  it('describes signals and exits for log lines', () => {
    expect(describeSignal('SIGKILL')).toBe('SIGKILL (Forced termination)');
    expect(describeSignal('SIGRTMIN')).toBe('SIGRTMIN');
    expect(describeExit(3, null)).toBe('exit code 3');
    expect(describeExit(null, 'SIGTERM')).toBe('killed by SIGTERM (Termination)');
    expect(signalNumber('SIGQUIT')).toBe(3);
  });
});
