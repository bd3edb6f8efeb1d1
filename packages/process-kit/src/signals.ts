import { constants } from 'node:os';

/** A normalised signal name such as `SIGTERM`. */
export type SignalName = NodeJS.Signals;

const DESCRIPTIONS: Partial<Record<string, string>> = {
  SIGHUP: 'Hangup',
  SIGINT: 'Interrupt',
  SIGQUIT: 'Quit',
  SIGILL: 'Illegal instruction',
  SIGTRAP: 'Trace trap',
  SIGABRT: 'Aborted',
  SIGBUS: 'Bus error',
  SIGFPE: 'Floating point exception',
  SIGKILL: 'Forced termination',
  SIGUSR1: 'User signal 1',
  SIGSEGV: 'Segmentation fault',
  SIGUSR2: 'User signal 2',
  SIGPIPE: 'Broken pipe',
  SIGALRM: 'Alarm clock',
  SIGTERM: 'Termination',
  SIGCHLD: 'Child exited',
  SIGCONT: 'Continued',
  SIGSTOP: 'Stopped (forced)',
  SIGTSTP: 'Stopped (terminal)',
  SIGTTIN: 'Background read from terminal',
  SIGTTOU: 'Background write to terminal',
  SIGXCPU: 'CPU time limit exceeded',
  SIGXFSZ: 'File size limit exceeded',
  SIGWINCH: 'Window changed',
};

const BY_NUMBER = new Map<number, SignalName>(
  Object.entries(constants.signals).map(([name, num]) => [num, name as SignalName]),
);

/** Why: users write `TERM`, `SIGTERM`, `term` or `15`; every option and control message goes through here. */
export function parseSignal(input: string | number): SignalName | undefined {
  if (typeof input === 'number' || /^\d+$/.test(String(input).trim())) {
    return BY_NUMBER.get(Number(input));
  }
  const upper = String(input).trim().toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return name in constants.signals ? (name as SignalName) : undefined;
}

/** Like parseSignal, but throws a one-line message that names the option and lists the valid names. */
export function resolveSignal(input: string | number, optionName: string): SignalName {
  const sig = parseSignal(input);
  if (sig === undefined) {
    throw new TypeError(
      `Expected the \`${optionName}\` option to be a signal name such as TERM, QUIT or USR1, got \`${String(input)}\``,
    );
  }
  return sig;
}

/** Why: "worker 123 died" lines must say what the signal means, not just its number. */
export function describeSignal(signal: string | null | undefined): string {
  if (!signal) return '';
  const desc = DESCRIPTIONS[signal];
  return desc ? `${signal} (${desc})` : signal;
}

/** Number of a signal, for 128+n exit codes and Perl-style raw wait statuses. */
export function signalNumber(signal: SignalName): number {
  return constants.signals[signal];
}

/** Why: one readable phrase for a child's exit, used by every "died" log line. */
export function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `killed by ${describeSignal(signal)}`;
  return `exit code ${code ?? 'unknown'}`;
}
